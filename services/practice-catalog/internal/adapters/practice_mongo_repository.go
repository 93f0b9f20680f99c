package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// GetBySlug implements practice.Repository.
func (r *PracticeMongoRepository) GetBySlug(ctx context.Context, slug string) (*practice.Practice, error) {
	return r.FindOne(ctx, bson.D{{Key: "slug", Value: slug}}, slug)
}

// List implements practice.Repository.
func (r *PracticeMongoRepository) List(ctx context.Context, f practice.Filter, after *paging.Cursor, limit int) ([]*practice.Practice, error) {
	filter := withValues(bson.D{}, "status", f.Status.String(), "themes", f.Theme, "sectors", f.Sector,
		"territory.code", f.TerritoryCode, "owner_organization_ids", f.OwnerOrganizationID, "created_by", f.CreatedBy)
	if f.Status.IsZero() {
		// A deleted draft is a tombstone: no list shows it.
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$ne", Value: practice.Deleted.String()}}})
	}
	if f.Unpublished.Restricted {
		// A draft or submitted practice only where the caller edits an owner.
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{practice.Published.String(), practice.Archived.String()}}}}},
			bson.D{{Key: "owner_organization_ids", Value: bson.D{{Key: "$in", Value: append([]string{}, f.Unpublished.Of...)}}}},
		}})
	}
	if f.Order != practice.OrderNewest {
		return r.listOrdered(ctx, filter, f.Order, after, limit)
	}
	// A list shows no history: leave it in the store.
	return r.Find(ctx, filter, mongox.Page{After: after, Limit: limit, Omit: []string{"history"}})
}
