package adapters

import (
	"context"
	"sync"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// TwinningMemoryRepository is an in-memory twinning.Repository on
// mongox.MemoryStore: it keeps the same documents as MongoDB does, so a
// stored twinning is a deep copy and sorting follows the same keys. Tests
// of the app layer and the benchmarks use it; the contract test checks
// that it behaves like the MongoDB one. Events are kept in order (Events),
// not published.
type TwinningMemoryRepository struct {
	*mongox.MemoryStore[twinning.Twinning, twinningDoc]

	mu     sync.Mutex
	events []twinning.Change
}

// NewTwinningMemoryRepository returns an empty repository.
func NewTwinningMemoryRepository() *TwinningMemoryRepository {
	// The store counts the changes without forgetting them (a round that
	// loses the version race is not stored); Create and Update log those
	// of the write that was.
	count := mongox.Events[twinning.Twinning]{Count: func(t *twinning.Twinning) int { return len(t.PeekChanges()) }}
	return &TwinningMemoryRepository{MemoryStore: mongox.NewMemoryStore(twinningAggregate(count), mongox.StoreOptions{})}
}

func (r *TwinningMemoryRepository) logChanges(t *twinning.Twinning) {
	r.mu.Lock()
	r.events = append(r.events, t.Changes()...)
	r.mu.Unlock()
}

// Create implements twinning.Repository.
func (r *TwinningMemoryRepository) Create(ctx context.Context, t *twinning.Twinning) error {
	if err := r.MemoryStore.Create(ctx, t); err != nil {
		return err
	}
	r.logChanges(t)
	return nil
}

// Update implements twinning.Repository.
func (r *TwinningMemoryRepository) Update(ctx context.Context, id string, fn func(*twinning.Twinning) error) (*twinning.Twinning, error) {
	t, err := r.MemoryStore.Update(ctx, id, fn)
	if err != nil {
		return nil, err
	}
	r.logChanges(t)
	return t, nil
}

// GetByCode implements twinning.Repository.
func (r *TwinningMemoryRepository) GetByCode(_ context.Context, code string) (*twinning.Twinning, error) {
	return r.FindUnique(codeKey(code), code)
}

// List implements twinning.Repository.
func (r *TwinningMemoryRepository) List(_ context.Context, f twinning.Filter, after *paging.Cursor, limit int) ([]*twinning.Twinning, error) {
	return r.Find(func(d *twinningDoc) bool { return matches(d, f) }, mongox.Page{After: after, Limit: limit}), nil
}

func matches(d *twinningDoc, f twinning.Filter) bool {
	return (f.Status.IsZero() || d.Status == f.Status.String()) &&
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

// Events returns the events that writes have recorded, oldest first.
func (r *TwinningMemoryRepository) Events() []twinning.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]twinning.Change(nil), r.events...)
}
