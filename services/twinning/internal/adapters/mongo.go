package adapters

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/idempotency"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// TwinningsCollection is the collection of the twinning service's database.
const TwinningsCollection = "twinnings"

// Collections are every collection of the twinning service's database.
var Collections = []string{TwinningsCollection, LogCollection}

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
	return map[string][]mongo.IndexModel{
		TwinningsCollection: models,
		// One twinning's entries of one kind (and transfer), by sort key.
		LogCollection: {{Keys: bson.D{{Key: "twinning_id", Value: 1}, {Key: "kind", Value: 1}, {Key: "parent", Value: 1}, {Key: mongox.SortKeyField, Value: 1}}}},
	}
}

// EnsureIndexes creates every index the twinning queries use, and those
// of the request ids of its creates (idempotency).
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	indexes := Indexes()
	for _, name := range Collections {
		if err := mongox.EnsureIndexes(ctx, db.Collection(name), indexes[name]...); err != nil {
			return err
		}
	}
	return idempotency.NewMongoStore(db, nil).EnsureIndexes(ctx)
}

// mongoTwinnings stores twinnings in MongoDB, one document each: the
// store gives it Create, Get and Update, and writes the events of a change
// into the same document (the outbox, with pending_since for the relay's
// indexed sweep).
type mongoTwinnings struct {
	*mongox.AggregateStore[twinning.Twinning, twinningDoc]
}

// NewTwinningMongoRepository keeps the twinnings in db's twinnings
// collection and their logs in twinning_log. opts carry the relay's Notify
// and the process's document locks (mongox.DocLocks), which the relay
// shares.
func NewTwinningMongoRepository(db *mongo.Database, opts mongox.StoreOptions) *TwinningRepository {
	events := mongox.EncodeChanges((*twinning.Twinning).Changes, EncodeTwinningEvent)
	store := &mongoTwinnings{mongox.NewAggregateStore(db.Collection(TwinningsCollection), twinningAggregate(events), opts)}
	return &TwinningRepository{twinningStore: store, log: &mongoLog{coll: db.Collection(LogCollection), locks: opts.Locks}}
}

// GetByCode finds a twinning by its unique code.
func (r *mongoTwinnings) GetByCode(ctx context.Context, code string) (*twinning.Twinning, error) {
	return r.FindOne(ctx, bson.D{{Key: "code", Value: code}}, code)
}

// List reads a page of twinnings, newest first.
func (r *mongoTwinnings) List(ctx context.Context, f twinning.Filter, after *paging.Cursor, limit int) ([]*twinning.Twinning, error) {
	filter := bson.D{}
	for _, kv := range [][2]string{
		{"status", f.Status.String()}, {"organization_ids", f.OrganizationID}, {"practice_ids", f.PracticeID},
		{"programme_name", f.Programme}, {"territory_codes", f.TerritoryCode},
	} {
		if kv[1] != "" {
			filter = append(filter, bson.E{Key: kv[0], Value: kv[1]})
		}
	}
	if f.Status.IsZero() {
		// A deleted draft is a tombstone: no list shows it.
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$ne", Value: twinning.Deleted.String()}}})
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

// mongoLog is the twinnings' log in MongoDB.
type mongoLog struct {
	coll  *mongo.Collection
	locks *doclock.Locks
}

// put copies each entry unless the log has it at the same or a newer rev.
func (l *mongoLog) put(ctx context.Context, entries []logEntryDoc) error {
	for _, e := range entries {
		if err := l.putOne(ctx, e); err != nil {
			return fmt.Errorf("copy %s to the twinning log: %w", e.ID, err)
		}
	}
	return nil
}

// maxPutRounds bounds a copy that keeps meeting newer copies of others.
const maxPutRounds = 4

// putOne reads the entry's rev by _id first: most copies find the entry
// there already (a window dropping what was copied after its write) or
// find nothing and insert, and neither needs more than a lookup by _id,
// which the embedded FerretDB does without scanning the collection. Only
// a newer content replaces the stored one, on the condition that the rev
// read is still the stored one.
func (l *mongoLog) putOne(ctx context.Context, e logEntryDoc) error {
	for round := 0; round < maxPutRounds; round++ {
		var stored struct {
			Rev int64 `bson:"rev"`
		}
		err := l.coll.FindOne(ctx, bson.D{{Key: mongox.IDField, Value: e.ID}}, options.FindOne().SetProjection(bson.D{{Key: "rev", Value: 1}})).Decode(&stored)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			if _, err := l.coll.InsertOne(ctx, e); !mongox.IsDuplicateKey(err) {
				return err
			}
			continue // another copy came first: compare with it
		case err != nil:
			return err
		case stored.Rev >= e.Rev:
			return nil // the same content, or newer
		}
		replaced, err := l.replaceIfRev(ctx, e, stored.Rev)
		if err != nil || replaced {
			return err
		}
	}
	return errors.New("it keeps changing")
}

// replaceIfRev replaces the stored entry with e if its rev is still rev.
// On MongoDB (no locks) the condition is in the filter, atomic by itself.
// With document locks (the embedded FerretDB, which scans the whole log
// for any filter but exactly {_id}), the rev is read again by _id under
// the entry's lock, which every writer of it holds, and the replace is
// filtered by _id alone.
func (l *mongoLog) replaceIfRev(ctx context.Context, e logEntryDoc, rev int64) (bool, error) {
	byID := bson.D{{Key: mongox.IDField, Value: e.ID}}
	if l.locks == nil {
		res, err := l.coll.ReplaceOne(ctx, append(byID, bson.E{Key: "rev", Value: rev}), e)
		return err == nil && res.MatchedCount == 1, err
	}
	unlock, err := l.locks.Acquire(ctx, l.coll.Name(), e.ID)
	if err != nil {
		return false, err
	}
	defer unlock()
	var stored struct {
		Rev int64 `bson:"rev"`
	}
	err = l.coll.FindOne(ctx, byID, options.FindOne().SetProjection(bson.D{{Key: "rev", Value: 1}})).Decode(&stored)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil // deleted meanwhile: the next round inserts
	case err != nil:
		return false, err
	case stored.Rev != rev:
		return false, nil // another copy came first: compare with it
	}
	res, err := l.coll.ReplaceOne(ctx, byID, e)
	return err == nil && res.MatchedCount == 1, err
}

func (l *mongoLog) get(ctx context.Context, id string) (*logEntryDoc, error) {
	var e logEntryDoc
	err := l.coll.FindOne(ctx, bson.D{{Key: mongox.IDField, Value: id}}).Decode(&e)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the twinning log: %w", err)
	}
	return &e, nil
}

func (l *mongoLog) page(ctx context.Context, twinningID, kind, parent, afterKey string, limit int) ([]logEntryDoc, error) {
	filter := bson.D{{Key: "twinning_id", Value: twinningID}, {Key: "kind", Value: kind}, {Key: "parent", Value: parent},
		{Key: mongox.SortKeyField, Value: bson.D{{Key: "$gt", Value: afterKey}}}}
	opts := options.Find().SetSort(bson.D{{Key: mongox.SortKeyField, Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := l.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("read the twinning log: %w", err)
	}
	var out []logEntryDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read the twinning log: %w", err)
	}
	return out, nil
}
