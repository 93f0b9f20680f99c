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
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Keys of the index's own state, kept inside it.
var (
	keySchema   = []byte("meta:schema")
	keySequence = []byte("meta:sequence")
	keyStream   = []byte("meta:stream")
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

// Index is the catalog's search index. Searches may run concurrently with
// writes; writes are serialised, each with the version checks it needs.
type Index struct {
	dir    string
	logger *slog.Logger

	// mu guards idx: a rebuild swaps it.
	mu  sync.RWMutex
	idx bleve.Index
	// writeMu serialises writes, so a version check and its write are one step.
	writeMu sync.Mutex
	// fresh is set when the index was created empty and has never been built.
	fresh bool
	// segments caches what searches read of each segment (execute.go),
	// postings the decoded postings scoring reads (impacts.go).
	segments segmentCaches
	postings *postingsCache

	// synonyms is the list in use, analysed per language in
	// synonymSeqs for the mapping and in synonymMatchers for queries;
	// schema is the schema the index is written with.
	synonyms        *Synonyms
	synonymSeqs     map[string][]synonymSeq
	synonymMatchers map[string]*synonymMatcher
	schema          string

	// readyMu guards ready, which is closed while the index holds the
	// whole catalogue and open while it is being rebuilt.
	readyMu sync.Mutex
	ready   chan struct{}
}

// Ready tells whether the index answers searches: false while a
// Follower rebuilds it. An index nobody rebuilds (kept from disk, or kept
// current by writing through) is ready from the start.
func (x *Index) Ready() bool {
	select {
	case <-x.readyCh():
		return true
	default:
		return false
	}
}

// WaitReady waits until the index is ready or ctx ends.
func (x *Index) WaitReady(ctx context.Context) error {
	select {
	case <-x.readyCh():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (x *Index) readyCh() chan struct{} {
	x.readyMu.Lock()
	defer x.readyMu.Unlock()
	return x.ready
}

func (x *Index) setReady(ready bool) {
	x.readyMu.Lock()
	defer x.readyMu.Unlock()
	select {
	case <-x.ready:
		if !ready {
			x.ready = make(chan struct{})
		}
	default:
		if ready {
			close(x.ready)
		}
	}
}

// searchWait is how long a search waits for an index being rebuilt
// before it answers that search is unavailable: a small catalogue is
// rebuilt in less.
const searchWait = 2 * time.Second

// awaitReady waits, up to searchWait and within ctx, for the index to be
// ready; app.ErrSearchNotReady when it is not.
func (x *Index) awaitReady(ctx context.Context) error {
	ch := x.readyCh()
	select {
	case <-ch:
		return nil
	default:
	}
	t := time.NewTimer(searchWait)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	return app.ErrSearchNotReady
}

// Open opens the index in cfg.Dir, or creates it empty there (or in
// memory). An index that cannot be opened, or was written with another
// schema, is replaced by an empty one: it is derived data, and Prepare
// rebuilds it.
func Open(cfg Config) (*Index, error) {
	x := &Index{dir: cfg.Dir, logger: cfg.Logger, ready: make(chan struct{})}
	close(x.ready)
	switch budget := cfg.PostingsCacheBytes; {
	case budget == 0:
		x.postings = newPostingsCache(DefaultPostingsCacheBytes)
	case budget > 0:
		x.postings = newPostingsCache(budget)
	}
	if x.logger == nil {
		x.logger = slog.Default()
	}
	x.synonyms = cfg.Synonyms
	if x.synonyms == nil {
		var err error
		if x.synonyms, err = LoadSynonyms(cfg.SynonymsFile); err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
	}
	var err error
	if x.synonymSeqs, err = analysedSynonyms(x.synonyms); err != nil {
		return nil, fmt.Errorf("search index: synonyms: %w", err)
	}
	x.synonymMatchers = map[string]*synonymMatcher{}
	for lang, seqs := range x.synonymSeqs {
		x.synonymMatchers[lang] = newSynonymMatcher(seqs)
	}
	x.schema = schemaVersion + x.synonyms.Schema()
	m, err := newMapping(x.synonymSeqs)
	if err != nil {
		return nil, fmt.Errorf("search mapping: %w", err)
	}
	if x.dir == "" {
		x.idx, err = x.newIndex("", m)
		x.fresh = true
		return x, err
	}
	if _, statErr := os.Stat(filepath.Join(x.dir, "index_meta.json")); statErr == nil {
		idx, err := bleve.OpenUsing(x.dir, openConfig())
		if err == nil {
			schema, _ := idx.GetInternal(keySchema)
			if string(schema) == x.schema {
				x.idx = idx
				return x, nil
			}
			x.logger.Info("search index has another schema: rebuilding", "dir", x.dir, "schema", string(schema), "want", x.schema)
			_ = idx.Close()
		} else {
			if strings.Contains(err.Error(), "timeout") {
				// bbolt's file lock: another process has it open.
				return nil, fmt.Errorf("search index %s is in use by another process: %w", x.dir, err)
			}
			x.logger.Warn("search index unreadable: rebuilding", "dir", x.dir, "err", err)
		}
	}
	if err := os.RemoveAll(x.dir); err != nil {
		return nil, fmt.Errorf("remove search index %s: %w", x.dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(x.dir), 0o755); err != nil {
		return nil, fmt.Errorf("search index %s: %w", x.dir, err)
	}
	x.idx, err = x.newIndex(x.dir, m)
	x.fresh = true
	return x, err
}

// openConfig makes a second process fail instead of waiting forever for
// the file lock of an index in use.
func openConfig() map[string]interface{} {
	return map[string]interface{}{"bolt_timeout": "10s"}
}

func (x *Index) newIndex(dir string, m *mapping.IndexMappingImpl) (bleve.Index, error) {
	idx, err := bleve.NewUsing(dir, m, scorch.Name, scorch.Name, openConfig())
	if err != nil {
		return nil, fmt.Errorf("create search index %q: %w", dir, err)
	}
	if err := idx.SetInternal(keySchema, []byte(x.schema)); err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("create search index %q: %w", dir, err)
	}
	return idx, nil
}

// Close releases the index; a disk index keeps what it has for the next start.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx == nil {
		return nil
	}
	err := x.idx.Close()
	x.idx = nil
	return err
}

func (x *Index) index() bleve.Index {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.idx
}

// State is what the index knows of the stream it follows (the
// platform's search.State: sequence and stream incarnation).
type State = psearch.State

// State reads the recorded state.
func (x *Index) State() (State, error) {
	idx := x.index()
	seq, err := idx.GetInternal(keySequence)
	if err != nil {
		return State{}, err
	}
	stream, err := idx.GetInternal(keyStream)
	if err != nil {
		return State{}, err
	}
	return State{Sequence: decodeUint(seq), Stream: string(stream)}, nil
}

// Settle waits, up to maxWait, until the index has persisted and merged
// what it was given: a benchmark measures queries on an index at rest.
func (x *Index) Settle(ctx context.Context, maxWait time.Duration) {
	deadline := time.Now().Add(maxWait)
	last, stable := uint64(0), 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		stats, _ := x.index().StatsMap()["index"].(map[string]interface{})
		mem, _ := stats["num_root_memorysegments"].(uint64)
		files, _ := stats["num_root_filesegments"].(uint64)
		if mem == 0 && files == last {
			stable++
		} else {
			stable = 0
		}
		if stable >= 5 {
			return
		}
		last = files
		time.Sleep(200 * time.Millisecond)
	}
}

// Compact merges the segments of a disk index into one, once what it was
// given is persisted: a search reads every segment, so an index loaded in
// bulk (a rebuild) answers fastest as one. Later writes add small
// segments, which the index merges by its usual policy. An index in
// memory is left as it is.
func (x *Index) Compact(ctx context.Context) error {
	if x.dir == "" {
		return nil
	}
	x.Settle(ctx, time.Minute)
	adv, err := x.index().Advanced()
	if err != nil {
		return err
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	if err := s.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
		return fmt.Errorf("search index: compact: %w", err)
	}
	return nil
}

// DiskBytes is the size of the index's folder; 0 in memory.
func (x *Index) DiskBytes() (int64, error) {
	if x.dir == "" {
		return 0, nil
	}
	var n int64
	err := filepath.WalkDir(x.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			var info fs.FileInfo
			if info, err = d.Info(); err == nil {
				n += info.Size()
			}
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a segment merged away meanwhile
		}
		return err
	})
	return n, err
}

// DocCount is how many documents the index holds: practices and needs.
func (x *Index) DocCount() (uint64, error) { return x.index().DocCount() }

// entry is one document write: the document, or nil to remove it, at the
// version of the aggregate it comes from.
type entry struct {
	docID   string
	version int64
	doc     map[string]interface{}
	// force writes even when the version is not newer: the owner kinds of
	// a practice change without the practice changing.
	force bool
	// unchecked skips the version lookup: the index is being built and
	// has no such document yet.
	unchecked bool
}

// write applies the entries newer than what the index has, and records seq
// when it is not 0, in one batch: the documents and the sequence that
// produced them are persisted together or not at all.
//
// A document's version is stored in it. A removed one leaves a tombstone
// with its version, so that an older event replayed later cannot bring it
// back; searches only ever ask for practices and needs. (Versions are not
// kept as the index's internal values: the index rewrites all of those
// whenever it persists.)
func (x *Index) write(seq uint64, entries ...entry) error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	idx := x.index()
	b := idx.NewBatch()
	for _, e := range entries {
		var known int64
		if !e.unchecked {
			var err error
			if known, err = storedVersion(idx, e.docID); err != nil {
				return fmt.Errorf("search index: version of %s: %w", e.docID, err)
			}
			if !e.force && e.version <= known {
				continue
			}
		} else if e.doc == nil {
			continue // nothing to remove from an index being built
		}
		doc := e.doc
		if doc == nil {
			doc = map[string]interface{}{fieldKind: kindRemoved}
		}
		doc[fieldVersion] = float64(max(e.version, known))
		if err := b.Index(e.docID, doc); err != nil {
			return fmt.Errorf("search index: %s: %w", e.docID, err)
		}
	}
	if seq > 0 {
		b.SetInternal(keySequence, encodeUint(seq))
	}
	if b.Size() == 0 {
		return nil
	}
	if err := idx.Batch(b); err != nil {
		return fmt.Errorf("search index: write batch: %w", err)
	}
	return nil
}

// storedVersion is the version a document was written at; 0 when there is
// none.
func storedVersion(idx bleve.Index, docID string) (int64, error) {
	doc, err := idx.Document(docID)
	if err != nil || doc == nil {
		return 0, err
	}
	var v float64
	doc.VisitFields(func(f bindex.Field) {
		if f.Name() != fieldVersion {
			return
		}
		if n, ok := f.(bindex.NumericField); ok {
			v, _ = n.Number()
		}
	})
	return int64(v), nil
}

// practiceEntry is the write that brings a practice's document up to p: a
// published practice is indexed, any other is removed.
func (x *Index) practiceEntry(p *practice.Practice) (entry, error) {
	e := entry{docID: practiceDocID(p.ID), version: p.Version}
	if p.Status != practice.Published {
		return e, nil
	}
	doc, err := practiceDoc(p, x.ownerKinds(p.OwnerOrganizationIDs))
	e.doc = doc
	return e, err
}

// needEntry indexes an open need and removes any other.
func (x *Index) needEntry(n *need.Need) (entry, error) {
	e := entry{docID: needDocID(n.ID), version: n.Version}
	if n.Status != need.Open {
		return e, nil
	}
	doc, err := needDoc(n)
	e.doc = doc
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
		e.unchecked = true
		entries = append(entries, e)
	}
	return x.write(0, entries...)
}

// ApplyOrganizations records the kinds of many organisations in one batch.
func (x *Index) ApplyOrganizations(orgs []*organization.Organization) error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	idx := x.index()
	b := idx.NewBatch()
	for _, o := range orgs {
		b.SetInternal(versionKey(orgDocID(o.ID)), encodeInt(o.Version))
		b.SetInternal(orgKindKey(o.ID), []byte(o.Kind.String()))
	}
	return idx.Batch(b)
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
	x.writeMu.Lock()
	idx := x.index()
	known, err := idx.GetInternal(versionKey(orgDocID(o.ID)))
	if err != nil {
		x.writeMu.Unlock()
		return err
	}
	old, err := idx.GetInternal(orgKindKey(o.ID))
	if err != nil {
		x.writeMu.Unlock()
		return err
	}
	b := idx.NewBatch()
	changed := false
	if o.Version > decodeInt(known) {
		b.SetInternal(versionKey(orgDocID(o.ID)), encodeInt(o.Version))
		b.SetInternal(orgKindKey(o.ID), []byte(o.Kind.String()))
		changed = string(old) != o.Kind.String()
	}
	if seq > 0 {
		b.SetInternal(keySequence, encodeUint(seq))
	}
	err = idx.Batch(b)
	x.writeMu.Unlock()
	if err != nil || !changed {
		return err
	}
	// Events of different aggregates may arrive out of order (the outbox
	// relay publishes collection by collection): a practice indexed before
	// its owner was known gets the owner's kind now.
	return x.reindexOwnedBy(o.ID)
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
		e.force = true
		entries = append(entries, e)
	}
	return x.write(0, entries...)
}

// ownerKinds are the kinds of the owners the index knows, each once.
func (x *Index) ownerKinds(ids []string) []string {
	idx := x.index()
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		k, err := idx.GetInternal(orgKindKey(id))
		if err != nil || len(k) == 0 || seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		out = append(out, string(k))
	}
	return out
}

func encodeInt(v int64) []byte { return encodeUint(uint64(v)) }

func decodeInt(b []byte) int64 { return int64(decodeUint(b)) }

func encodeUint(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func decodeUint(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
