package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
)

// GetMany implements organization.Repository.
func (r *OrganizationMongoRepository) GetMany(ctx context.Context, ids []string) (map[string]*organization.Organization, error) {
	found, err := r.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, mongox.Page{Ascending: true, Limit: len(ids) + 1})
	return byID(found, func(o *organization.Organization) string { return o.ID }), err
}

// List implements organization.Repository.
func (r *OrganizationMongoRepository) List(ctx context.Context, f organization.Filter, after *paging.Cursor, limit int) ([]*organization.Organization, error) {
	filter := bson.D{}
	if !f.Kind.IsZero() {
		filter = append(filter, bson.E{Key: "kind", Value: f.Kind.String()})
	}
	filter = withValues(filter, "territory.code", f.TerritoryCode, "parent_id", f.ParentID)
	return r.Find(ctx, filter, mongox.Page{After: after, Ascending: true, Limit: limit})
}
