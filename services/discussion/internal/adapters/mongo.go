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

// Collection names of the discussion's database.
const (
	MembersCollection       = "members"
	LoginAttemptsCollection = "login_attempts"
	ThreadsCollection       = "threads"
	PostsCollection         = "posts"
	StoriesCollection       = "stories"
	SessionsCollection      = "sessions"
)

// OutboxCollections hold aggregates with pending events: the relay reads them.
var OutboxCollections = []string{MembersCollection, ThreadsCollection, PostsCollection, StoriesCollection}

// EnsureIndexes creates every index the discussion's queries use.
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	indexes := map[string][]mongo.IndexModel{
		MembersCollection: {
			{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)},
			{Keys: bson.D{{Key: "sort_key", Value: -1}}},
		},
		ThreadsCollection: {
			{Keys: bson.D{{Key: "sort_key", Value: -1}}},
			{Keys: bson.D{{Key: "scope", Value: 1}, {Key: "scope_id", Value: 1}, {Key: "sort_key", Value: -1}}},
		},
		PostsCollection: {
			{Keys: bson.D{{Key: "thread_id", Value: 1}, {Key: "sort_key", Value: 1}}},
			{Keys: bson.D{{Key: "needs_review", Value: 1}, {Key: "sort_key", Value: 1}}},
		},
		StoriesCollection: {
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "sort_key", Value: -1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "twinning_id", Value: 1}, {Key: "sort_key", Value: -1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "practice_id", Value: 1}, {Key: "sort_key", Value: -1}}},
		},
	}
	for _, name := range []string{MembersCollection, ThreadsCollection, PostsCollection, StoriesCollection} {
		if err := mongox.EnsureIndexes(ctx, db.Collection(name), indexes[name]...); err != nil {
			return err
		}
	}
	return ensureExpiryIndexes(ctx, db)
}

// versionedDoc is what the generic store needs of a document type.
type versionedDoc interface {
	memberDoc | threadDoc | postDoc | storyDoc | attemptsDoc | sessionDoc
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

func newDocStore[D versionedDoc](db *mongo.Database, collection, what string, notify func(), locks *doclock.Locks) docStore[D] {
	if notify == nil {
		notify = func() {}
	}
	return docStore[D]{coll: db.Collection(collection), what: what, notify: notify, locks: locks}
}

// lock serialises this process's writes to one document (see doclock):
// the embedded FerretDB does not make a conditioned replace atomic.
func (s docStore[D]) lock(id string) func() { return s.locks.Lock(s.coll.Name(), id) }

// errDuplicate is a unique-index violation; callers say which one.
var errDuplicate = errors.New("duplicate key")

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

// update is the load–decide–save loop of every repository's Update: fn
// turns the stored document into the next one (or refuses), the write
// keeps the pending events of the stored one, and a lost race reloads.
func (s docStore[D]) update(ctx context.Context, id string, notFound func() error, fn func(stored D) (next D, err error)) (D, error) {
	defer s.lock(id)()
	var zero D
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc, err := s.find(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return zero, err
		}
		if doc == nil {
			return zero, notFound()
		}
		next, err := fn(*doc)
		if err != nil {
			return zero, err
		}
		ok, err := s.replace(ctx, id, versionOf(*doc), next)
		if err != nil {
			return zero, err
		}
		if ok {
			return next, nil
		}
	}
	return zero, apperr.Aborted("%s %s is being changed by others right now: retry", s.what, id)
}

// list reads one page ordered by sort_key.
func (s docStore[D]) list(ctx context.Context, filter bson.D, after *paging.Cursor, ascending bool, limit int, projection bson.D) ([]D, error) {
	dir, op := -1, "$lt"
	if ascending {
		dir, op = 1, "$gt"
	}
	if after != nil {
		filter = append(filter, bson.E{Key: "sort_key", Value: bson.D{{Key: op, Value: after.Key}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "sort_key", Value: dir}}).SetLimit(int64(limit))
	if projection != nil {
		opts.SetProjection(projection)
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

func versionOf(doc any) int64 {
	switch d := doc.(type) {
	case memberDoc:
		return d.Version
	case threadDoc:
		return d.Version
	case postDoc:
		return d.Version
	case storyDoc:
		return d.Version
	case attemptsDoc:
		return d.Version
	case sessionDoc:
		return d.Version
	}
	panic(fmt.Sprintf("versionOf %T", doc))
}

// withRecords appends the encoded events to those still waiting.
func withRecords(pending []outbox.Record, add []outbox.Record) []outbox.Record {
	out := make([]outbox.Record, 0, len(pending)+len(add))
	out = append(out, pending...)
	return append(out, add...)
}

// encodeAll encodes the recorded changes of one aggregate.
func encodeAll[C any](what, id string, changes []C, encode func(C) (outbox.Record, error)) ([]outbox.Record, error) {
	var out []outbox.Record
	for _, c := range changes {
		rec, err := encode(c)
		if err != nil {
			return nil, fmt.Errorf("encode event of %s %s: %w", what, id, err)
		}
		out = append(out, rec)
	}
	return out, nil
}
