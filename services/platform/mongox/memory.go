package mongox

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// MemoryStore is AggregateStore's in-memory twin, for app-layer tests and
// benchmarks of a service's own code: it keeps the same documents (so what
// it returns is a copy), refuses the same duplicates, and conditions
// updates on the version in the same way; it counts events instead of
// encoding and publishing them. The repository contract tests hold the two
// to one behaviour.
type MemoryStore[A, D any] struct {
	agg  Aggregate[A, D]
	opts StoreOptions

	mu     sync.RWMutex
	docs   map[string]*memoryDoc[D]
	unique map[string]string // unique key → id
	events int
}

type memoryDoc[D any] struct {
	doc     D
	sortKey string
	version int64
	pending int // events written, never cleared: there is no relay
}

// NewMemoryStore returns an empty store of agg's aggregates; of opts it
// uses Notify and MaxAttempts. It panics when agg lacks a required
// function.
func NewMemoryStore[A, D any](agg Aggregate[A, D], opts StoreOptions) *MemoryStore[A, D] {
	agg.check()
	return &MemoryStore[A, D]{agg: agg, opts: opts.withDefaults(), docs: map[string]*memoryDoc[D]{}, unique: map[string]string{}}
}

// Create implements the same contract as AggregateStore.Create.
func (s *MemoryStore[A, D]) Create(ctx context.Context, a *A) error {
	_, err := s.insert(ctx, a)
	return err
}

func (s *MemoryStore[A, D]) insert(_ context.Context, a *A) (idTaken bool, err error) {
	idTaken, _, err = s.save(a, 0)
	return idTaken, err
}

func (s *MemoryStore[A, D]) write(read int64, a *A) (bool, error) {
	_, ok, err := s.save(a, read)
	return ok, err
}

// save stores a at version read+1: a new document when read is 0, else
// in place of the one still at version read (ok false when it moved on).
func (s *MemoryStore[A, D]) save(a *A, read int64) (idTaken, ok bool, err error) {
	*s.agg.Version(a) = read + 1
	d := s.agg.ToDoc(a)
	doc, err := s.agg.marshal(d)
	if err != nil {
		return false, false, fmt.Errorf("save %w", err)
	}
	events := s.agg.Events.count(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.docs[doc.id]
	switch {
	case read == 0 && exists:
		return true, false, s.agg.alreadyExists(doc.id)
	case read > 0 && (!exists || old.version != read):
		*s.agg.Version(a) = read
		return false, false, nil
	case s.clashes(doc.id, &d):
		return false, false, s.agg.conflict(doc.id, a)
	}
	if read == 0 {
		old = nil
	}
	s.put(doc, old, d, read+1, events)
	s.notify(events)
	return false, true, nil
}

func (s *MemoryStore[A, D]) notify(events int) {
	if events > 0 {
		s.opts.Notify()
	}
}

// clashes reports a unique key of doc that another document holds.
func (s *MemoryStore[A, D]) clashes(id string, doc *D) bool {
	for _, k := range s.uniqueKeys(doc) {
		if owner, ok := s.unique[k]; ok && owner != id {
			return true
		}
	}
	return false
}

// put stores d in place of old (nil for a new one); s.mu is held.
func (s *MemoryStore[A, D]) put(doc document, old *memoryDoc[D], d D, version int64, events int) {
	next := &memoryDoc[D]{doc: d, sortKey: doc.sortKey, version: version, pending: events}
	if old != nil {
		next.pending += old.pending
		s.dropUnique(&old.doc)
	}
	for _, k := range s.uniqueKeys(&d) {
		s.unique[k] = doc.id
	}
	s.docs[doc.id] = next
	s.events += events
}

func (s *MemoryStore[A, D]) uniqueKeys(doc *D) []string {
	if s.agg.UniqueKeys == nil {
		return nil
	}
	return s.agg.UniqueKeys(doc)
}

func (s *MemoryStore[A, D]) dropUnique(doc *D) {
	for _, k := range s.uniqueKeys(doc) {
		delete(s.unique, k)
	}
}

// Get implements the same contract as AggregateStore.Get.
func (s *MemoryStore[A, D]) Get(_ context.Context, id string) (*A, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.docs[id]
	if !ok {
		return nil, s.agg.NotFound(id)
	}
	return s.agg.ToDomain(&d.doc), nil
}

// FindOne returns the aggregate whose document match accepts (a unique
// field); key names it in the NotFound error.
func (s *MemoryStore[A, D]) FindOne(match func(*D) bool, key string) (*A, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, d := range s.docs {
		if match(&d.doc) {
			return s.agg.ToDomain(&d.doc), nil
		}
	}
	return nil, s.agg.NotFound(key)
}

// FindUnique returns the aggregate that holds a unique key (as
// Aggregate.UniqueKeys gives it: "slug:…"); key names it in the NotFound
// error.
func (s *MemoryStore[A, D]) FindUnique(unique, key string) (*A, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id, ok := s.unique[unique]; ok {
		return s.agg.ToDomain(&s.docs[id].doc), nil
	}
	return nil, s.agg.NotFound(key)
}

// Update implements the same contract as AggregateStore.Update: fn runs
// without the store's lock, and the write happens only if the version is
// still the one read.
func (s *MemoryStore[A, D]) Update(ctx context.Context, id string, fn func(*A) error) (*A, error) {
	return s.update(ctx, id, nil, fn)
}

// Upsert implements the same contract as AggregateStore.Upsert.
func (s *MemoryStore[A, D]) Upsert(ctx context.Context, id string, fresh func() *A, fn func(*A) error) (*A, error) {
	return s.update(ctx, id, fresh, fn)
}

func (s *MemoryStore[A, D]) update(ctx context.Context, id string, fresh func() *A, fn func(*A) error) (*A, error) {
	return s.agg.rounds(ctx, s.opts.MaxAttempts, id, fresh, fn, s.insert, func() (*A, func(*A) (bool, error), error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		d, ok := s.docs[id]
		if !ok {
			return nil, nil, errNoDocument
		}
		read := d.version
		return s.agg.ToDomain(&d.doc), func(a *A) (bool, error) { return s.write(read, a) }, nil
	})
}

// Delete implements the same contract as AggregateStore.Delete.
func (s *MemoryStore[A, D]) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.docs[id]; ok {
		s.dropUnique(&old.doc)
		delete(s.docs, id)
	}
	return nil
}

// Find returns one keyset page of the aggregates whose documents match
// accepts (nil accepts all), ordered by sort_key as Page says. Page.Omit
// is ignored: the memory has nothing to save.
func (s *MemoryStore[A, D]) Find(match func(*D) bool, page Page) []*A {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var hits []*memoryDoc[D]
	for _, d := range s.docs {
		if page.After != nil && (page.Ascending && d.sortKey <= page.After.Key || !page.Ascending && d.sortKey >= page.After.Key) {
			continue
		}
		if match == nil || match(&d.doc) {
			hits = append(hits, d)
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if page.Ascending {
			return hits[i].sortKey < hits[j].sortKey
		}
		return hits[i].sortKey > hits[j].sortKey
	})
	if page.Limit > 0 && len(hits) > page.Limit {
		hits = hits[:page.Limit]
	}
	out := make([]*A, len(hits))
	for i, h := range hits {
		out[i] = s.agg.ToDomain(&h.doc)
	}
	return out
}

// EventCount is how many events the writes have recorded.
func (s *MemoryStore[A, D]) EventCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.events
}

// Pending is how many events the writes of one document have recorded,
// what the MongoDB store's outbox would hold with no relay running; -1
// for an unknown id.
func (s *MemoryStore[A, D]) Pending(id string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.docs[id]; ok {
		return d.pending
	}
	return -1
}
