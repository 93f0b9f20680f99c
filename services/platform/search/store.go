package search

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"
)

// ErrNotReady is what a search answers while its index is being rebuilt
// (after a wait of up to searchWait): the service maps it to UNAVAILABLE.
var ErrNotReady = errors.New("the search index is being rebuilt")

// Document is one searchable item of a service: a twinning, a thread, a
// post, a story. Its texts are indexed in its language's analysis (the
// title also as the lead, which counts double) and kept, with Source, so
// that a hit is rendered and highlighted without a database query.
type Document struct {
	// ID is unique within the index, whatever the kind ("thread:…").
	ID   string
	Kind string
	// Version is the version of the aggregate it was built from: an older
	// one never replaces a newer one.
	Version  int64
	Language string
	Title    string
	// Texts are the other texts, each named after its field.
	Texts       []NamedText
	Territories []string
	Themes      []string
	Time        time.Time
	// Source is what the service renders a hit from (a protobuf message,
	// JSON…), returned as it was given.
	Source []byte
}

// Change is one write: Doc, or, when Doc is nil, the removal of ID at
// Version (a tombstone, so that an older event replayed later does not
// bring it back).
type Change struct {
	ID      string
	Version int64
	Doc     *Document
}

// Put is the change that indexes d.
func Put(d Document) Change { return Change{ID: d.ID, Version: d.Version, Doc: &d} }

// Remove is the change that takes id out of the index.
func Remove(id string, version int64) Change { return Change{ID: id, Version: version} }

// StoreConfig says where an index lives and what it is.
type StoreConfig struct {
	// Dir holds the index on disk; empty keeps it in memory, rebuilt at
	// every start.
	Dir    string
	Logger *slog.Logger
	// Schema names the documents' shape: an index written with another
	// one is rebuilt. Change it whenever the service's documents change.
	Schema string
	// SynonymsFile is the synonym list (see LoadSynonyms).
	SynonymsFile string
	// Synonyms, when set, is used instead of SynonymsFile.
	Synonyms *Synonyms
	// Static says that no Follower rebuilds the index (it is written to
	// directly): a new one is ready at once. Otherwise a new index answers
	// searches only once a Follower has built it.
	Static bool
}

// Keys of the index's own state, kept inside it.
var (
	keySchema   = []byte("meta:schema")
	keySequence = []byte("meta:sequence")
	keyStream   = []byte("meta:stream")
)

// storeSchema versions the mapping below.
const storeSchema = "gemella-store-1"

// Fields of a stored document.
const (
	fKind      = "kind"
	fLead      = "lead"
	fText      = "text"
	fTerritory = "territory"
	fTheme     = "theme"
	fTime      = "time"
	fVersion   = "version"
	fStored    = "_doc"
	kindGone   = "removed"
)

// stored is what the index keeps of a document to render its hit.
type stored struct {
	Language string      `json:"l"`
	Title    string      `json:"t"`
	Texts    []NamedText `json:"x,omitempty"`
	Source   []byte      `json:"s,omitempty"`
}

// State is what an index knows of the stream it follows.
type State struct {
	// Sequence is the stream sequence of the last event applied.
	Sequence uint64
	// Stream identifies the stream's incarnation (its creation time): a
	// stream created anew restarts its sequences.
	Stream string
}

// Store is a service's search index. Searches run concurrently with
// writes; writes are serialised, each with its version checks.
type Store struct {
	dir    string
	logger *slog.Logger
	schema string
	seqs   map[string][]SynonymSeq

	mu      sync.RWMutex
	idx     bleve.Index
	writeMu sync.Mutex
	fresh   bool

	readyMu sync.Mutex
	ready   chan struct{}
}

// OpenStore opens the index in cfg.Dir, or creates it empty there (or in
// memory). One that cannot be opened, or has another schema or synonym
// list, is replaced by an empty one, which the Follower rebuilds.
func OpenStore(cfg StoreConfig) (*Store, error) {
	s := &Store{dir: cfg.Dir, logger: cfg.Logger, ready: make(chan struct{})}
	close(s.ready)
	if s.logger == nil {
		s.logger = slog.Default()
	}
	syn := cfg.Synonyms
	if syn == nil {
		var err error
		if syn, err = LoadSynonyms(cfg.SynonymsFile); err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
	}
	var err error
	if s.seqs, err = AnalysedSynonyms(syn); err != nil {
		return nil, fmt.Errorf("search index: synonyms: %w", err)
	}
	s.schema = storeSchema + "/" + cfg.Schema + syn.Schema()
	if s.dir != "" {
		if _, statErr := os.Stat(filepath.Join(s.dir, "index_meta.json")); statErr == nil {
			idx, err := bleve.OpenUsing(s.dir, openConfig())
			if err == nil {
				if schema, _ := idx.GetInternal(keySchema); string(schema) == s.schema {
					s.idx = idx
					return s, nil
				}
				s.logger.Info("search index has another schema: rebuilding", "dir", s.dir)
				_ = idx.Close()
			} else {
				if strings.Contains(err.Error(), "timeout") {
					return nil, fmt.Errorf("search index %s is in use by another process: %w", s.dir, err)
				}
				s.logger.Warn("search index unreadable: rebuilding", "dir", s.dir, "err", err)
			}
		}
	}
	if err := s.create(); err != nil {
		return nil, err
	}
	if !cfg.Static {
		s.setReady(false)
	}
	return s, nil
}

func openConfig() map[string]interface{} { return map[string]interface{}{"bolt_timeout": "10s"} }

// create replaces the index by an empty one; the caller holds no lock
// or both.
func (s *Store) create() error {
	m, err := s.mapping()
	if err != nil {
		return fmt.Errorf("search mapping: %w", err)
	}
	if s.dir != "" {
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("remove search index %s: %w", s.dir, err)
		}
		if err := os.MkdirAll(filepath.Dir(s.dir), 0o755); err != nil {
			return fmt.Errorf("search index %s: %w", s.dir, err)
		}
	}
	idx, err := bleve.NewUsing(s.dir, m, scorch.Name, scorch.Name, openConfig())
	if err != nil {
		return fmt.Errorf("create search index %q: %w", s.dir, err)
	}
	if err := idx.SetInternal(keySchema, []byte(s.schema)); err != nil {
		_ = idx.Close()
		return fmt.Errorf("create search index %q: %w", s.dir, err)
	}
	s.idx, s.fresh = idx, true
	return nil
}

func (s *Store) mapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	filters, err := SynonymFilters(m, s.seqs)
	if err != nil {
		return nil, err
	}
	if err := AddAnalyzers(m, filters); err != nil {
		return nil, err
	}
	m.ScoringModel = bindex.BM25Scoring
	m.DefaultAnalyzer = keyword.Name
	m.IndexDynamic, m.StoreDynamic, m.DocValuesDynamic = false, false, false
	doc := bleve.NewDocumentStaticMapping()
	for _, lang := range Languages {
		for _, f := range []string{fLead, fText} {
			fm := bleve.NewTextFieldMapping()
			fm.Analyzer = AnalyzerFor(lang)
			fm.Store, fm.IncludeInAll, fm.DocValues = false, false, false
			doc.AddFieldMappingsAt(f+"_"+lang, fm)
		}
	}
	for _, f := range []string{fKind, fTerritory, fTheme} {
		fm := bleve.NewKeywordFieldMapping()
		fm.Store, fm.IncludeInAll, fm.IncludeTermVectors = false, false, false
		fm.DocValues = true // facets
		doc.AddFieldMappingsAt(f, fm)
	}
	t := bleve.NewNumericFieldMapping()
	t.Store, t.IncludeInAll, t.DocValues = false, false, true
	doc.AddFieldMappingsAt(fTime, t)
	v := bleve.NewNumericFieldMapping()
	v.Index, v.Store, v.IncludeInAll, v.DocValues = false, true, false, false
	doc.AddFieldMappingsAt(fVersion, v)
	src := bleve.NewTextFieldMapping()
	src.Index, src.Store, src.IncludeInAll, src.IncludeTermVectors, src.DocValues = false, true, false, false, false
	doc.AddFieldMappingsAt(fStored, src)
	m.DefaultMapping = doc
	return m, m.Validate()
}

func (s *Store) index() bleve.Index {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx
}

// Close releases the index; a disk index keeps what it has for the next start.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx == nil {
		return nil
	}
	err := s.idx.Close()
	s.idx = nil
	return err
}

// Ready tells whether the index answers searches: false while a
// Follower rebuilds it.
func (s *Store) Ready() bool {
	select {
	case <-s.readyCh():
		return true
	default:
		return false
	}
}

func (s *Store) readyCh() chan struct{} {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	return s.ready
}

func (s *Store) setReady(ready bool) {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	select {
	case <-s.ready:
		if !ready {
			s.ready = make(chan struct{})
		}
	default:
		if ready {
			close(s.ready)
		}
	}
}

// searchWait is how long a search waits for an index being rebuilt.
const searchWait = 2 * time.Second

func (s *Store) awaitReady(ctx context.Context) error {
	ch := s.readyCh()
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
	return Unavailable
}

// State reads the recorded state.
func (s *Store) State() (State, error) {
	idx := s.index()
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

// DocCount is how many documents (tombstones included) the index holds.
func (s *Store) DocCount() (uint64, error) { return s.index().DocCount() }

// Apply writes the changes newer than what the index has and records seq
// (when not 0) in the same batch: the documents and the sequence that
// produced them are persisted together or not at all.
func (s *Store) Apply(seq uint64, changes ...Change) error {
	return s.apply(seq, false, changes)
}

func (s *Store) apply(seq uint64, unchecked bool, changes []Change) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	idx := s.index()
	b := idx.NewBatch()
	for _, c := range changes {
		var known int64
		if !unchecked {
			var err error
			if known, err = storedVersion(idx, c.ID); err != nil {
				return fmt.Errorf("search index: version of %s: %w", c.ID, err)
			}
			// The same version is written again: a document may carry
			// what is not the aggregate's (a party's name).
			if c.Version < known {
				continue
			}
		} else if c.Doc == nil {
			continue
		}
		fields, err := fieldsOf(c, max(c.Version, known))
		if err != nil {
			return err
		}
		if err := b.Index(c.ID, fields); err != nil {
			return fmt.Errorf("search index: %s: %w", c.ID, err)
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

func fieldsOf(c Change, version int64) (map[string]interface{}, error) {
	if c.Doc == nil {
		return map[string]interface{}{fKind: kindGone, fVersion: float64(version)}, nil
	}
	d := c.Doc
	lang := LanguageOf(d.Language)
	texts := make([]string, 0, len(d.Texts))
	for _, t := range d.Texts {
		texts = append(texts, t.Text)
	}
	src, err := json.Marshal(stored{Language: lang, Title: d.Title, Texts: d.Texts, Source: d.Source})
	if err != nil {
		return nil, fmt.Errorf("search index: %s: %w", c.ID, err)
	}
	return map[string]interface{}{
		fKind:              d.Kind,
		fLead + "_" + lang: d.Title,
		fText + "_" + lang: strings.Join(texts, "\n"),
		fTerritory:         d.Territories,
		fTheme:             foldAll(d.Themes),
		fTime:              float64(d.Time.Unix()),
		fVersion:           float64(version),
		fStored:            string(src),
	}, nil
}

// foldAll is how theme labels are compared: trimmed, lower case.
func foldAll(labels []string) []string {
	out := make([]string, 0, len(labels))
	for _, l := range labels {
		if l = strings.ToLower(strings.TrimSpace(l)); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// storedVersion is the version a document was written at; 0 when none.
func storedVersion(idx bleve.Index, id string) (int64, error) {
	doc, err := idx.Document(id)
	if err != nil || doc == nil {
		return 0, err
	}
	var v float64
	doc.VisitFields(func(f bindex.Field) {
		if f.Name() != fVersion {
			return
		}
		if n, ok := f.(bindex.NumericField); ok {
			v, _ = n.Number()
		}
	})
	return int64(v), nil
}

// load empties the index and fills it from docs, then records st: how
// a Follower rebuilds it.
func (s *Store) load(ctx context.Context, all func(ctx context.Context, yield func(Document) error) error, st State) (int, error) {
	s.writeMu.Lock()
	s.mu.Lock()
	if !s.fresh {
		if s.idx != nil {
			_ = s.idx.Close()
		}
		if err := s.create(); err != nil {
			s.mu.Unlock()
			s.writeMu.Unlock()
			return 0, err
		}
	}
	s.mu.Unlock()
	s.writeMu.Unlock()
	var batch []Change
	n := 0
	flush := func() error {
		err := s.apply(0, true, batch)
		batch = batch[:0]
		return err
	}
	err := all(ctx, func(d Document) error {
		batch = append(batch, Put(d))
		n++
		if len(batch) >= 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, err
	}
	idx := s.index()
	b := idx.NewBatch()
	b.SetInternal(keySequence, encodeUint(st.Sequence))
	b.SetInternal(keyStream, []byte(st.Stream))
	if err := idx.Batch(b); err != nil {
		return n, fmt.Errorf("search index: record state: %w", err)
	}
	s.fresh = false
	return n, nil
}

// Drift is what a reconcile found and repaired.
type Drift struct{ Stale, Missing, Extra int }

// Repaired counts the documents repaired.
func (d Drift) Repaired() int { return d.Stale + d.Missing + d.Extra }

// Reconcile compares the index with all (the documents the service shows
// now) and repairs what differs: stale or missing documents are written,
// documents no longer shown are removed.
func (s *Store) Reconcile(ctx context.Context, all func(ctx context.Context, yield func(Document) error) error) (Drift, error) {
	var d Drift
	indexed, err := s.versions()
	if err != nil {
		return d, err
	}
	seen := map[string]bool{}
	var fix []Change
	err = all(ctx, func(doc Document) error {
		seen[doc.ID] = true
		v, ok := indexed[doc.ID]
		switch {
		case !ok:
			d.Missing++
			fix = append(fix, Put(doc))
		case v < doc.Version:
			d.Stale++
			fix = append(fix, Put(doc))
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	for id, v := range indexed {
		if !seen[id] {
			d.Extra++
			fix = append(fix, Remove(id, v+1))
		}
	}
	if len(fix) == 0 {
		return d, nil
	}
	return d, s.Apply(0, fix...)
}

// versions lists the live (not removed) documents and their versions.
func (s *Store) versions() (map[string]int64, error) {
	idx := s.index()
	q := bleve.NewBooleanQuery()
	q.AddMust(bleve.NewMatchAllQuery())
	gone := bleve.NewTermQuery(kindGone)
	gone.SetField(fKind)
	q.AddMustNot(gone)
	out := map[string]int64{}
	const page = 1000
	for from := 0; ; from += page {
		req := bleve.NewSearchRequestOptions(q, page, from, false)
		req.Fields = []string{fVersion}
		req.SortBy([]string{"_id"})
		res, err := idx.Search(req)
		if err != nil {
			return nil, fmt.Errorf("search index: list: %w", err)
		}
		for _, h := range res.Hits {
			v, _ := h.Fields[fVersion].(float64)
			out[h.ID] = int64(v)
		}
		if len(res.Hits) < page {
			return out, nil
		}
	}
}

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
