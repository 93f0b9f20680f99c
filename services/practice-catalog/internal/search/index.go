// Package search is the catalog's full-text index (Bleve): published
// practices and open needs, analysed in Italian or English by their
// language, with facets, highlights and the candidate queries of
// matchmaking.
//
// The index is derived data, never the source of truth. It follows the
// catalog's own event stream and records, in the same batch as each change,
// the stream sequence of the last event it applied and the version of every
// document; at start it is rebuilt from the repositories when it is
// missing, unreadable, of another schema, or behind what the stream can
// still replay. Every replica keeps its own.
package search

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Config says where the index lives.
type Config struct {
	// Dir holds the index on disk; empty keeps it in memory, rebuilt at
	// every start.
	Dir    string
	Logger *slog.Logger
	// PostingsCacheBytes bounds the decoded postings kept for scoring:
	// DefaultPostingsCacheBytes when 0, none when negative.
	PostingsCacheBytes int64
	// SynonymsFile is the synonym list (see ParseSynonyms for its
	// format): the shipped Italian set for public administration when
	// empty, none when SynonymsOff.
	SynonymsFile string
	// Synonyms, when set, is used instead of SynonymsFile.
	Synonyms *Synonyms
}

// Index is the catalog's search index: the platform's store
// (services/platform/search) with the catalog's own documents, and the
// catalog's own queries on them. Searches may run concurrently with
// writes; writes are serialised, each with the version checks it needs.
type Index struct {
	*psearch.Store
	logger *slog.Logger

	// segments caches what searches read of each segment (execute.go),
	// postings the decoded postings scoring reads (impacts.go).
	segments segmentCaches
	postings *postingsCache

	// synonymMatchers are the synonyms of the store, by language, for
	// queries.
	synonymMatchers map[string]*synonymMatcher
}

// awaitReady waits a little, within ctx, for an index being rebuilt;
// app.ErrSearchNotReady when it is not ready by then.
func (x *Index) awaitReady(ctx context.Context) error {
	if err := x.AwaitReady(ctx); err != nil {
		return app.ErrSearchNotReady
	}
	return nil
}

// Open opens the index in cfg.Dir, or creates it empty there (or in
// memory). An index that cannot be opened, or was written with another
// schema, is replaced by an empty one: it is derived data, and a
// Follower rebuilds it. It answers searches at once (an index nobody
// rebuilds, kept from disk or kept current by writing through, is ready
// from the start); Follower.Prepare says otherwise when it rebuilds.
func Open(cfg Config) (*Index, error) {
	x := &Index{logger: cfg.Logger}
	switch budget := cfg.PostingsCacheBytes; {
	case budget == 0:
		x.postings = newPostingsCache(DefaultPostingsCacheBytes)
	case budget > 0:
		x.postings = newPostingsCache(budget)
	}
	if x.logger == nil {
		x.logger = slog.Default()
	}
	store, err := psearch.OpenStore(psearch.StoreConfig{
		Dir: cfg.Dir, Logger: x.logger, Schema: schemaVersion, SynonymsFile: cfg.SynonymsFile, Synonyms: cfg.Synonyms,
		Static: true, Documents: documentMapping, RebuildBatch: rebuildBatch,
	})
	if err != nil {
		return nil, err
	}
	x.Store = store
	x.synonymMatchers = map[string]*synonymMatcher{}
	for lang, seqs := range store.SynonymSeqs() {
		x.synonymMatchers[lang] = newSynonymMatcher(seqs)
	}
	return x, nil
}

func (x *Index) index() bleve.Index { return x.Bleve() }

// State is what the index knows of the stream it follows (the
// platform's search.State: sequence and stream incarnation).
type State = psearch.State

// entry is one document write: the document, or nil to remove it, at the
// version of the aggregate it comes from (Force writes even when the
// version is not newer: the owner kinds of a practice change without the
// practice changing).
type entry = psearch.Write

// write applies the entries newer than what the index has, and records seq
// when it is not 0, in one batch: the documents and the sequence that
// produced them are persisted together or not at all.
//
// A document's version is stored in it. A removed one leaves a tombstone
// with its version, so that an older event replayed later cannot bring it
// back; searches only ever ask for practices and needs.
func (x *Index) write(seq uint64, entries ...entry) error { return x.Write(seq, entries...) }

// practiceEntry is the write that brings a practice's document up to p: a
// published practice is indexed, any other is removed.
func (x *Index) practiceEntry(p *practice.Practice) (entry, error) {
	e := entry{ID: practiceDocID(p.ID), Version: p.Version}
	if p.Status != practice.Published {
		return e, nil
	}
	doc, err := practiceDoc(p, x.ownerKinds(p.OwnerOrganizationIDs))
	e.Fields = doc
	return e, err
}

// needEntry indexes an open need and removes any other.
func (x *Index) needEntry(n *need.Need) (entry, error) {
	e := entry{ID: needDocID(n.ID), Version: n.Version}
	if n.Status != need.Open {
		return e, nil
	}
	doc, err := needDoc(n)
	e.Fields = doc
	return e, err
}

// ApplyPractice indexes a published practice or removes any other, unless
// the index already has that version or a newer one; seq (when not 0) is
// the stream sequence of the event that said so.
func (x *Index) ApplyPractice(p *practice.Practice, seq uint64) error {
	e, err := x.practiceEntry(p)
	if err != nil {
		return err
	}
	return x.write(seq, e)
}

// LoadPractices indexes many published practices in one batch, without
// looking for earlier versions: how an index being built (a rebuild, a
// benchmark) is loaded.
func (x *Index) LoadPractices(ps []*practice.Practice) error {
	entries := make([]entry, 0, len(ps))
	for _, p := range ps {
		e, err := x.practiceEntry(p)
		if err != nil {
			return err
		}
		e.Unchecked = true
		entries = append(entries, e)
	}
	return x.write(0, entries...)
}

// ApplyOrganizations records the kinds of many organisations in one batch.
func (x *Index) ApplyOrganizations(orgs []*organization.Organization) error {
	return x.Update(0, func(t *psearch.Txn) error {
		for _, o := range orgs {
			t.SetValue(versionKey(orgDocID(o.ID)), encodeInt(o.Version))
			t.SetValue(orgKindKey(o.ID), []byte(o.Kind.String()))
		}
		return nil
	})
}

// ApplyNeed indexes an open need or removes any other, unless the index
// already has that version or a newer one.
func (x *Index) ApplyNeed(n *need.Need, seq uint64) error {
	e, err := x.needEntry(n)
	if err != nil {
		return err
	}
	return x.write(seq, e)
}

// ApplyOrganization records an organisation's kind; when it changed, or
// is new, the organisation's practices are indexed again with their owner
// kinds.
func (x *Index) ApplyOrganization(o *organization.Organization, seq uint64) error {
	changed := false
	err := x.Update(seq, func(t *psearch.Txn) error {
		known, old, err := knownOrganization(t.Value, o.ID)
		if err != nil {
			return err
		}
		if o.Version > known {
			t.SetValue(versionKey(orgDocID(o.ID)), encodeInt(o.Version))
			t.SetValue(orgKindKey(o.ID), []byte(o.Kind.String()))
			changed = old != o.Kind.String()
		}
		return nil
	})
	if err != nil || !changed {
		return err
	}
	// Events of different aggregates may arrive out of order (the outbox
	// relay publishes collection by collection): a practice indexed before
	// its owner was known gets the owner's kind now.
	return x.reindexOwnedBy(o.ID)
}

// knownOrganization is the version and kind of an organisation the
// index knows, read with value (of the index or of a batch being made).
func knownOrganization(value func(key []byte) ([]byte, error), id string) (int64, string, error) {
	version, err := value(versionKey(orgDocID(id)))
	if err != nil {
		return 0, "", err
	}
	kind, err := value(orgKindKey(id))
	return decodeInt(version), string(kind), err
}

// reindexOwnedBy rebuilds the documents of the practices an organisation
// owns, from what the index stores of them.
func (x *Index) reindexOwnedBy(orgID string) error {
	owned := query.NewTermQuery(orgID)
	owned.SetField(fieldOwnerIDs)
	kind := query.NewTermQuery(kindPractice)
	kind.SetField(fieldKind)
	req := bleve.NewSearchRequestOptions(query.NewConjunctionQuery([]query.Query{kind, owned}), 10000, 0, false)
	req.Fields = []string{fieldSource}
	res, err := x.index().Search(req)
	if err != nil {
		return fmt.Errorf("search index: practices of %s: %w", orgID, err)
	}
	var entries []entry
	for _, hit := range res.Hits {
		p, err := practiceFromSource(hit.Fields)
		if err != nil {
			return fmt.Errorf("search index: %s: %w", hit.ID, err)
		}
		e, err := x.practiceEntry(p)
		if err != nil {
			return err
		}
		e.Force = true
		entries = append(entries, e)
	}
	return x.write(0, entries...)
}

// ownerKinds are the kinds of the owners the index knows, each once.
func (x *Index) ownerKinds(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		k, err := x.Value(orgKindKey(id))
		if err != nil || len(k) == 0 || seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		out = append(out, string(k))
	}
	return out
}

func encodeInt(v int64) []byte { return psearch.EncodeInt(v) }

func decodeInt(b []byte) int64 { return psearch.DecodeInt(b) }
