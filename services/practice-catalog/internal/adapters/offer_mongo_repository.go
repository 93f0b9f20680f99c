package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
)

// List implements offer.Repository.
func (r *OfferMongoRepository) List(ctx context.Context, f offer.Filter, after *paging.Cursor, limit int) ([]*offer.Offer, error) {
	filter := withValues(bson.D{}, "status", f.Status.String(), "organization_id", f.OrganizationID, "practice_id", f.PracticeID)
	return r.Find(ctx, filter, mongox.Page{After: after, Limit: limit})
}

// OpenForPractices implements offer.Repository.
func (r *OfferMongoRepository) OpenForPractices(ctx context.Context, practiceIDs []string) ([]*offer.Offer, error) {
	if len(practiceIDs) == 0 {
		return nil, nil
	}
	filter := bson.D{
		{Key: "practice_id", Value: bson.D{{Key: "$in", Value: practiceIDs}}},
		{Key: "status", Value: offer.Open.String()},
	}
	// Bounded: a practice has a handful of offers, not thousands.
	return r.Find(ctx, filter, mongox.Page{Limit: 50 * len(practiceIDs)})
}
