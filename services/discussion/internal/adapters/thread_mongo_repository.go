package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
)

// ThreadEncoder turns a recorded change into an outbox record.
type ThreadEncoder func(t *thread.Thread, c thread.Change) (outbox.Record, error)

// ThreadMongoRepository stores threads in MongoDB.
type ThreadMongoRepository struct {
	store  docStore[threadDoc]
	encode ThreadEncoder
}

// NewThreadMongoRepository uses db's threads collection.
func NewThreadMongoRepository(db *mongo.Database, encode ThreadEncoder, notify func(), locks *doclock.Locks) *ThreadMongoRepository {
	return &ThreadMongoRepository{store: newDocStore[threadDoc](db, ThreadsCollection, "thread", notify, locks), encode: encode}
}

func (r *ThreadMongoRepository) records(t *thread.Thread) ([]outbox.Record, error) {
	return encodeAll("thread", t.ID, t.Changes(), func(c thread.Change) (outbox.Record, error) { return r.encode(t, c) })
}

// Create implements thread.Repository.
func (r *ThreadMongoRepository) Create(ctx context.Context, t *thread.Thread) error {
	t.Version = 1
	recs, err := r.records(t)
	if err != nil {
		return err
	}
	doc := toThreadDoc(t)
	doc.PendingEvents = withRecords(nil, recs)
	if err := r.store.insert(ctx, doc); err != nil {
		if err == errDuplicate {
			return apperr.AlreadyExists("thread %s already exists", t.ID)
		}
		return err
	}
	return nil
}

// Get implements thread.Repository.
func (r *ThreadMongoRepository) Get(ctx context.Context, id string) (*thread.Thread, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, thread.ErrNotFound(id)
	}
	return doc.toDomain(), nil
}

// Update implements thread.Repository.
func (r *ThreadMongoRepository) Update(ctx context.Context, id string, fn func(*thread.Thread) error) (*thread.Thread, error) {
	var out *thread.Thread
	_, err := r.store.update(ctx, id, func() error { return thread.ErrNotFound(id) }, func(stored threadDoc) (threadDoc, error) {
		t := stored.toDomain()
		if err := fn(t); err != nil {
			return threadDoc{}, err
		}
		t.Version = stored.Version + 1
		recs, err := r.records(t)
		if err != nil {
			return threadDoc{}, err
		}
		next := toThreadDoc(t)
		next.PendingEvents = withRecords(stored.PendingEvents, recs)
		out = t
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listProjection leaves out what a list does not show and what grows with
// the thread.
var listProjection = bson.D{{Key: "participants", Value: 0}, {Key: "counted_posts", Value: 0}, {Key: "pending_events", Value: 0}}

// List implements thread.Repository.
func (r *ThreadMongoRepository) List(ctx context.Context, f thread.Filter, after *paging.Cursor, limit int) ([]*thread.Thread, error) {
	filter := bson.D{}
	if !f.Scope.IsZero() {
		filter = append(filter, bson.E{Key: "scope", Value: f.Scope.String()})
	}
	if f.ScopeID != "" {
		filter = append(filter, bson.E{Key: "scope_id", Value: f.ScopeID})
	}
	docs, err := r.store.list(ctx, filter, after, false, limit, listProjection)
	if err != nil {
		return nil, err
	}
	out := make([]*thread.Thread, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}
