package auth

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A token is valid until it expires, whoever checks it: the services verify
// signatures, not sessions. So that a log-out ends a session's tokens at
// every service at once, the ended session's id is put in a NATS key-value
// bucket that every service watches (RevocationBucket); the Verifier of
// each refuses tokens of a session in its Revocations. A watch is pushed,
// so a revocation reaches every replica of every service within
// milliseconds while NATS is up; an entry outlives every token of its
// session (until), then the bucket's TTL removes it.

// RevocationBucket is the NATS key-value bucket of ended sessions: key the
// session id, value the time (RFC 3339) after which no token of that
// session can still be valid.
const RevocationBucket = "AUTH_REVOKED_SESSIONS"

// RevocationTTL bounds how long the bucket keeps an entry: longer than the
// maximum session age (12 hours by default) plus a token's lifetime.
const RevocationTTL = 48 * time.Hour

// Revocations is the set of ended sessions a service knows of. The zero
// value is not usable: make one with NewRevocations.
type Revocations struct {
	mu    sync.RWMutex
	until map[string]time.Time
	now   func() time.Time
}

// NewRevocations returns an empty set.
func NewRevocations() *Revocations {
	return &Revocations{until: map[string]time.Time{}, now: time.Now}
}

// Add records that the session's tokens are refused until until.
func (r *Revocations) Add(sessionID string, until time.Time) {
	if sessionID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.until[sessionID]; !ok || until.After(prev) {
		r.until[sessionID] = until
	}
	if len(r.until)%1024 == 0 {
		r.pruneLocked()
	}
}

// Revoked reports whether tokens of the session are refused now.
func (r *Revocations) Revoked(sessionID string) bool {
	if r == nil || sessionID == "" {
		return false
	}
	r.mu.RLock()
	until, ok := r.until[sessionID]
	r.mu.RUnlock()
	return ok && r.now().Before(until)
}

// Len is the number of sessions recorded, expired ones included until
// they are pruned.
func (r *Revocations) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.until)
}

func (r *Revocations) pruneLocked() {
	now := r.now()
	for id, until := range r.until {
		if !now.Before(until) {
			delete(r.until, id)
		}
	}
}

// ErrSessionEnded is why a verifier refuses a token whose session was
// logged out; it wraps ErrInvalidToken.
var ErrSessionEnded = fmt.Errorf("%w: the session was logged out: log in again", ErrInvalidToken)

// WithRevocations returns a copy of the verifier that also refuses the
// tokens of the sessions in r.
func (v *Verifier) WithRevocations(r *Revocations) *Verifier {
	c := *v
	c.revocations = r
	return &c
}

// OpenRevocations creates (or finds) the bucket with the given replicas.
func OpenRevocations(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      RevocationBucket,
		Description: "Ended sessions: every service refuses their tokens",
		TTL:         RevocationTTL,
		History:     1,
		Replicas:    max(replicas, 1),
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("open the %s bucket: %w", RevocationBucket, err)
	}
	return kv, nil
}

// Revoke puts an ended session in the bucket.
func Revoke(ctx context.Context, kv jetstream.KeyValue, sessionID string, until time.Time) error {
	if _, err := kv.Put(ctx, revocationKey(sessionID), []byte(until.UTC().Format(time.RFC3339Nano))); err != nil {
		return fmt.Errorf("revoke session %s: %w", sessionID, err)
	}
	return nil
}

// WatchRevocations keeps r in step with the bucket: first every entry
// already there, then each new one as it is put. It returns when ctx ends
// (nil) or the watch fails.
func WatchRevocations(ctx context.Context, kv jetstream.KeyValue, r *Revocations) error {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("watch the %s bucket: %w", RevocationBucket, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("the revocation watch stopped")
			}
			if e == nil {
				continue // every entry that was there has been read
			}
			until, err := time.Parse(time.RFC3339Nano, string(e.Value()))
			if err != nil {
				continue // not ours; nothing to refuse
			}
			r.Add(sessionOfKey(e.Key()), until)
		}
	}
}

// NATS keys allow letters, digits and -/_=.; session ids made of those
// are their own key, any other is hex-encoded behind a prefix.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_=-]+$`)

const hexKeyPrefix = "x."

func revocationKey(sessionID string) string {
	if plainKey.MatchString(sessionID) {
		return sessionID
	}
	return hexKeyPrefix + hex.EncodeToString([]byte(sessionID))
}

func sessionOfKey(key string) string {
	if len(key) > len(hexKeyPrefix) && key[:len(hexKeyPrefix)] == hexKeyPrefix {
		if b, err := hex.DecodeString(key[len(hexKeyPrefix):]); err == nil {
			return string(b)
		}
	}
	return key
}
