package adapters

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// TwinningsCollection is the collection of the twinning service's database.
const TwinningsCollection = "twinnings"

// maxUpdateAttempts bounds the retries of a versioned write that lost a race.
const maxUpdateAttempts = 5

// EnsureIndexes creates every index the twinning queries use.
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	return mongox.EnsureIndexes(ctx, db.Collection(TwinningsCollection),
		mongo.IndexModel{Keys: bson.D{{Key: "code", Value: 1}}, Options: options.Index().SetUnique(true)},
		mongo.IndexModel{Keys: bson.D{{Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "organization_ids", Value: 1}, {Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "practice_ids", Value: 1}, {Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "programme_name", Value: 1}, {Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "territory_codes", Value: 1}, {Key: "sort_key", Value: -1}}},
	)
}

// Encoder turns a recorded change into an outbox record.
type Encoder func(t *twinning.Twinning, c twinning.Change) (outbox.Record, error)

// TwinningMongoRepository stores twinnings in MongoDB, one document each,
// with the events of every write in the document's outbox field.
type TwinningMongoRepository struct {
	coll   *mongo.Collection
	encode Encoder
	notify func()
	locks  *doclock.Locks
}

// NewTwinningMongoRepository uses db's twinnings collection; notify wakes
// the outbox relay after each write; locks are shared with the relay.
func NewTwinningMongoRepository(db *mongo.Database, encode Encoder, notify func(), locks *doclock.Locks) *TwinningMongoRepository {
	if notify == nil {
		notify = func() {}
	}
	return &TwinningMongoRepository{coll: db.Collection(TwinningsCollection), encode: encode, notify: notify, locks: locks}
}

// lock serialises this process's writes to one document: the embedded
// FerretDB does not apply a versioned replace atomically (see doclock).
func (r *TwinningMongoRepository) lock(id string) func() { return r.locks.Lock(r.coll.Name(), id) }

// records encodes t's changes, stamped with the trace context and request
// id of ctx (as mongox.AggregateStore does).
func (r *TwinningMongoRepository) records(ctx context.Context, t *twinning.Twinning) ([]outbox.Record, error) {
	var out []outbox.Record
	for _, c := range t.Changes() {
		rec, err := r.encode(t, c)
		if err != nil {
			return nil, fmt.Errorf("encode %s event of twinning %s: %w", c.Type, t.ID, err)
		}
		out = append(out, rec)
	}
	return out, outbox.StampContext(ctx, out)
}

// Create implements twinning.Repository.
func (r *TwinningMongoRepository) Create(ctx context.Context, t *twinning.Twinning) error {
	t.Version = 1
	recs, err := r.records(ctx, t)
	if err != nil {
		return err
	}
	doc := toTwinningDoc(t)
	doc.PendingEvents = append(doc.PendingEvents, recs...)
	defer r.lock(t.ID)()
	if _, err := r.coll.InsertOne(ctx, doc); err != nil {
		if mongox.IsDuplicateKey(err) {
			return r.whichDuplicate(ctx, t.ID, t.Code)
		}
		return fmt.Errorf("insert twinning: %w", err)
	}
	r.notify()
	return nil
}

func (r *TwinningMongoRepository) whichDuplicate(ctx context.Context, id, code string) error {
	existing, err := r.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return err
	}
	if existing != nil {
		return apperr.AlreadyExists("twinning %s already exists", id)
	}
	return twinning.ErrCodeTaken(code)
}

func (r *TwinningMongoRepository) find(ctx context.Context, filter bson.D) (*twinningDoc, error) {
	var doc twinningDoc
	err := r.coll.FindOne(ctx, filter).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load twinning: %w", err)
	}
	return &doc, nil
}

// Get implements twinning.Repository.
func (r *TwinningMongoRepository) Get(ctx context.Context, id string) (*twinning.Twinning, error) {
	return r.get(ctx, bson.D{{Key: "_id", Value: id}}, id)
}

// GetByCode implements twinning.Repository.
func (r *TwinningMongoRepository) GetByCode(ctx context.Context, code string) (*twinning.Twinning, error) {
	return r.get(ctx, bson.D{{Key: "code", Value: code}}, code)
}

func (r *TwinningMongoRepository) get(ctx context.Context, filter bson.D, key string) (*twinning.Twinning, error) {
	doc, err := r.find(ctx, filter)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, twinning.ErrNotFound(key)
	}
	return doc.toDomain(), nil
}

// Update implements twinning.Repository: load, let fn decide, and replace
// the document if its version is still the one loaded, keeping the events
// the relay has not published yet and adding the new ones.
func (r *TwinningMongoRepository) Update(ctx context.Context, id string, fn func(*twinning.Twinning) error) (*twinning.Twinning, error) {
	defer r.lock(id)()
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc, err := r.find(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return nil, err
		}
		if doc == nil {
			return nil, twinning.ErrNotFound(id)
		}
		t := doc.toDomain()
		if err := fn(t); err != nil {
			return nil, err
		}
		t.Version = doc.Version + 1
		recs, err := r.records(ctx, t)
		if err != nil {
			return nil, err
		}
		next := toTwinningDoc(t)
		next.PendingEvents = append(append(next.PendingEvents, doc.PendingEvents...), recs...)
		res, err := r.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: doc.Version}}, next)
		if err != nil {
			if mongox.IsDuplicateKey(err) {
				return nil, twinning.ErrCodeTaken(t.Code)
			}
			return nil, fmt.Errorf("save twinning %s: %w", id, err)
		}
		if res.MatchedCount == 1 {
			r.notify()
			return t, nil
		}
	}
	return nil, apperr.Aborted("twinning %s is being changed by others right now: retry", id)
}

// List implements twinning.Repository.
func (r *TwinningMongoRepository) List(ctx context.Context, f twinning.Filter, after *paging.Cursor, limit int) ([]*twinning.Twinning, error) {
	filter := bson.D{}
	add := func(k, v string) {
		if v != "" {
			filter = append(filter, bson.E{Key: k, Value: v})
		}
	}
	add("status", f.Status.String())
	add("organization_ids", f.OrganizationID)
	add("practice_ids", f.PracticeID)
	add("programme_name", f.Programme)
	add("territory_codes", f.TerritoryCode)
	if f.Drafts.Restricted {
		// A draft only where one of the caller's organisations is a party.
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "status", Value: bson.D{{Key: "$ne", Value: twinning.Draft.String()}}}},
			bson.D{{Key: "organization_ids", Value: bson.D{{Key: "$in", Value: nonNil(f.Drafts.Of)}}}},
		}})
	}
	if after != nil {
		filter = append(filter, bson.E{Key: "sort_key", Value: bson.D{{Key: "$lt", Value: after.Key}}})
	}
	cur, err := r.coll.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "sort_key", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list twinnings: %w", err)
	}
	var docs []twinningDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list twinnings: %w", err)
	}
	out := make([]*twinning.Twinning, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}
