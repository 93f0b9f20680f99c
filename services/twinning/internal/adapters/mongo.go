package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// TwinningsCollection is the collection of the twinning service's database.
const TwinningsCollection = "twinnings"

// OutboxCollections hold the documents whose writes leave events: the
// outbox relay reads them.
var OutboxCollections = []string{TwinningsCollection}

// Indexes are every index the twinning queries use: the unique code, and
// each list filter alone then the sort key, newest first.
func Indexes() map[string][]mongo.IndexModel {
	models := []mongo.IndexModel{{Keys: bson.D{{Key: "code", Value: 1}}, Options: options.Index().SetUnique(true)}}
	for _, f := range []string{"", "status", "organization_ids", "practice_ids", "programme_name", "territory_codes"} {
		keys := bson.D{{Key: mongox.SortKeyField, Value: -1}}
		if f != "" {
			keys = append(bson.D{{Key: f, Value: 1}}, keys...)
		}
		models = append(models, mongo.IndexModel{Keys: keys})
	}
	return map[string][]mongo.IndexModel{TwinningsCollection: models}
}

// EnsureIndexes creates every index the twinning queries use.
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	for name, models := range Indexes() {
		if err := mongox.EnsureIndexes(ctx, db.Collection(name), models...); err != nil {
			return err
		}
	}
	return nil
}

// TwinningMongoRepository stores twinnings in MongoDB, one document each:
// the store gives it Create, Get and Update, and writes the events of a
// change into the same document (the outbox, with pending_since for the
// relay's indexed sweep).
type TwinningMongoRepository struct {
	*mongox.AggregateStore[twinning.Twinning, twinningDoc]
}

// NewTwinningMongoRepository uses db's twinnings collection. opts carry
// the relay's Notify and the process's document locks (mongox.DocLocks),
// which the relay shares.
func NewTwinningMongoRepository(db *mongo.Database, opts mongox.StoreOptions) *TwinningMongoRepository {
	events := mongox.EncodeChanges((*twinning.Twinning).Changes, EncodeTwinningEvent)
	return &TwinningMongoRepository{mongox.NewAggregateStore(db.Collection(TwinningsCollection), twinningAggregate(events), opts)}
}

// GetByCode implements twinning.Repository.
func (r *TwinningMongoRepository) GetByCode(ctx context.Context, code string) (*twinning.Twinning, error) {
	return r.FindOne(ctx, bson.D{{Key: "code", Value: code}}, code)
}

// List implements twinning.Repository.
func (r *TwinningMongoRepository) List(ctx context.Context, f twinning.Filter, after *paging.Cursor, limit int) ([]*twinning.Twinning, error) {
	filter := bson.D{}
	for _, kv := range [][2]string{
		{"status", f.Status.String()}, {"organization_ids", f.OrganizationID}, {"practice_ids", f.PracticeID},
		{"programme_name", f.Programme}, {"territory_codes", f.TerritoryCode},
	} {
		if kv[1] != "" {
			filter = append(filter, bson.E{Key: kv[0], Value: kv[1]})
		}
	}
	if f.Drafts.Restricted {
		// A draft only where one of the caller's organisations is a party.
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "status", Value: bson.D{{Key: "$ne", Value: twinning.Draft.String()}}}},
			bson.D{{Key: "organization_ids", Value: bson.D{{Key: "$in", Value: nonNil(f.Drafts.Of)}}}},
		}})
	}
	return r.Find(ctx, filter, mongox.Page{After: after, Limit: limit})
}
