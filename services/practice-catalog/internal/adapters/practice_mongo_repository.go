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
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// PracticeEncoder turns a recorded change into an outbox record.
type PracticeEncoder func(p *practice.Practice, c practice.Change) (outbox.Record, error)

// PracticeMongoRepository stores practices in MongoDB.
type PracticeMongoRepository struct {
	store  docStore[practiceDoc]
	encode PracticeEncoder
}

// NewPracticeMongoRepository uses db's practices collection; notify wakes
// the outbox relay after each write.
func NewPracticeMongoRepository(db *mongo.Database, encode PracticeEncoder, notify func(), locks *doclock.Locks) *PracticeMongoRepository {
	if notify == nil {
		notify = func() {}
	}
	return &PracticeMongoRepository{store: docStore[practiceDoc]{coll: db.Collection(PracticesCollection), what: "practice", notify: notify, locks: locks}, encode: encode}
}

func (r *PracticeMongoRepository) records(p *practice.Practice) ([]outbox.Record, error) {
	var out []outbox.Record
	for _, c := range p.Changes() {
		rec, err := r.encode(p, c)
		if err != nil {
			return nil, fmt.Errorf("encode %s event of practice %s: %w", c.Type, p.ID, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// Create implements practice.Repository.
func (r *PracticeMongoRepository) Create(ctx context.Context, p *practice.Practice) error {
	p.Version = 1
	recs, err := r.records(p)
	if err != nil {
		return err
	}
	doc := toPracticeDoc(p)
	doc.PendingEvents = withRecords(nil, recs)
	if err := r.store.insert(ctx, doc); err != nil {
		if err == errDuplicate {
			return r.whichDuplicate(ctx, p.ID, p.Slug)
		}
		return err
	}
	return nil
}

// whichDuplicate tells a taken id (a retried create) from a taken slug; the
// embedded store's duplicate-key error does not name the index.
func (r *PracticeMongoRepository) whichDuplicate(ctx context.Context, id, slug string) error {
	existing, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return err
	}
	if existing != nil {
		return apperr.AlreadyExists("practice %s already exists", id)
	}
	return practice.ErrSlugTaken(slug)
}

// Get implements practice.Repository.
func (r *PracticeMongoRepository) Get(ctx context.Context, id string) (*practice.Practice, error) {
	return r.get(ctx, bson.D{{Key: "_id", Value: id}}, id)
}

// GetBySlug implements practice.Repository.
func (r *PracticeMongoRepository) GetBySlug(ctx context.Context, slug string) (*practice.Practice, error) {
	return r.get(ctx, bson.D{{Key: "slug", Value: slug}}, slug)
}

func (r *PracticeMongoRepository) get(ctx context.Context, filter bson.D, key string) (*practice.Practice, error) {
	doc, err := r.store.find(ctx, filter)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, practice.ErrNotFound(key)
	}
	return doc.toDomain(), nil
}

// Update implements practice.Repository.
func (r *PracticeMongoRepository) Update(ctx context.Context, id string, fn func(*practice.Practice) error) (*practice.Practice, error) {
	defer r.store.lock(id)()
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return nil, err
		}
		if doc == nil {
			return nil, practice.ErrNotFound(id)
		}
		p := doc.toDomain()
		if err := fn(p); err != nil {
			return nil, err
		}
		p.Version = doc.Version + 1
		recs, err := r.records(p)
		if err != nil {
			return nil, err
		}
		next := toPracticeDoc(p)
		next.PendingEvents = withRecords(doc.PendingEvents, recs)
		ok, err := r.store.replace(ctx, id, doc.Version, next)
		if err == errDuplicate {
			return nil, practice.ErrSlugTaken(p.Slug)
		}
		if err != nil {
			return nil, err
		}
		if ok {
			return p, nil
		}
	}
	return nil, tooMuchContention("practice", id)
}

// List implements practice.Repository.
func (r *PracticeMongoRepository) List(ctx context.Context, f practice.Filter, after *paging.Cursor, limit int) ([]*practice.Practice, error) {
	filter := bson.D{}
	add := func(k string, v string) {
		if v != "" {
			filter = append(filter, bson.E{Key: k, Value: v})
		}
	}
	add("status", f.Status.String())
	add("themes", f.Theme)
	add("sectors", f.Sector)
	add("territory.code", f.TerritoryCode)
	add("owner_organization_ids", f.OwnerOrganizationID)
	if f.Unpublished.Restricted {
		// A draft or submitted practice only where the caller edits an owner.
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{practice.Published.String(), practice.Archived.String()}}}}},
			bson.D{{Key: "owner_organization_ids", Value: bson.D{{Key: "$in", Value: append([]string{}, f.Unpublished.Of...)}}}},
		}})
	}
	// A list shows no history and no pending events: leave them in the store.
	docs, err := r.store.list(ctx, filter, after, false, limit,
		bson.E{Key: "history", Value: 0}, bson.E{Key: "pending_events", Value: 0})
	if err != nil {
		return nil, err
	}
	out := make([]*practice.Practice, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, nil
}
