package adapters

import (
	"context"
	"sort"
	"sync"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// The in-memory repositories keep the same documents as MongoDB does, so a
// stored aggregate is a deep copy and sorting follows the same keys. Tests of
// the app layer and the benchmarks use them; the contract test checks that
// they behave like the MongoDB ones. Events are counted, not published.

// OrganizationMemoryRepository is an in-memory organization.Repository.
type OrganizationMemoryRepository struct {
	mu     sync.RWMutex
	docs   map[string]*organizationDoc
	events int
}

// NewOrganizationMemoryRepository returns an empty repository.
func NewOrganizationMemoryRepository() *OrganizationMemoryRepository {
	return &OrganizationMemoryRepository{docs: map[string]*organizationDoc{}}
}

// Create implements organization.Repository.
func (r *OrganizationMemoryRepository) Create(_ context.Context, o *organization.Organization) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[o.ID]; ok {
		return apperr.AlreadyExists("organisation %s already exists", o.ID)
	}
	o.Version = 1
	r.events += len(o.Changes())
	d := toOrganizationDoc(o)
	r.docs[o.ID] = &d
	return nil
}

// Get implements organization.Repository.
func (r *OrganizationMemoryRepository) Get(_ context.Context, id string) (*organization.Organization, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, organization.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// GetMany implements organization.Repository.
func (r *OrganizationMemoryRepository) GetMany(_ context.Context, ids []string) (map[string]*organization.Organization, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := map[string]*organization.Organization{}
	for _, id := range ids {
		if d, ok := r.docs[id]; ok {
			out[id] = d.toDomain()
		}
	}
	return out, nil
}

// Update implements organization.Repository.
func (r *OrganizationMemoryRepository) Update(_ context.Context, id string, fn func(*organization.Organization) error) (*organization.Organization, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, organization.ErrNotFound(id)
	}
	o := d.toDomain()
	if err := fn(o); err != nil {
		return nil, err
	}
	o.Version = d.Version + 1
	r.events += len(o.Changes())
	next := toOrganizationDoc(o)
	r.docs[id] = &next
	return o, nil
}

// List implements organization.Repository.
func (r *OrganizationMemoryRepository) List(_ context.Context, f organization.Filter, after *paging.Cursor, limit int) ([]*organization.Organization, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var docs []*organizationDoc
	for _, d := range r.docs {
		if (!f.Kind.IsZero() && d.Kind != f.Kind.String()) || (f.TerritoryCode != "" && d.Territory.Code != f.TerritoryCode) || (f.ParentID != "" && d.ParentID != f.ParentID) {
			continue
		}
		if after != nil && d.SortKey <= after.Key {
			continue
		}
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].SortKey < docs[j].SortKey })
	var out []*organization.Organization
	for i := 0; i < len(docs) && i < limit; i++ {
		out = append(out, docs[i].toDomain())
	}
	return out, nil
}

// EventCount is how many events writes have recorded.
func (r *OrganizationMemoryRepository) EventCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.events
}

// PracticeMemoryRepository is an in-memory practice.Repository.
type PracticeMemoryRepository struct {
	mu     sync.RWMutex
	docs   map[string]*practiceDoc
	slugs  map[string]string
	events int
}

// NewPracticeMemoryRepository returns an empty repository.
func NewPracticeMemoryRepository() *PracticeMemoryRepository {
	return &PracticeMemoryRepository{docs: map[string]*practiceDoc{}, slugs: map[string]string{}}
}

// Create implements practice.Repository.
func (r *PracticeMemoryRepository) Create(_ context.Context, p *practice.Practice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[p.ID]; ok {
		return apperr.AlreadyExists("practice %s already exists", p.ID)
	}
	if _, ok := r.slugs[p.Slug]; ok {
		return practice.ErrSlugTaken(p.Slug)
	}
	p.Version = 1
	r.events += len(p.Changes())
	d := toPracticeDoc(p)
	r.docs[p.ID] = &d
	r.slugs[p.Slug] = p.ID
	return nil
}

// Get implements practice.Repository.
func (r *PracticeMemoryRepository) Get(_ context.Context, id string) (*practice.Practice, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, practice.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// GetBySlug implements practice.Repository.
func (r *PracticeMemoryRepository) GetBySlug(ctx context.Context, slug string) (*practice.Practice, error) {
	r.mu.RLock()
	id, ok := r.slugs[slug]
	r.mu.RUnlock()
	if !ok {
		return nil, practice.ErrNotFound(slug)
	}
	return r.Get(ctx, id)
}

// Update implements practice.Repository.
func (r *PracticeMemoryRepository) Update(_ context.Context, id string, fn func(*practice.Practice) error) (*practice.Practice, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, practice.ErrNotFound(id)
	}
	p := d.toDomain()
	if err := fn(p); err != nil {
		return nil, err
	}
	if owner, taken := r.slugs[p.Slug]; taken && owner != id {
		return nil, practice.ErrSlugTaken(p.Slug)
	}
	p.Version = d.Version + 1
	r.events += len(p.Changes())
	delete(r.slugs, d.Content.Slug)
	r.slugs[p.Slug] = id
	next := toPracticeDoc(p)
	r.docs[id] = &next
	return p, nil
}

// List implements practice.Repository.
func (r *PracticeMemoryRepository) List(_ context.Context, f practice.Filter, after *paging.Cursor, limit int) ([]*practice.Practice, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var docs []*practiceDoc
	for _, d := range r.docs {
		if !matchesPractice(d, f) || (after != nil && d.SortKey >= after.Key) {
			continue
		}
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].SortKey > docs[j].SortKey })
	var out []*practice.Practice
	for i := 0; i < len(docs) && i < limit; i++ {
		out = append(out, docs[i].toDomain())
	}
	return out, nil
}

func matchesPractice(d *practiceDoc, f practice.Filter) bool {
	return (f.Status.IsZero() || d.Status == f.Status.String()) &&
		(f.Theme == "" || contains(d.Content.Themes, f.Theme)) &&
		(f.Sector == "" || contains(d.Content.Sectors, f.Sector)) &&
		(f.TerritoryCode == "" || d.Content.Territory.Code == f.TerritoryCode) &&
		(f.OwnerOrganizationID == "" || contains(d.Content.OwnerOrganizationIDs, f.OwnerOrganizationID)) &&
		f.Unpublished.Shows(parseStatus(d.Status), d.Content.OwnerOrganizationIDs)
}

func parseStatus(s string) practice.Status {
	st, _ := practice.ParseStatus(s)
	return st
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EventCount is how many events writes have recorded.
func (r *PracticeMemoryRepository) EventCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.events
}
