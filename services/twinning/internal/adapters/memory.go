package adapters

import (
	"context"
	"sort"
	"sync"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// TwinningMemoryRepository is an in-memory twinning.Repository: the
// twinnings on mongox.MemoryStore, which keeps the same documents as
// MongoDB does (so a stored twinning is a deep copy and sorting follows
// the same keys), and their logs in a map. Tests of the app layer and the
// benchmarks use it; the contract test checks that it behaves like the
// MongoDB one. Events are kept in order (Events), not published.
type TwinningMemoryRepository struct {
	*TwinningRepository
	store *memoryTwinnings
}

// NewTwinningMemoryRepository returns an empty repository.
func NewTwinningMemoryRepository() *TwinningMemoryRepository {
	// The store counts the changes without forgetting them (a round that
	// loses the version race is not stored); Create and Update log those
	// of the write that was.
	count := mongox.Events[twinning.Twinning]{Count: func(t *twinning.Twinning) int { return len(t.PeekChanges()) }}
	store := &memoryTwinnings{MemoryStore: mongox.NewMemoryStore(twinningAggregate(count), mongox.StoreOptions{})}
	return &TwinningMemoryRepository{TwinningRepository: &TwinningRepository{twinningStore: store, log: &memoryLog{entries: map[string]logEntryDoc{}}}, store: store}
}

func (r *TwinningMemoryRepository) Events() []twinning.Change { return r.store.recorded() }

// memoryTwinnings are the twinning documents in memory.
type memoryTwinnings struct {
	*mongox.MemoryStore[twinning.Twinning, twinningDoc]

	mu     sync.Mutex
	events []twinning.Change
}

func (r *memoryTwinnings) logChanges(t *twinning.Twinning) {
	r.mu.Lock()
	r.events = append(r.events, t.Changes()...)
	r.mu.Unlock()
}

// Create stores a new twinning and logs its events.
func (r *memoryTwinnings) Create(ctx context.Context, t *twinning.Twinning) error {
	if err := r.MemoryStore.Create(ctx, t); err != nil {
		return err
	}
	r.logChanges(t)
	return nil
}

// Update writes a change and logs its events.
func (r *memoryTwinnings) Update(ctx context.Context, id string, fn func(*twinning.Twinning) error) (*twinning.Twinning, error) {
	t, err := r.MemoryStore.Update(ctx, id, fn)
	if err != nil {
		return nil, err
	}
	r.logChanges(t)
	return t, nil
}

// GetByCode finds a twinning by its unique code.
func (r *memoryTwinnings) GetByCode(_ context.Context, code string) (*twinning.Twinning, error) {
	return r.FindUnique(codeKey(code), code)
}

// List reads a page of twinnings, newest first.
func (r *memoryTwinnings) List(_ context.Context, f twinning.Filter, after *paging.Cursor, limit int) ([]*twinning.Twinning, error) {
	return r.Find(func(d *twinningDoc) bool { return matches(d, f) }, mongox.Page{After: after, Limit: limit}), nil
}

func matches(d *twinningDoc, f twinning.Filter) bool {
	return (f.Status.IsZero() && d.Status != twinning.Deleted.String() || d.Status == f.Status.String()) &&
		(f.OrganizationID == "" || contains(d.OrganizationIDs, f.OrganizationID)) &&
		(f.PracticeID == "" || contains(d.PracticeIDs, f.PracticeID)) &&
		(f.Programme == "" || d.ProgrammeName == f.Programme) &&
		(f.TerritoryCode == "" || contains(d.TerritoryCodes, f.TerritoryCode)) &&
		(d.Status != twinning.Draft.String() || f.Drafts.Shows(twinning.Draft, d.OrganizationIDs))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *memoryTwinnings) recorded() []twinning.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]twinning.Change(nil), r.events...)
}

// memoryLog is the twinnings' log in memory, with MongoDB's rules.
type memoryLog struct {
	mu      sync.RWMutex
	entries map[string]logEntryDoc
}

func (l *memoryLog) put(_ context.Context, entries []logEntryDoc) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range entries {
		if old, ok := l.entries[e.ID]; !ok || old.Rev <= e.Rev {
			l.entries[e.ID] = e
		}
	}
	return nil
}

func (l *memoryLog) get(_ context.Context, id string) (*logEntryDoc, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if e, ok := l.entries[id]; ok {
		return &e, nil
	}
	return nil, nil
}

func (l *memoryLog) page(_ context.Context, twinningID, kind, parent, afterKey string, limit int) ([]logEntryDoc, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []logEntryDoc
	for _, e := range l.entries {
		if e.TwinningID == twinningID && e.Kind == kind && e.Parent == parent && e.SortKey > afterKey {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SortKey < out[j].SortKey })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
