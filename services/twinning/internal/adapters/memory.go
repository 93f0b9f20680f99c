package adapters

import (
	"context"
	"sort"
	"sync"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// TwinningMemoryRepository is an in-memory twinning.Repository. It keeps
// the same documents as MongoDB does, so a stored twinning is a deep copy
// and sorting follows the same keys. Tests of the app layer and the
// benchmarks use it; the contract test checks that it behaves like the
// MongoDB one. Events are kept in order, not published.
type TwinningMemoryRepository struct {
	mu     sync.RWMutex
	docs   map[string]twinningDoc
	codes  map[string]string
	events []twinning.Change
}

// NewTwinningMemoryRepository returns an empty repository.
func NewTwinningMemoryRepository() *TwinningMemoryRepository {
	return &TwinningMemoryRepository{docs: map[string]twinningDoc{}, codes: map[string]string{}}
}

// Create implements twinning.Repository.
func (r *TwinningMemoryRepository) Create(_ context.Context, t *twinning.Twinning) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[t.ID]; ok {
		return apperr.AlreadyExists("twinning %s already exists", t.ID)
	}
	if _, ok := r.codes[t.Code]; ok {
		return twinning.ErrCodeTaken(t.Code)
	}
	t.Version = 1
	r.events = append(r.events, t.Changes()...)
	r.docs[t.ID] = toTwinningDoc(t)
	r.codes[t.Code] = t.ID
	return nil
}

// Get implements twinning.Repository.
func (r *TwinningMemoryRepository) Get(_ context.Context, id string) (*twinning.Twinning, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, twinning.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// GetByCode implements twinning.Repository.
func (r *TwinningMemoryRepository) GetByCode(ctx context.Context, code string) (*twinning.Twinning, error) {
	r.mu.RLock()
	id, ok := r.codes[code]
	r.mu.RUnlock()
	if !ok {
		return nil, twinning.ErrNotFound(code)
	}
	return r.Get(ctx, id)
}

// Update implements twinning.Repository.
func (r *TwinningMemoryRepository) Update(_ context.Context, id string, fn func(*twinning.Twinning) error) (*twinning.Twinning, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, twinning.ErrNotFound(id)
	}
	t := d.toDomain()
	if err := fn(t); err != nil {
		return nil, err
	}
	if owner, taken := r.codes[t.Code]; taken && owner != id {
		return nil, twinning.ErrCodeTaken(t.Code)
	}
	t.Version = d.Version + 1
	r.events = append(r.events, t.Changes()...)
	delete(r.codes, d.Code)
	r.codes[t.Code] = id
	r.docs[id] = toTwinningDoc(t)
	return t, nil
}

// List implements twinning.Repository.
func (r *TwinningMemoryRepository) List(_ context.Context, f twinning.Filter, after *paging.Cursor, limit int) ([]*twinning.Twinning, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var docs []twinningDoc
	for _, d := range r.docs {
		if !matches(d, f) || (after != nil && d.SortKey >= after.Key) {
			continue
		}
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].SortKey > docs[j].SortKey })
	var out []*twinning.Twinning
	for i := 0; i < len(docs) && i < limit; i++ {
		out = append(out, docs[i].toDomain())
	}
	return out, nil
}

func matches(d twinningDoc, f twinning.Filter) bool {
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
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]twinning.Change(nil), r.events...)
}
