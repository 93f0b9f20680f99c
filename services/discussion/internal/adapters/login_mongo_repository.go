package adapters

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
)

// LoginMongoRepository stores failed log-in attempts in MongoDB, so that
// every replica of the service counts the same failures.
type LoginMongoRepository struct {
	store docStore[attemptsDoc]
}

// NewLoginMongoRepository uses db's login_attempts collection.
func NewLoginMongoRepository(db *mongo.Database, locks *doclock.Locks) *LoginMongoRepository {
	return &LoginMongoRepository{store: newDocStore[attemptsDoc](db, LoginAttemptsCollection, "log-in attempts", nil, locks)}
}

// Update implements login.Repository: the first write of a key inserts it,
// and a concurrent first write (another replica) makes this one reload.
func (r *LoginMongoRepository) Update(ctx context.Context, key string, fn func(*login.Attempts) error) (*login.Attempts, error) {
	defer r.store.lock(key)()
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: key}})
		if err != nil {
			return nil, err
		}
		a := &login.Attempts{Key: key}
		if doc != nil {
			a = doc.toDomain()
		}
		if err := fn(a); err != nil {
			return nil, err
		}
		if doc == nil {
			a.Version = 1
			err := r.store.insert(ctx, toAttemptsDoc(a))
			if err == errDuplicate {
				continue
			}
			if err != nil {
				return nil, err
			}
			return a, nil
		}
		a.Version = doc.Version + 1
		ok, err := r.store.replace(ctx, key, doc.Version, toAttemptsDoc(a))
		if err != nil {
			return nil, err
		}
		if ok {
			return a, nil
		}
	}
	return nil, apperr.Aborted("log-in attempts are being counted by others right now: retry")
}

// Reset implements login.Repository.
func (r *LoginMongoRepository) Reset(ctx context.Context, keys ...string) error {
	// One key at a time: two keys may share a lock stripe, and a stripe
	// locked twice by one goroutine would never unlock.
	for _, key := range keys {
		unlock := r.store.lock(key)
		_, err := r.store.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}})
		unlock()
		if err != nil {
			return fmt.Errorf("reset log-in attempts: %w", err)
		}
	}
	return nil
}
