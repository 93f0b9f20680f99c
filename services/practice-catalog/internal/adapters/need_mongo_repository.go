package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
)

// List implements need.Repository.
func (r *NeedMongoRepository) List(ctx context.Context, f need.Filter, after *paging.Cursor, limit int) ([]*need.Need, error) {
	filter := withValues(bson.D{}, "status", f.Status.String(), "organization_id", f.OrganizationID,
		"themes", f.Theme, "sectors", f.Sector, "territory.code", f.TerritoryCode)
	return r.Find(ctx, filter, mongox.Page{After: after, Limit: limit})
}
