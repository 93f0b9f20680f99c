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
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
)

// OfferEncoder turns a recorded change into an outbox record.
type OfferEncoder func(o *offer.Offer, c offer.Change) (outbox.Record, error)

// OfferMongoRepository stores offers in MongoDB, their events in the same
// document.
type OfferMongoRepository struct {
	store  docStore[offerDoc]
	encode OfferEncoder
}

// NewOfferMongoRepository uses db's offers collection; notify wakes the
// outbox relay after each write; locks are shared with the relay.
func NewOfferMongoRepository(db *mongo.Database, encode OfferEncoder, notify func(), locks *doclock.Locks) *OfferMongoRepository {
	if notify == nil {
		notify = func() {}
	}
	return &OfferMongoRepository{store: docStore[offerDoc]{coll: db.Collection(OffersCollection), what: "offer", notify: notify, locks: locks}, encode: encode}
}

func (r *OfferMongoRepository) records(o *offer.Offer) ([]outbox.Record, error) {
	var out []outbox.Record
	for _, c := range o.Changes() {
		rec, err := r.encode(o, c)
		if err != nil {
			return nil, fmt.Errorf("encode %s event of offer %s: %w", c.Type, o.ID, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// Create implements offer.Repository.
func (r *OfferMongoRepository) Create(ctx context.Context, o *offer.Offer) error {
	o.Version = 1
	recs, err := r.records(o)
	if err != nil {
		return err
	}
	doc := toOfferDoc(o)
	doc.PendingEvents = withRecords(nil, recs)
	if err := r.store.insert(ctx, doc); err != nil {
		if err == errDuplicate {
			return apperr.AlreadyExists("offer %s already exists", o.ID)
		}
		return err
	}
	return nil
}

// Get implements offer.Repository.
func (r *OfferMongoRepository) Get(ctx context.Context, id string) (*offer.Offer, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, offer.ErrNotFound(id)
	}
	return doc.toDomain(), nil
}

// Update implements offer.Repository.
func (r *OfferMongoRepository) Update(ctx context.Context, id string, fn func(*offer.Offer) error) (*offer.Offer, error) {
	defer r.store.lock(id)()
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return nil, err
		}
		if doc == nil {
			return nil, offer.ErrNotFound(id)
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
		next := toOfferDoc(o)
		next.PendingEvents = withRecords(doc.PendingEvents, recs)
		ok, err := r.store.replace(ctx, id, doc.Version, next)
		if err != nil {
			return nil, err
		}
		if ok {
			return o, nil
		}
	}
	return nil, tooMuchContention("offer", id)
}

// List implements offer.Repository.
func (r *OfferMongoRepository) List(ctx context.Context, f offer.Filter, after *paging.Cursor, limit int) ([]*offer.Offer, error) {
	filter := bson.D{}
	add := func(k, v string) {
		if v != "" {
			filter = append(filter, bson.E{Key: k, Value: v})
		}
	}
	add("status", f.Status.String())
	add("organization_id", f.OrganizationID)
	add("practice_id", f.PracticeID)
	return r.list(ctx, filter, after, limit)
}

// OpenForPractices implements offer.Repository.
func (r *OfferMongoRepository) OpenForPractices(ctx context.Context, practiceIDs []string) ([]*offer.Offer, error) {
	if len(practiceIDs) == 0 {
		return nil, nil
	}
	filter := bson.D{
		{Key: "practice_id", Value: bson.D{{Key: "$in", Value: practiceIDs}}},
		{Key: "status", Value: offer.Open.String()},
	}
	// Bounded: a practice has a handful of offers, not thousands.
	return r.list(ctx, filter, nil, 50*len(practiceIDs))
}

func (r *OfferMongoRepository) list(ctx context.Context, filter bson.D, after *paging.Cursor, limit int) ([]*offer.Offer, error) {
	docs, err := r.store.list(ctx, filter, after, false, limit, withoutOutbox)
	if err != nil {
		return nil, err
	}
	out := make([]*offer.Offer, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, nil
}
