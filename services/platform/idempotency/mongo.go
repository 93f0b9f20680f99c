package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
)

// Collection is where a service's database keeps its keys.
const Collection = "idempotency_keys"

// MongoStore keeps keys in a service's own database, so that every replica
// sees them.
type MongoStore struct {
	coll  *mongo.Collection
	locks *doclock.Locks
}

// NewMongoStore keeps keys in db's idempotency_keys collection. locks are
// the process's document locks (mongox.DocLocks): set for the embedded
// FerretDB, whose deletes read then write, nil for MongoDB.
func NewMongoStore(db *mongo.Database, locks *doclock.Locks) *MongoStore {
	return &MongoStore{coll: db.Collection(Collection), locks: locks}
}

// keyDoc is one key. The caller, method and request id are kept for
// whoever reads the collection; the _id is their digest.
type keyDoc struct {
	ID          string    `bson:"_id"`
	Caller      string    `bson:"caller"`
	Method      string    `bson:"method"`
	RequestID   string    `bson:"request_id"`
	ResourceID  string    `bson:"resource_id"`
	Fingerprint string    `bson:"fingerprint"`
	CreatedAt   time.Time `bson:"created_at"`
	ExpiresAt   time.Time `bson:"expires_at"`
}

func (d keyDoc) record() Record {
	return Record{ResourceID: d.ResourceID, Fingerprint: d.Fingerprint, ExpiresAt: d.ExpiresAt}
}

// errCodeNotImplemented is what FerretDB answers a TTL index with.
const errCodeNotImplemented = 238

// EnsureIndexes makes MongoDB delete expired keys itself (a TTL index on
// expires_at). FerretDB has no TTL indexes: there a plain index serves the
// sweep of Keys.Run.
func (s *MongoStore) EnsureIndexes(ctx context.Context) error {
	ttl := mongo.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(0)}
	err := mongox.EnsureIndexes(ctx, s.coll, ttl)
	var se mongo.ServerError
	if errors.As(err, &se) && se.HasErrorCode(errCodeNotImplemented) {
		return mongox.EnsureIndexes(ctx, s.coll, mongo.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}}})
	}
	return err
}

// maxClaimRounds bounds a claim that keeps finding an expired key that
// someone else replaces, which takes two or three rounds at most.
const maxClaimRounds = 4

// Claim implements Store: the insert of the key's _id decides between two
// concurrent first calls; an expired key is deleted, only if it is still
// the expired one, and claimed again.
func (s *MongoStore) Claim(ctx context.Context, key Key, rec Record, now time.Time) (Record, error) {
	doc := keyDoc{
		ID: key.id(), Caller: key.Caller, Method: key.Method, RequestID: key.RequestID,
		ResourceID: rec.ResourceID, Fingerprint: rec.Fingerprint,
		CreatedAt: now.UTC().Truncate(time.Millisecond), ExpiresAt: rec.ExpiresAt.UTC().Truncate(time.Millisecond),
	}
	for round := 0; round < maxClaimRounds; round++ {
		_, err := s.coll.InsertOne(ctx, doc)
		if err == nil {
			return doc.record(), nil
		}
		if !mongox.IsDuplicateKey(err) {
			return Record{}, fmt.Errorf("record idempotency key: %w", err)
		}
		var held keyDoc
		err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}).Decode(&held)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // released or swept in between
		}
		if err != nil {
			return Record{}, fmt.Errorf("read idempotency key: %w", err)
		}
		if held.ExpiresAt.After(now) {
			return held.record(), nil
		}
		if _, err := s.delete(ctx, bson.D{{Key: "_id", Value: doc.ID}, {Key: "expires_at", Value: held.ExpiresAt}}, doc.ID); err != nil {
			return Record{}, err
		}
	}
	return Record{}, errors.New("record idempotency key: the key keeps changing; retry")
}

// Release implements Store.
func (s *MongoStore) Release(ctx context.Context, key Key, resourceID string) error {
	id := key.id()
	_, err := s.delete(ctx, bson.D{{Key: "_id", Value: id}, {Key: "resource_id", Value: resourceID}}, id)
	return err
}

// delete removes the key filter still matches. Under the document lock:
// the embedded FerretDB reads the match and then deletes by _id, which
// without it could delete a key claimed in between.
func (s *MongoStore) delete(ctx context.Context, filter bson.D, id string) (bool, error) {
	unlock, err := s.locks.Acquire(ctx, s.coll.Name(), id)
	if err != nil {
		return false, fmt.Errorf("delete idempotency key: %w", err)
	}
	defer unlock()
	res, err := s.coll.DeleteOne(ctx, filter)
	if err != nil {
		return false, fmt.Errorf("delete idempotency key: %w", err)
	}
	return res.DeletedCount > 0, nil
}

// sweepBatch bounds one read of a sweep.
const sweepBatch = 500

// Sweep implements Store, one key at a time so that each delete is
// conditioned on the key being still expired (see delete).
func (s *MongoStore) Sweep(ctx context.Context, now time.Time) (int, error) {
	expired := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now.UTC()}}}}
	deleted := 0
	for {
		cur, err := s.coll.Find(ctx, expired, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(sweepBatch))
		if err != nil {
			return deleted, fmt.Errorf("find expired idempotency keys: %w", err)
		}
		var ids []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &ids); err != nil {
			return deleted, fmt.Errorf("find expired idempotency keys: %w", err)
		}
		batch := 0
		for _, k := range ids {
			gone, err := s.delete(ctx, append(bson.D{{Key: "_id", Value: k.ID}}, expired...), k.ID)
			if err != nil {
				return deleted, err
			}
			if gone {
				batch++
			}
		}
		deleted += batch
		if len(ids) < sweepBatch || batch == 0 {
			return deleted, nil
		}
	}
}
