package adapters

import (
	"context"
	"sort"
	"sync"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
)

// NeedMemoryRepository is an in-memory need.Repository; like the other
// in-memory repositories it keeps documents, so what it returns is a copy.
type NeedMemoryRepository struct {
	mu     sync.RWMutex
	docs   map[string]*needDoc
	events int
}

// NewNeedMemoryRepository returns an empty repository.
func NewNeedMemoryRepository() *NeedMemoryRepository {
	return &NeedMemoryRepository{docs: map[string]*needDoc{}}
}

// Create implements need.Repository.
func (r *NeedMemoryRepository) Create(_ context.Context, n *need.Need) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[n.ID]; ok {
		return apperr.AlreadyExists("need %s already exists", n.ID)
	}
	n.Version = 1
	r.events += len(n.Changes())
	d := toNeedDoc(n)
	r.docs[n.ID] = &d
	return nil
}

// Get implements need.Repository.
func (r *NeedMemoryRepository) Get(_ context.Context, id string) (*need.Need, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, need.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// Update implements need.Repository.
func (r *NeedMemoryRepository) Update(_ context.Context, id string, fn func(*need.Need) error) (*need.Need, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, need.ErrNotFound(id)
	}
	n := d.toDomain()
	if err := fn(n); err != nil {
		return nil, err
	}
	n.Version = d.Version + 1
	r.events += len(n.Changes())
	next := toNeedDoc(n)
	r.docs[id] = &next
	return n, nil
}

// List implements need.Repository.
func (r *NeedMemoryRepository) List(_ context.Context, f need.Filter, after *paging.Cursor, limit int) ([]*need.Need, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*need.Need
	for _, d := range r.docs {
		if after != nil && d.SortKey >= after.Key {
			continue
		}
		if n := d.toDomain(); f.Matches(n) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SortKey() > out[j].SortKey() })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// EventCount is how many events writes have recorded.
func (r *NeedMemoryRepository) EventCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.events
}

// OfferMemoryRepository is an in-memory offer.Repository.
type OfferMemoryRepository struct {
	mu     sync.RWMutex
	docs   map[string]*offerDoc
	events int
}

// NewOfferMemoryRepository returns an empty repository.
func NewOfferMemoryRepository() *OfferMemoryRepository {
	return &OfferMemoryRepository{docs: map[string]*offerDoc{}}
}

// Create implements offer.Repository.
func (r *OfferMemoryRepository) Create(_ context.Context, o *offer.Offer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[o.ID]; ok {
		return apperr.AlreadyExists("offer %s already exists", o.ID)
	}
	o.Version = 1
	r.events += len(o.Changes())
	d := toOfferDoc(o)
	r.docs[o.ID] = &d
	return nil
}

// Get implements offer.Repository.
func (r *OfferMemoryRepository) Get(_ context.Context, id string) (*offer.Offer, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, offer.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// Update implements offer.Repository.
func (r *OfferMemoryRepository) Update(_ context.Context, id string, fn func(*offer.Offer) error) (*offer.Offer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, offer.ErrNotFound(id)
	}
	o := d.toDomain()
	if err := fn(o); err != nil {
		return nil, err
	}
	o.Version = d.Version + 1
	r.events += len(o.Changes())
	next := toOfferDoc(o)
	r.docs[id] = &next
	return o, nil
}

// List implements offer.Repository.
func (r *OfferMemoryRepository) List(_ context.Context, f offer.Filter, after *paging.Cursor, limit int) ([]*offer.Offer, error) {
	return r.filter(func(o *offer.Offer) bool {
		return f.Matches(o) && (after == nil || o.SortKey() < after.Key)
	}, limit), nil
}

// OpenForPractices implements offer.Repository.
func (r *OfferMemoryRepository) OpenForPractices(_ context.Context, practiceIDs []string) ([]*offer.Offer, error) {
	want := map[string]bool{}
	for _, id := range practiceIDs {
		want[id] = true
	}
	return r.filter(func(o *offer.Offer) bool { return o.Status == offer.Open && want[o.PracticeID] }, -1), nil
}

func (r *OfferMemoryRepository) filter(keep func(*offer.Offer) bool, limit int) []*offer.Offer {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*offer.Offer
	for _, d := range r.docs {
		if o := d.toDomain(); keep(o) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SortKey() > out[j].SortKey() })
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// EventCount is how many events writes have recorded.
func (r *OfferMemoryRepository) EventCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.events
}
