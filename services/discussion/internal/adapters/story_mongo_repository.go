package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
)

// List implements story.Repository.
func (r *StoryMongoRepository) List(ctx context.Context, f story.Filter, after *paging.Cursor, limit int) ([]*story.Story, error) {
	filter := bson.D{{Key: "status", Value: f.Status.String()}}
	if f.TwinningID != "" {
		filter = append(filter, bson.E{Key: "twinning_id", Value: f.TwinningID})
	}
	if f.PracticeID != "" {
		filter = append(filter, bson.E{Key: "practice_id", Value: f.PracticeID})
	}
	return r.Find(ctx, filter, mongox.Page{After: after, Limit: limit})
}
