package adapters

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
)

// OrganizationEncoder turns a recorded change into an outbox record.
type OrganizationEncoder func(o *organization.Organization, c organization.Change) (outbox.Record, error)

// OrganizationMongoRepository stores organisations in MongoDB.
type OrganizationMongoRepository struct {
	store  docStore[organizationDoc]
	encode OrganizationEncoder
}

// NewOrganizationMongoRepository uses db's organizations collection; notify
// wakes the outbox relay after each write.
func NewOrganizationMongoRepository(db *mongo.Database, encode OrganizationEncoder, notify func(), locks *doclock.Locks) *OrganizationMongoRepository {
	if notify == nil {
		notify = func() {}
	}
	return &OrganizationMongoRepository{store: docStore[organizationDoc]{coll: db.Collection(OrganizationsCollection), what: "organisation", notify: notify, locks: locks}, encode: encode}
}

func (r *OrganizationMongoRepository) records(o *organization.Organization) ([]outbox.Record, error) {
	var out []outbox.Record
	for _, c := range o.Changes() {
		rec, err := r.encode(o, c)
		if err != nil {
			return nil, fmt.Errorf("encode %s event of organisation %s: %w", c.Type, o.ID, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// Create implements organization.Repository.
func (r *OrganizationMongoRepository) Create(ctx context.Context, o *organization.Organization) error {
	o.Version = 1
	recs, err := r.records(o)
	if err != nil {
		return err
	}
	doc := toOrganizationDoc(o)
	doc.PendingEvents = withRecords(nil, recs)
	if err := r.store.insert(ctx, doc); err != nil {
		if err == errDuplicate {
			return apperr.AlreadyExists("organisation %s already exists", o.ID)
		}
		return err
	}
	return nil
}

// Get implements organization.Repository.
func (r *OrganizationMongoRepository) Get(ctx context.Context, id string) (*organization.Organization, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, organization.ErrNotFound(id)
	}
	return doc.toDomain(), nil
}

// GetMany implements organization.Repository.
func (r *OrganizationMongoRepository) GetMany(ctx context.Context, ids []string) (map[string]*organization.Organization, error) {
	docs, err := r.store.list(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, nil, true, len(ids)+1)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*organization.Organization, len(docs))
	for i := range docs {
		out[docs[i].ID] = docs[i].toDomain()
	}
	return out, nil
}

// Update implements organization.Repository.
func (r *OrganizationMongoRepository) Update(ctx context.Context, id string, fn func(*organization.Organization) error) (*organization.Organization, error) {
	defer r.store.lock(id)()
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return nil, err
		}
		if doc == nil {
			return nil, organization.ErrNotFound(id)
		}
		o := doc.toDomain()
		if err := fn(o); err != nil {
			return nil, err
		}
		o.Version = doc.Version + 1
		recs, err := r.records(o)
		if err != nil {
			return nil, err
		}
		next := toOrganizationDoc(o)
		next.PendingEvents = withRecords(doc.PendingEvents, recs)
		ok, err := r.store.replace(ctx, id, doc.Version, next)
		if err != nil {
			return nil, err
		}
		if ok {
			return o, nil
		}
	}
	return nil, tooMuchContention("organisation", id)
}

// List implements organization.Repository.
func (r *OrganizationMongoRepository) List(ctx context.Context, f organization.Filter, after *paging.Cursor, limit int) ([]*organization.Organization, error) {
	filter := bson.D{}
	if !f.Kind.IsZero() {
		filter = append(filter, bson.E{Key: "kind", Value: f.Kind.String()})
	}
	if f.TerritoryCode != "" {
		filter = append(filter, bson.E{Key: "territory.code", Value: f.TerritoryCode})
	}
	if f.ParentID != "" {
		filter = append(filter, bson.E{Key: "parent_id", Value: f.ParentID})
	}
	docs, err := r.store.list(ctx, filter, after, true, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*organization.Organization, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, nil
}
