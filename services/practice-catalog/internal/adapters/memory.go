package adapters

import (
	"context"
	"sync"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// The in-memory repositories keep the same documents as MongoDB does, on
// mongox.MemoryStore, so a stored aggregate is a deep copy and sorting
// follows the same keys. Tests of the app layer and the benchmarks use
// them; the contract test checks that they behave like the MongoDB ones.
// Events are encoded and counted (EventCount), not published.

// OrganizationMemoryRepository is an in-memory organization.Repository.
type OrganizationMemoryRepository struct {
	*mongox.MemoryStore[organization.Organization, organizationDoc]
}

// NewOrganizationMemoryRepository returns an empty repository.
func NewOrganizationMemoryRepository() *OrganizationMemoryRepository {
	return &OrganizationMemoryRepository{mongox.NewMemoryStore(organizationAggregate, mongox.StoreOptions{})}
}

// GetMany implements organization.Repository.
func (r *OrganizationMemoryRepository) GetMany(_ context.Context, ids []string) (map[string]*organization.Organization, error) {
	wanted := set(ids)
	found := r.Find(func(d *organizationDoc) bool { return wanted[d.ID] }, mongox.Page{})
	return byID(found, func(o *organization.Organization) string { return o.ID }), nil
}

// List implements organization.Repository.
func (r *OrganizationMemoryRepository) List(_ context.Context, f organization.Filter, after *paging.Cursor, limit int) ([]*organization.Organization, error) {
	return r.Find(func(d *organizationDoc) bool {
		return (f.Kind.IsZero() || d.Kind == f.Kind.String()) && (f.TerritoryCode == "" || d.Territory.Code == f.TerritoryCode) &&
			(f.ParentID == "" || d.ParentID == f.ParentID)
	}, mongox.Page{After: after, Ascending: true, Limit: limit}), nil
}

// PracticeMemoryRepository is an in-memory practice.Repository.
type PracticeMemoryRepository struct {
	*mongox.MemoryStore[practice.Practice, practiceDoc]

	mu        sync.Mutex
	revisions map[string]revisionDoc
	adoptions map[string]adoptionRecordDoc
	parties   map[string]partyDoc
}

// NewPracticeMemoryRepository returns an empty repository.
func NewPracticeMemoryRepository() *PracticeMemoryRepository {
	return &PracticeMemoryRepository{
		MemoryStore: mongox.NewMemoryStore(practiceAggregate, mongox.StoreOptions{}),
		revisions:   map[string]revisionDoc{}, adoptions: map[string]adoptionRecordDoc{}, parties: map[string]partyDoc{},
	}
}

// Update implements practice.Repository, keeping revisions apart as the
// MongoDB repository does.
func (r *PracticeMemoryRepository) Update(ctx context.Context, id string, fn func(p *practice.Practice) error) (*practice.Practice, error) {
	return r.MemoryStore.Update(ctx, id, func(p *practice.Practice) error {
		if err := fn(p); err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, rev := range p.History {
			doc := toRevisionDoc(p.ID, rev)
			r.revisions[doc.ID] = doc
		}
		return nil
	})
}

// ListRevisions implements practice.Repository.
func (r *PracticeMemoryRepository) ListRevisions(ctx context.Context, id string, below, limit int) ([]practice.Revision, error) {
	p, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if below <= 0 || below > p.Revision {
		below = p.Revision
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []practice.Revision
	for n := below - 1; n >= 1 && (limit <= 0 || len(out) < limit); n-- {
		if doc, ok := r.revisions[revisionID(id, n)]; ok {
			out = append(out, doc.toDomain())
		}
	}
	return out, nil
}

// RecordTransfer implements practice.Repository.
func (r *PracticeMemoryRepository) RecordTransfer(ctx context.Context, practiceID string, rec practice.TransferRecord) (bool, error) {
	if err := practice.ValidateTransfer(rec); err != nil {
		return false, err
	}
	if _, err := r.Get(ctx, practiceID); err != nil {
		return false, err
	}
	r.mu.Lock()
	var previous *practice.TransferRecord
	if known, ok := r.adoptions[rec.TransferID]; ok {
		prev := known.toDomain()
		previous = &prev
	}
	if !rec.Newer(previous) {
		r.mu.Unlock()
		return false, nil
	}
	r.adoptions[rec.TransferID] = toAdoptionRecordDoc(practiceID, rec)
	newInPractice, newInModel := false, false
	if previous == nil {
		for i, party := range partiesOf(practiceID, rec) {
			if _, taken := r.parties[party.ID]; !taken {
				r.parties[party.ID] = party
				newInPractice, newInModel = newInPractice || i == 0, newInModel || i == 1
			}
		}
	}
	r.mu.Unlock()
	_, err := r.MemoryStore.Update(ctx, practiceID, func(p *practice.Practice) error {
		p.Adoption.Add(practice.DeltaOf(previous, rec, newInPractice))
		if m, ok := p.Model(rec.ModelCode); ok {
			m.Adoption.Add(practice.DeltaOf(previous, rec, newInModel))
		} else {
			if p.UnlistedAdoption == nil {
				p.UnlistedAdoption = map[string]practice.Adoption{}
			}
			a := p.UnlistedAdoption[rec.ModelCode]
			a.Add(practice.DeltaOf(previous, rec, newInModel))
			p.UnlistedAdoption[rec.ModelCode] = a
		}
		return nil
	})
	return err == nil, err
}

// Receivers implements practice.Repository.
func (r *PracticeMemoryRepository) Receivers(_ context.Context, practiceIDs []string) (map[string]practice.Receivers, error) {
	wanted := set(practiceIDs)
	r.mu.Lock()
	defer r.mu.Unlock()
	var docs []partyDoc
	for _, p := range r.parties {
		if wanted[p.PracticeID] {
			docs = append(docs, p)
		}
	}
	return receiversOf(docs), nil
}

// GetBySlug implements practice.Repository.
func (r *PracticeMemoryRepository) GetBySlug(_ context.Context, slug string) (*practice.Practice, error) {
	return r.FindUnique("slug:"+slug, slug)
}

// List implements practice.Repository.
func (r *PracticeMemoryRepository) List(_ context.Context, f practice.Filter, after *paging.Cursor, limit int) ([]*practice.Practice, error) {
	if f.Order != practice.OrderNewest {
		return orderedPage(r.Find(func(d *practiceDoc) bool { return matchesPractice(d, f) }, mongox.Page{}), f.Order, after, limit), nil
	}
	return r.Find(func(d *practiceDoc) bool { return matchesPractice(d, f) }, mongox.Page{After: after, Limit: limit}), nil
}

func matchesPractice(d *practiceDoc, f practice.Filter) bool {
	return (f.Status.IsZero() && d.Status != practice.Deleted.String() || d.Status == f.Status.String()) &&
		(f.CreatedBy == "" || d.CreatedBy == f.CreatedBy) &&
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

func set(list []string) map[string]bool {
	out := make(map[string]bool, len(list))
	for _, s := range list {
		out[s] = true
	}
	return out
}

// NeedMemoryRepository is an in-memory need.Repository.
type NeedMemoryRepository struct {
	*mongox.MemoryStore[need.Need, needDoc]
}

// NewNeedMemoryRepository returns an empty repository.
func NewNeedMemoryRepository() *NeedMemoryRepository {
	return &NeedMemoryRepository{mongox.NewMemoryStore(needAggregate, mongox.StoreOptions{})}
}

// List implements need.Repository.
func (r *NeedMemoryRepository) List(_ context.Context, f need.Filter, after *paging.Cursor, limit int) ([]*need.Need, error) {
	return r.Find(func(d *needDoc) bool { return f.Matches(d.toDomain()) }, mongox.Page{After: after, Limit: limit}), nil
}

// OfferMemoryRepository is an in-memory offer.Repository.
type OfferMemoryRepository struct {
	*mongox.MemoryStore[offer.Offer, offerDoc]
}

// NewOfferMemoryRepository returns an empty repository.
func NewOfferMemoryRepository() *OfferMemoryRepository {
	return &OfferMemoryRepository{mongox.NewMemoryStore(offerAggregate, mongox.StoreOptions{})}
}

// List implements offer.Repository.
func (r *OfferMemoryRepository) List(_ context.Context, f offer.Filter, after *paging.Cursor, limit int) ([]*offer.Offer, error) {
	return r.Find(func(d *offerDoc) bool { return f.Matches(d.toDomain()) }, mongox.Page{After: after, Limit: limit}), nil
}

// OpenForPractices implements offer.Repository.
func (r *OfferMemoryRepository) OpenForPractices(_ context.Context, practiceIDs []string) ([]*offer.Offer, error) {
	wanted := set(practiceIDs)
	return r.Find(func(d *offerDoc) bool { return d.Status == offer.Open.String() && wanted[d.PracticeID] }, mongox.Page{}), nil
}
