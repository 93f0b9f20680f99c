package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
)

// List implements moderation.Repository.
func (r *ModerationMongoRepository) List(ctx context.Context, after *paging.Cursor, limit int) ([]*moderation.Entry, error) {
	return r.Find(ctx, bson.D{}, mongox.Page{After: after, Limit: limit})
}
