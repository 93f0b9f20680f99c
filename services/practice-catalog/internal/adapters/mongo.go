package adapters

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
)

// maxUpdateAttempts bounds the retries of a versioned write that lost a race.
const maxUpdateAttempts = 5

// Collection names of the catalog's database.
const (
	OrganizationsCollection = "organizations"
	PracticesCollection     = "practices"
)

// EnsureIndexes creates every index the catalog's queries use.
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	if err := EnsureNeedOfferIndexes(ctx, db); err != nil {
		return err
	}
	orgs := db.Collection(OrganizationsCollection)
	if err := mongox.EnsureIndexes(ctx, orgs,
		mongo.IndexModel{Keys: bson.D{{Key: "sort_key", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "sort_key", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "territory.code", Value: 1}, {Key: "sort_key", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "parent_id", Value: 1}, {Key: "sort_key", Value: 1}}},
	); err != nil {
		return err
	}
	practices := db.Collection(PracticesCollection)
	return mongox.EnsureIndexes(ctx, practices,
		mongo.IndexModel{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
		mongo.IndexModel{Keys: bson.D{{Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "themes", Value: 1}, {Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "sectors", Value: 1}, {Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "territory.code", Value: 1}, {Key: "sort_key", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "owner_organization_ids", Value: 1}, {Key: "sort_key", Value: -1}}},
	)
}

// versionedDoc is what the generic store needs of a document type.
type versionedDoc interface {
	organizationDoc | practiceDoc | needDoc | offerDoc
}

// docStore is the shared MongoDB mechanics of an aggregate collection:
// insert, load, versioned replace with the events appended to the outbox
// field of the same document, and keyset listing.
type docStore[D versionedDoc] struct {
	coll   *mongo.Collection
	what   string
	notify func()
	locks  *doclock.Locks
}

// lock serialises this process's writes to one document (see doclock).
func (s docStore[D]) lock(id string) func() { return s.locks.Lock(s.coll.Name(), id) }

func (s docStore[D]) insert(ctx context.Context, doc D) error {
	if _, err := s.coll.InsertOne(ctx, doc); err != nil {
		if mongox.IsDuplicateKey(err) {
			return errDuplicate
		}
		return fmt.Errorf("insert %s: %w", s.what, err)
	}
	s.notify()
	return nil
}

// errDuplicate is a unique-index violation; callers say which one.
var errDuplicate = errors.New("duplicate key")

func (s docStore[D]) find(ctx context.Context, filter bson.D) (*D, error) {
	var doc D
	err := s.coll.FindOne(ctx, filter).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", s.what, err)
	}
	return &doc, nil
}

// replace writes doc if the stored version is still version; false when
// another write got there first.
func (s docStore[D]) replace(ctx context.Context, id string, version int64, doc D) (bool, error) {
	res, err := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version}}, doc)
	if err != nil {
		if mongox.IsDuplicateKey(err) {
			return false, errDuplicate
		}
		return false, fmt.Errorf("save %s %s: %w", s.what, id, err)
	}
	if res.MatchedCount == 0 {
		return false, nil
	}
	s.notify()
	return true, nil
}

func (s docStore[D]) list(ctx context.Context, filter bson.D, after *paging.Cursor, ascending bool, limit int, projection ...bson.E) ([]D, error) {
	dir := -1
	op := "$lt"
	if ascending {
		dir, op = 1, "$gt"
	}
	if after != nil {
		filter = append(filter, bson.E{Key: "sort_key", Value: bson.D{{Key: op, Value: after.Key}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "sort_key", Value: dir}}).SetLimit(int64(limit))
	if len(projection) > 0 {
		opts.SetProjection(bson.D(projection))
	}
	cur, err := s.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.what, err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list %s: %w", s.what, err)
	}
	return docs, nil
}

func tooMuchContention(what, id string) error {
	return apperr.Aborted("%s %s is being changed by others right now: retry", what, id)
}

// withRecords appends the encoded events to those still waiting.
func withRecords(pending []outbox.Record, add []outbox.Record) []outbox.Record {
	out := make([]outbox.Record, 0, len(pending)+len(add))
	out = append(out, pending...)
	return append(out, add...)
}
