package adapters

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
)

// The log-in attempts live in MongoDB, so that every replica of the
// service counts the same failures; the first write of a key inserts it,
// and a concurrent first write (another replica) makes this one reload.

// Update implements login.Repository.
func (r *LoginMongoRepository) Update(ctx context.Context, key string, fn func(*login.Attempts) error) (*login.Attempts, error) {
	return r.Upsert(ctx, key, freshAttempts(key), fn)
}

// Reset implements login.Repository.
func (r *LoginMongoRepository) Reset(ctx context.Context, keys ...string) error {
	return resetEach(ctx, r.Delete, keys)
}

func freshAttempts(key string) func() *login.Attempts {
	return func() *login.Attempts { return &login.Attempts{Key: key} }
}

// resetEach deletes one key at a time: two keys may share a lock stripe,
// and a stripe locked twice by one goroutine would never unlock.
func resetEach(ctx context.Context, del func(context.Context, string) error, keys []string) error {
	for _, key := range keys {
		if err := del(ctx, key); err != nil {
			return err
		}
	}
	return nil
}
