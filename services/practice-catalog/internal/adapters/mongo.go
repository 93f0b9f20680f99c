package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/idempotency"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Collection names of the catalog's database.
const (
	OrganizationsCollection = "organizations"
	PracticesCollection     = "practices"
)

// The MongoDB repositories: the store gives each Create, Get and Update,
// and writes the events of a change in the same document; the files
// <aggregate>_mongo_repository.go add the queries.
type (
	OrganizationMongoRepository struct {
		*mongox.AggregateStore[organization.Organization, organizationDoc]
	}
	PracticeMongoRepository struct {
		*mongox.AggregateStore[practice.Practice, practiceDoc]
		// The collections beside the practices (adoption_documents.go).
		adoptions, parties, receivers, revisions *mongo.Collection
		opts                                     mongox.StoreOptions
	}
	NeedMongoRepository struct {
		*mongox.AggregateStore[need.Need, needDoc]
	}
	OfferMongoRepository struct {
		*mongox.AggregateStore[offer.Offer, offerDoc]
	}
)

// MongoRepositories are the catalog's repositories on its database.
type MongoRepositories struct {
	Organizations *OrganizationMongoRepository
	Practices     *PracticeMongoRepository
	Needs         *NeedMongoRepository
	Offers        *OfferMongoRepository
}

// NewMongoRepositories builds every repository on db. They share opts:
// the relay's Notify and the process's document locks (mongox.DocLocks),
// which the relay must share too.
func NewMongoRepositories(db *mongo.Database, opts mongox.StoreOptions) MongoRepositories {
	return MongoRepositories{
		Organizations: &OrganizationMongoRepository{mongox.NewAggregateStore(db.Collection(OrganizationsCollection), organizationAggregate, opts)},
		Practices: &PracticeMongoRepository{AggregateStore: mongox.NewAggregateStore(db.Collection(PracticesCollection), practiceAggregate, opts),
			adoptions: db.Collection(AdoptionsCollection), parties: db.Collection(AdoptionPartiesCollection),
			receivers: db.Collection(AdoptionReceiversCollection),
			revisions: db.Collection(RevisionsCollection), opts: opts},
		Needs:  &NeedMongoRepository{mongox.NewAggregateStore(db.Collection(NeedsCollection), needAggregate, opts)},
		Offers: &OfferMongoRepository{mongox.NewAggregateStore(db.Collection(OffersCollection), offerAggregate, opts)},
	}
}

// OutboxCollections hold the aggregates whose writes leave events: the
// outbox relay reads them.
var OutboxCollections = []string{OrganizationsCollection, PracticesCollection, NeedsCollection, OffersCollection}

// Indexes are every index the catalog's queries use, by collection: each
// list's filters (each field alone, then the sort key), the practices'
// unique slug, and the open offers of a practice.
func Indexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		OrganizationsCollection: sortedBy(1, "", "kind", "territory.code", "parent_id"),
		PracticesCollection: append(sortedBy(-1, "", "status", "themes", "sectors", "territory.code", "owner_organization_ids", "created_by"),
			mongo.IndexModel{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
			// The other orders of the lists (practice_order.go).
			mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: titleField, Value: 1}, {Key: mongox.IDField, Value: 1}}},
			mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: twinningsField, Value: -1}, {Key: mongox.IDField, Value: -1}}}),
		NeedsCollection: sortedBy(-1, "", "status", "organization_id", "themes", "sectors", "territory.code"),
		OffersCollection: append(sortedBy(-1, "", "status", "organization_id"),
			mongo.IndexModel{Keys: bson.D{{Key: "practice_id", Value: 1}, {Key: "status", Value: 1}}}),
		// The writes of adoption records and parties go by _id alone; the
		// reads of a practice's parties and revisions by practice.
		AdoptionsCollection:       {{Keys: bson.D{{Key: "practice_id", Value: 1}, {Key: "model_code", Value: 1}}}},
		AdoptionPartiesCollection: {{Keys: bson.D{{Key: "practice_id", Value: 1}, {Key: "kind", Value: 1}}}},
		RevisionsCollection:       {{Keys: bson.D{{Key: "practice_id", Value: 1}, {Key: "number", Value: -1}}}},
	}
}

// sortedBy is an index per field on that field then sort_key in the
// direction of the lists ("" for sort_key alone).
func sortedBy(direction int, fields ...string) []mongo.IndexModel {
	out := make([]mongo.IndexModel, 0, len(fields))
	for _, f := range fields {
		keys := bson.D{{Key: mongox.SortKeyField, Value: direction}}
		if f != "" {
			keys = append(bson.D{{Key: f, Value: 1}}, keys...)
		}
		out = append(out, mongo.IndexModel{Keys: keys})
	}
	return out
}

// EnsureIndexes creates every index the catalog's queries use, and those
// of the request ids of its creates (idempotency), and moves what older
// practice documents kept inline into the collections beside them
// (MigrateInline).
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	for name, indexes := range Indexes() {
		if err := mongox.EnsureIndexes(ctx, db.Collection(name), append(indexes, lineageIndexes()[name]...)...); err != nil {
			return err
		}
	}
	if _, err := MigrateInline(ctx, db); err != nil {
		return err
	}
	return idempotency.NewMongoStore(db, nil).EnsureIndexes(ctx)
}

// withValues adds an equality per non-empty value of the field–value
// pairs: the filters of the lists, where an empty value filters nothing.
func withValues(filter bson.D, fieldValues ...string) bson.D {
	for i := 0; i+1 < len(fieldValues); i += 2 {
		if v := fieldValues[i+1]; v != "" {
			filter = append(filter, bson.E{Key: fieldValues[i], Value: v})
		}
	}
	return filter
}

// byID indexes a list of aggregates by id.
func byID[A any](list []*A, id func(*A) string) map[string]*A {
	out := make(map[string]*A, len(list))
	for _, a := range list {
		out[id(a)] = a
	}
	return out
}
