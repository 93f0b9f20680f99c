package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
)

// threadListOmits are what a list does not show and what grows with the
// thread.
var threadListOmits = []string{"participants", "counted_posts"}

// List implements thread.Repository.
func (r *ThreadMongoRepository) List(ctx context.Context, f thread.Filter, after *paging.Cursor, limit int) ([]*thread.Thread, error) {
	filter := bson.D{}
	if !f.Scope.IsZero() {
		filter = append(filter, bson.E{Key: "scope", Value: f.Scope.String()})
	}
	if f.ScopeID != "" {
		filter = append(filter, bson.E{Key: "scope_id", Value: f.ScopeID})
	}
	return r.Find(ctx, filter, mongox.Page{After: after, Limit: limit, Omit: threadListOmits})
}
