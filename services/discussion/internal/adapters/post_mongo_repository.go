package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
)

// List implements post.Repository.
func (r *PostMongoRepository) List(ctx context.Context, f post.Filter, after *paging.Cursor, limit int) ([]*post.Post, error) {
	filter := bson.D{{Key: "thread_id", Value: f.ThreadID}}
	if !f.IncludeHidden {
		filter = append(filter, bson.E{Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{post.Visible.String(), post.Deleted.String()}}}})
	}
	return r.Find(ctx, filter, mongox.Page{After: after, Ascending: true, Limit: limit})
}

// ListNeedingReview implements post.Repository.
func (r *PostMongoRepository) ListNeedingReview(ctx context.Context, after *paging.Cursor, limit int) ([]*post.Post, error) {
	queue := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "needs_review", Value: true}}, bson.D{{Key: "state", Value: post.Hidden.String()}},
	}}}
	return r.Find(ctx, queue, mongox.Page{After: after, Ascending: true, Limit: limit})
}
