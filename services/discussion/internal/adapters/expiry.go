package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
)

// What expires. Log-in records and sessions carry expire_at, the moment
// nothing they say matters any more (login.Attempts.ExpireAt,
// session.Session.ExpireAt): an expired log-in record admits every attempt
// and an expired session refuses every refresh, so deleting them changes
// no answer; it only keeps the collections from growing with every log-in.
//
// MongoDB deletes them itself, through a TTL index on expire_at (its
// monitor runs about once a minute). FerretDB v1 has no TTL indexes: it
// refuses expireAfterSeconds with NotImplemented (code 238; see
// msg_createindexes.go in FerretDB v1.24), so there a plain index on
// expire_at serves a periodic sweep (Sweeper).
const expireField = "expire_at"

// ExpiringCollections are the collections whose records carry expire_at.
var ExpiringCollections = []string{LoginAttemptsCollection, SessionsCollection, OnetimeCollection}

// Server error codes: what FerretDB answers a TTL index with, and what a
// listing of a collection that does not exist yet gets.
const (
	errCodeNotImplemented    = 238
	errCodeNamespaceNotFound = 26
)

// ensureExpiryIndexes creates the TTL index on expire_at of every expiring
// collection, or, where the store has no TTL indexes, a plain one for the
// sweep.
func ensureExpiryIndexes(ctx context.Context, db *mongo.Database) error {
	for _, name := range ExpiringCollections {
		coll := db.Collection(name)
		ttl := mongo.IndexModel{Keys: bson.D{{Key: expireField, Value: 1}}, Options: options.Index().SetExpireAfterSeconds(0)}
		err := mongox.EnsureIndexes(ctx, coll, ttl)
		var se mongo.ServerError
		if errors.As(err, &se) && se.HasErrorCode(errCodeNotImplemented) {
			err = mongox.EnsureIndexes(ctx, coll, mongo.IndexModel{Keys: bson.D{{Key: expireField, Value: 1}}})
		}
		if err != nil {
			return fmt.Errorf("expiry index of %s: %w", name, err)
		}
	}
	return nil
}

// Sweeper deletes expired log-in records and sessions where the store does
// not (FerretDB). Every replica may run one at the same time: a delete
// names one record and is conditioned on its expire_at having passed, so
// two sweepers deleting the same record delete it once, and neither can
// delete a record that a write has just given a later expire_at.
type Sweeper struct {
	db    *mongo.Database
	locks *doclock.Locks
	// Batch bounds one read of expired records, and so the memory and the
	// time one round of a sweep takes; 500 when zero.
	Batch int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// NewSweeper sweeps db's expiring collections. locks are the process's
// document locks, which the repositories take around their writes: the
// embedded FerretDB reads a delete's match and then deletes by _id, so
// without them a sweep could delete a record written in between.
func NewSweeper(db *mongo.Database, locks *doclock.Locks) *Sweeper {
	return &Sweeper{db: db, locks: locks}
}

const (
	defaultSweepBatch = 500
	// sweepTimeout bounds one sweep; what is left waits for the next one.
	sweepTimeout = time.Minute
)

// Needed lists the expiring collections that have no TTL index on
// expire_at, which the store would honour: those the sweep must clear.
func (s *Sweeper) Needed(ctx context.Context) ([]string, error) {
	var out []string
	for _, name := range ExpiringCollections {
		specs, err := s.db.Collection(name).Indexes().ListSpecifications(ctx)
		var se mongo.ServerError
		if errors.As(err, &se) && se.HasErrorCode(errCodeNamespaceNotFound) {
			specs, err = nil, nil // not created yet: nothing makes it expire
		}
		if err != nil {
			return nil, fmt.Errorf("indexes of %s: %w", name, err)
		}
		if !hasTTLIndex(specs) {
			out = append(out, name)
		}
	}
	return out, nil
}

func hasTTLIndex(specs []mongo.IndexSpecification) bool {
	for _, spec := range specs {
		if spec.ExpireAfterSeconds == nil {
			continue
		}
		var keys bson.D
		if err := bson.Unmarshal(spec.KeysDocument, &keys); err == nil && len(keys) == 1 && keys[0].Key == expireField {
			return true
		}
	}
	return false
}

// Sweep deletes the records of collections whose expire_at is not after
// now, batch by batch, and says how many it deleted.
func (s *Sweeper) Sweep(ctx context.Context, now time.Time, collections ...string) (int, error) {
	deleted := 0
	for _, name := range collections {
		n, err := s.sweep(ctx, s.db.Collection(name), now.UTC())
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("sweep expired %s: %w", name, err)
		}
	}
	return deleted, nil
}

func (s *Sweeper) sweep(ctx context.Context, coll *mongo.Collection, now time.Time) (int, error) {
	batch := s.Batch
	if batch <= 0 {
		batch = defaultSweepBatch
	}
	expired := bson.E{Key: expireField, Value: bson.D{{Key: "$lte", Value: now}}}
	// Read in expire_at order through the index; a record a write revives
	// meanwhile is skipped by its delete's condition.
	find := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).
		SetSort(bson.D{{Key: expireField, Value: 1}}).SetLimit(int64(batch))
	deleted := 0
	for {
		cur, err := coll.Find(ctx, bson.D{expired}, find)
		if err != nil {
			return deleted, err
		}
		var ids []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &ids); err != nil {
			return deleted, err
		}
		round := 0
		for _, rec := range ids {
			unlock := s.locks.Lock(coll.Name(), rec.ID)
			res, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: rec.ID}, expired})
			unlock()
			if err != nil {
				return deleted, err
			}
			round += int(res.DeletedCount)
		}
		deleted += round
		// A short batch was the last; a batch of which nothing could be
		// deleted (another sweeper got there first) ends this round too,
		// so that two sweepers never chase each other.
		if len(ids) < batch || round == 0 {
			return deleted, nil
		}
	}
}

// Run sweeps every interval until ctx ends, then returns nil, where the
// store does not expire records itself; where it does (MongoDB, TTL
// indexes) it only waits for ctx. A failed sweep is logged and tried again
// at the next tick: expired records harm nothing while they wait.
func (s *Sweeper) Run(ctx context.Context, interval time.Duration, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	var needed []string
	for {
		var err error
		needed, err = s.Needed(ctx)
		if err == nil {
			break
		}
		logger.Warn("cannot tell whether the store expires log-in records and sessions; asking again", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
	if len(needed) == 0 {
		logger.Debug("the store expires log-in records and sessions itself (TTL indexes): no sweep")
		<-ctx.Done()
		return nil
	}
	logger.Info("no TTL index on this store: sweeping expired records", "collections", needed, "interval", interval.String())
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		sweepCtx, cancel := context.WithTimeout(ctx, sweepTimeout)
		n, err := s.Sweep(sweepCtx, now(), needed...)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("sweeping expired records failed; they wait for the next sweep", "err", err, "deleted", n)
		case n > 0:
			logger.Debug("swept expired records", "deleted", n)
		}
	}
}
