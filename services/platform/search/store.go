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
	// Documents, when set, maps the documents of an index the service
	// shapes itself (written with Write and Update, searched through
	// Bleve) instead of Document's; the analysis, synonyms and scoring
	// are the platform's still. It must map FieldKind as a keyword and
	// FieldVersion as a stored number: the version checks and the
	// tombstones use them.
	Documents func() *mapping.DocumentMapping
	// RebuildBatch is how many documents one batch of a rebuild carries
	// (each a segment to merge later); 1000 when 0.
	RebuildBatch int
}

// Keys of the index's own state, kept inside it.
var (
	keySchema   = []byte("meta:schema")
	keySequence = []byte("meta:sequence")
	keyStream   = []byte("meta:stream")
)

// storeSchema versions the mapping below.
const storeSchema = "gemella-store-1"

// The fields every index has, whatever its documents: the kind, which a
// tombstone sets to KindRemoved, and the version of the aggregate a
// document was built from.
const (
	FieldKind    = "kind"
	FieldVersion = "version"
	KindRemoved  = "removed"
)

// Fields of a stored Document.
const (
	fKind      = FieldKind
	fLead      = "lead"
	fText      = "text"
	fTerritory = "territory"
	fTheme     = "theme"
	fTime      = "time"
	fVersion   = FieldVersion
	fStored    = "_doc"
	kindGone   = KindRemoved
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
	dir       string
	logger    *slog.Logger
	schema    string
	synonyms  *Synonyms
	seqs      map[string][]SynonymSeq
	documents func() *mapping.DocumentMapping
	batchSize int

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
	s := &Store{dir: cfg.Dir, logger: cfg.Logger, documents: cfg.Documents, batchSize: cfg.RebuildBatch, ready: make(chan struct{})}
	close(s.ready)
	if s.documents == nil {
		s.documents = documentMapping
	}
	if s.batchSize <= 0 {
		s.batchSize = 1000
	}
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
	s.synonyms = syn
	var err error
	if s.seqs, err = AnalysedSynonyms(syn); err != nil {
		return nil, fmt.Errorf("search index: synonyms: %w", err)
	}
	s.schema = storeSchema + "/" + cfg.Schema + syn.Schema()
	if s.dir != "" {
		if _, statErr := os.Stat(filepath.Join(s.dir, "index_meta.json")); statErr == nil {
			// The mapping stored on disk names our own token filters:
			// a process that opens the index before it has built any
			// mapping must register them first, or every start finds
			// the index unreadable and rebuilds it.
			registerFold()
			RegisterSynonymFilter()
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
	m.DefaultMapping = s.documents()
	return m, m.Validate()
}

// documentMapping maps a Document.
func documentMapping() *mapping.DocumentMapping {
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
	return doc
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

// Apply writes the changes not older than what the index has (the same
// version is written again: a document may carry what is not the
// aggregate's, a party's name) and records seq (when not 0) in the same
// batch: the documents and the sequence that produced them are persisted
// together or not at all.
func (s *Store) Apply(seq uint64, changes ...Change) error {
	ws := make([]Write, 0, len(changes))
	for _, c := range changes {
		w, err := writeOf(c)
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	return s.Write(seq, ws...)
}

// Write is one write of a document of the service's own shape
// (StoreConfig.Documents): its fields, or, when Fields is nil, a
// tombstone of ID at Version, so that an older event replayed later does
// not bring it back. The version is stored in the document.
type Write struct {
	ID      string
	Version int64
	Fields  map[string]interface{}
	// A write replaces only an older version; with Again the same one
	// too, with Force whatever the index has (written at the newer of
	// the two versions).
	Again, Force bool
	// Unchecked skips the version lookup, for an index known to hold
	// none of the documents (being built); a tombstone is then nothing.
	Unchecked bool
}

// Write writes ws, each unless the index has a newer version, and records
// seq (when not 0), in one batch.
func (s *Store) Write(seq uint64, ws ...Write) error {
	return s.Update(seq, func(t *Txn) error {
		for _, w := range ws {
			if err := t.Put(w); err != nil {
				return err
			}
		}
		return nil
	})
}

// Txn is one batch being made under the index's write lock: the versions
// and values it reads do not change before it is written.
type Txn struct {
	idx bleve.Index
	b   *bleve.Batch
}

// Put adds w to the batch, unless the index has a newer version.
func (t *Txn) Put(w Write) error {
	var known int64
	if !w.Unchecked {
		var err error
		if known, err = storedVersion(t.idx, w.ID); err != nil {
			return fmt.Errorf("search index: version of %s: %w", w.ID, err)
		}
		if !w.Force && (w.Version < known || w.Version == known && !w.Again) {
			return nil
		}
	} else if w.Fields == nil {
		return nil // nothing to remove from an index being built
	}
	fields := w.Fields
	if fields == nil {
		fields = map[string]interface{}{fKind: kindGone}
	}
	fields[fVersion] = float64(max(w.Version, known))
	if err := t.b.Index(w.ID, fields); err != nil {
		return fmt.Errorf("search index: %s: %w", w.ID, err)
	}
	return nil
}

// Value reads a value the service keeps in the index beside its
// documents (not one of the batch); nil when there is none.
func (t *Txn) Value(key []byte) ([]byte, error) { return t.idx.GetInternal(key) }

// SetValue keeps a value in the index, in the batch.
func (t *Txn) SetValue(key, value []byte) { t.b.SetInternal(key, value) }

// Update makes a batch with fn, under the write lock, and writes it with
// seq (when not 0) recorded.
func (s *Store) Update(seq uint64, fn func(*Txn) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	idx := s.index()
	t := &Txn{idx: idx, b: idx.NewBatch()}
	if err := fn(t); err != nil {
		return err
	}
	if seq > 0 {
		t.b.SetInternal(keySequence, encodeUint(seq))
	}
	if t.b.Size() == 0 {
		return nil
	}
	if err := idx.Batch(t.b); err != nil {
		return fmt.Errorf("search index: write batch: %w", err)
	}
	return nil
}

// Value reads a value the service keeps in the index; nil when none.
func (s *Store) Value(key []byte) ([]byte, error) { return s.index().GetInternal(key) }

// writeOf is the write of a Change.
func writeOf(c Change) (Write, error) {
	w := Write{ID: c.ID, Version: c.Version, Again: true}
	if c.Doc == nil {
		return w, nil
	}
	d := c.Doc
	lang := LanguageOf(d.Language)
	texts := make([]string, 0, len(d.Texts))
	for _, t := range d.Texts {
		texts = append(texts, t.Text)
	}
	src, err := json.Marshal(stored{Language: lang, Title: d.Title, Texts: d.Texts, Source: d.Source})
	if err != nil {
		return w, fmt.Errorf("search index: %s: %w", c.ID, err)
	}
	w.Fields = map[string]interface{}{
		fKind:              d.Kind,
		fLead + "_" + lang: d.Title,
		fText + "_" + lang: strings.Join(texts, "\n"),
		fTerritory:         d.Territories,
		fTheme:             foldAll(d.Themes),
		fTime:              float64(d.Time.Unix()),
		fStored:            string(src),
	}
	return w, nil
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

// Loader writes the documents of a rebuild into the emptied index, in
// batches, without looking for versions it cannot have yet.
type Loader struct {
	s     *Store
	batch []Write
	n     int
}

// Put adds a Document.
func (l *Loader) Put(d Document) error {
	w, err := writeOf(Put(d))
	if err != nil {
		return err
	}
	return l.Write(w)
}

// Write adds documents of the service's own shape.
func (l *Loader) Write(ws ...Write) error {
	for _, w := range ws {
		w.Unchecked = true
		l.batch = append(l.batch, w)
		l.n++
		if len(l.batch) >= l.s.batchSize {
			if err := l.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush writes what was added so far.
func (l *Loader) Flush() error {
	err := l.s.Write(0, l.batch...)
	l.batch = l.batch[:0]
	return err
}

// Rebuild empties the index, has fill write every document (and value)
// it is to hold, then records st: every event after st.Sequence is
// applied on top, and an event older than a document's version changes
// nothing, so writes that race with the rebuild are safe. It returns how
// many documents fill wrote.
func (s *Store) Rebuild(ctx context.Context, st State, fill func(ctx context.Context, l *Loader) error) (int, error) {
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
	l := &Loader{s: s}
	err := fill(ctx, l)
	if err == nil {
		err = l.Flush()
	}
	if err != nil {
		return l.n, err
	}
	idx := s.index()
	b := idx.NewBatch()
	b.SetInternal(keySequence, encodeUint(st.Sequence))
	b.SetInternal(keyStream, []byte(st.Stream))
	if err := idx.Batch(b); err != nil {
		return l.n, fmt.Errorf("search index: record state: %w", err)
	}
	s.mu.Lock()
	s.fresh = false
	s.mu.Unlock()
	return l.n, nil
}

// load rebuilds the index from all.
func (s *Store) load(ctx context.Context, all All, st State) (int, error) {
	return s.Rebuild(ctx, st, func(ctx context.Context, l *Loader) error { return all(ctx, l.Put) })
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
