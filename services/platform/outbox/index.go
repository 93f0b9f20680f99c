package outbox

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// IndexModels is the sweep index of an outbox collection: pending_since
// ascending, sparse, so that it holds only the documents with pending events
// and the relay finds the oldest of them without a collection scan. (Sparse
// rather than partial because FerretDB v1 rejects partialFilterExpression;
// it accepts sparse and builds an ordinary index.)
func IndexModels() []mongo.IndexModel {
	return []mongo.IndexModel{{
		Keys:    bson.D{{Key: SinceField, Value: 1}},
		Options: options.Index().SetName(IndexName).SetSparse(true),
	}}
}

// pendingFilter selects the documents with pending events through the
// sweep index.
func pendingFilter() bson.D {
	return bson.D{{Key: SinceField, Value: bson.D{{Key: "$exists", Value: true}}}}
}

// legacyFilter selects the documents with pending events but no
// pending_since, written before this layout; no index covers it.
func legacyFilter() bson.D {
	return bson.D{
		{Key: Field + ".0", Value: bson.D{{Key: "$exists", Value: true}}},
		{Key: SinceField, Value: bson.D{{Key: "$exists", Value: false}}},
	}
}

// Prepare readies an outbox collection at start-up, before the service
// writes to it: it creates the sweep index, gives an empty pending_events
// array to documents that have none (or null), so that UpdateOps can push to
// it, and a pending_since to documents that have pending events but no
// pending_since (written before this layout), so that the relay sees them.
// The two fixes scan the collection once; calling Prepare again changes
// nothing.
func Prepare(ctx context.Context, coll *mongo.Collection) error {
	if _, err := coll.Indexes().CreateMany(ctx, IndexModels()); err != nil {
		return fmt.Errorf("prepare outbox of %s: create sweep index: %w", coll.Name(), err)
	}
	// {field: null} matches a null and a missing field alike.
	if _, err := coll.UpdateMany(ctx,
		bson.D{{Key: Field, Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: Field, Value: bson.A{}}}}},
	); err != nil {
		return fmt.Errorf("prepare outbox of %s: give documents an empty %s: %w", coll.Name(), Field, err)
	}
	if _, err := coll.UpdateMany(ctx, legacyFilter(),
		bson.D{{Key: "$set", Value: bson.D{{Key: SinceField, Value: now()}}}},
	); err != nil {
		return fmt.Errorf("prepare outbox of %s: set %s of pending documents: %w", coll.Name(), SinceField, err)
	}
	return nil
}
