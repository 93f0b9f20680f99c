package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
)

// PostEncoder turns a recorded change into an outbox record.
type PostEncoder func(p *post.Post, c post.Change) (outbox.Record, error)

// PostMongoRepository stores posts in MongoDB.
type PostMongoRepository struct {
	store  docStore[postDoc]
	encode PostEncoder
}

// NewPostMongoRepository uses db's posts collection.
func NewPostMongoRepository(db *mongo.Database, encode PostEncoder, notify func(), locks *doclock.Locks) *PostMongoRepository {
	return &PostMongoRepository{store: newDocStore[postDoc](db, PostsCollection, "post", notify, locks), encode: encode}
}

func (r *PostMongoRepository) records(p *post.Post) ([]outbox.Record, error) {
	return encodeAll("post", p.ID, p.Changes(), func(c post.Change) (outbox.Record, error) { return r.encode(p, c) })
}

// Create implements post.Repository.
func (r *PostMongoRepository) Create(ctx context.Context, p *post.Post) error {
	p.Version = 1
	recs, err := r.records(p)
	if err != nil {
		return err
	}
	doc := toPostDoc(p)
	doc.PendingEvents = withRecords(nil, recs)
	if err := r.store.insert(ctx, doc); err != nil {
		if err == errDuplicate {
			return apperr.AlreadyExists("post %s already exists", p.ID)
		}
		return err
	}
	return nil
}

// Get implements post.Repository.
func (r *PostMongoRepository) Get(ctx context.Context, id string) (*post.Post, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, post.ErrNotFound(id)
	}
	return doc.toDomain(), nil
}

// Update implements post.Repository.
func (r *PostMongoRepository) Update(ctx context.Context, id string, fn func(*post.Post) error) (*post.Post, error) {
	var out *post.Post
	_, err := r.store.update(ctx, id, func() error { return post.ErrNotFound(id) }, func(stored postDoc) (postDoc, error) {
		p := stored.toDomain()
		if err := fn(p); err != nil {
			return postDoc{}, err
		}
		p.Version = stored.Version + 1
		recs, err := r.records(p)
		if err != nil {
			return postDoc{}, err
		}
		next := toPostDoc(p)
		next.PendingEvents = withRecords(stored.PendingEvents, recs)
		out = p
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var postListProjection = bson.D{{Key: "pending_events", Value: 0}}

// List implements post.Repository.
func (r *PostMongoRepository) List(ctx context.Context, f post.Filter, after *paging.Cursor, limit int) ([]*post.Post, error) {
	filter := bson.D{{Key: "thread_id", Value: f.ThreadID}}
	if !f.IncludeHidden {
		filter = append(filter, bson.E{Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{post.Visible.String(), post.Deleted.String()}}}})
	}
	return r.list(ctx, filter, after, limit)
}

// ListNeedingReview implements post.Repository.
func (r *PostMongoRepository) ListNeedingReview(ctx context.Context, after *paging.Cursor, limit int) ([]*post.Post, error) {
	return r.list(ctx, bson.D{{Key: "needs_review", Value: true}}, after, limit)
}

func (r *PostMongoRepository) list(ctx context.Context, filter bson.D, after *paging.Cursor, limit int) ([]*post.Post, error) {
	docs, err := r.store.list(ctx, filter, after, true, limit, postListProjection)
	if err != nil {
		return nil, err
	}
	out := make([]*post.Post, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}
