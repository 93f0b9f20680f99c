package adapters

import (
	"context"

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
}

// NewPracticeMemoryRepository returns an empty repository.
func NewPracticeMemoryRepository() *PracticeMemoryRepository {
	return &PracticeMemoryRepository{mongox.NewMemoryStore(practiceAggregate, mongox.StoreOptions{})}
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
