// Package idempotency makes a create with a request_id happen once per
// caller (AIP-155). A key is (caller, method, request_id): the same caller
// retrying the same method with the same request_id and the same body gets
// the resource the first call made; the same key with another body is
// refused (AlreadyExists naming request_id, 409 through the gateway);
// another caller's identical request_id is another key and creates its own
// resource. Keys are forgotten after Config.TTL.
//
// The key is recorded before the resource, with the id the resource will
// have, so that a crash between the two cannot make a second resource: a
// retry finds the key, and creates the resource under the recorded id if
// the first call never did. Two concurrent calls race on the key's insert,
// which a unique _id decides, then on the resource's id.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
)

// Config says how long keys are kept; a service embeds it with its prefix
// (GEMELLA_CATALOG_IDEMPOTENCY_TTL, …).
type Config struct {
	// TTL (IDEMPOTENCY_TTL, default 24h) is how long a request_id is
	// remembered: a retry within it gets the first call's resource; after
	// it, the same request_id is a new request and creates a new resource.
	TTL time.Duration `env:"IDEMPOTENCY_TTL" envDefault:"24h"`
	// SweepInterval (IDEMPOTENCY_SWEEP_INTERVAL, default 10m) is how often
	// Run deletes expired keys. MongoDB's TTL index deletes them too; the
	// embedded FerretDB has none, so there only the sweep does. Expired
	// keys count as absent whether deleted yet or not.
	SweepInterval time.Duration `env:"IDEMPOTENCY_SWEEP_INTERVAL" envDefault:"10m"`
	// Now is the clock; time.Now when nil. For tests, never from the
	// environment.
	Now func() time.Time `env:"-"`
}

// Validate reports every problem at once.
func (c Config) Validate(prefix string) error {
	var p config.Problems
	p.Positive(prefix+"IDEMPOTENCY_TTL", c.TTL)
	p.Positive(prefix+"IDEMPOTENCY_SWEEP_INTERVAL", c.SweepInterval)
	return p.Err()
}

func (c Config) withDefaults() Config {
	if c.TTL <= 0 {
		c.TTL = 24 * time.Hour
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Key names one request of one caller.
type Key struct {
	// Caller is who asks, as CallerID gives it.
	Caller string
	// Method is what is asked, e.g. "catalog.CreatePractice".
	Method string
	// RequestID is the caller's idempotency key.
	RequestID string
}

// id is the key's store id: a digest, so that the store's _id is short
// whatever the caller sends.
func (k Key) id() string {
	h := sha256.New()
	for _, part := range []string{k.Caller, k.Method, k.RequestID} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CallerID names a caller in keys: a member by id, a service acting on its
// own by name.
func CallerID(c auth.Caller) string {
	switch {
	case c.IsMember():
		return "member:" + c.MemberID
	case c.Service != "":
		return auth.SystemActorPrefix + c.Service
	}
	return auth.AnonymousActor
}

// Record is what a key remembers.
type Record struct {
	// ResourceID is the id of the resource the key's first call creates.
	ResourceID string
	// Fingerprint is the digest of the first call's body.
	Fingerprint string
	// ExpiresAt is when the key is forgotten.
	ExpiresAt time.Time
}

// Store keeps keys. Implementations: MemoryStore, MongoStore.
type Store interface {
	// Claim records rec under key unless an unexpired record of key
	// exists, and returns the record that holds: rec, or the earlier one.
	Claim(ctx context.Context, key Key, rec Record, now time.Time) (Record, error)
	// Release forgets key if it still names resourceID: the first call
	// failed for good, and nothing was created.
	Release(ctx context.Context, key Key, resourceID string) error
	// Sweep deletes the keys expired at now and says how many.
	Sweep(ctx context.Context, now time.Time) (int, error)
}

// Keys applies the rule over a Store.
type Keys struct {
	store Store
	cfg   Config
}

// New returns the keys kept in store for cfg.TTL.
func New(store Store, cfg Config) *Keys {
	return &Keys{store: store, cfg: cfg.withDefaults()}
}

// Run sweeps expired keys every SweepInterval until ctx ends, then
// returns nil. Every replica may run it: a sweep deletes only what has
// expired, and a key's claim never depends on it.
func (k *Keys) Run(ctx context.Context, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	ticker := time.NewTicker(k.cfg.SweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		sweepCtx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := k.store.Sweep(sweepCtx, k.cfg.Now())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("sweeping expired idempotency keys failed; they stay until the next sweep", slog.Any("error", err))
		case n > 0:
			logger.Debug("swept expired idempotency keys", slog.Int("deleted", n))
		}
	}
}

// Request is one create: its key and its body.
type Request struct {
	Key
	// Body is what the request asks to create, fingerprinted (see
	// Fingerprint): the command's content without the request id and
	// without who sends it.
	Body any
}

// Creator is how Create makes, saves and loads one kind of resource.
type Creator[T any] struct {
	// NewID makes a fresh resource id.
	NewID func() string
	// Build makes the resource with this id and checks it (validation,
	// permission, references), writing nothing. It runs before the key is
	// claimed, so that a refused request claims no key, and again for a
	// retry that must create the resource under the recorded id.
	Build func(ctx context.Context, id string) (T, error)
	// Save writes the resource; a taken id answers AlreadyExists.
	Save func(ctx context.Context, resource T) error
	// Get loads the resource; an unknown id answers NotFound.
	Get func(ctx context.Context, id string) (T, error)
}

// Create makes the resource req asks for at most once per key. Without a
// request id it simply builds and saves.
func Create[T any](ctx context.Context, keys *Keys, req Request, c Creator[T]) (T, error) {
	var zero T
	id := c.NewID()
	resource, err := c.Build(ctx, id)
	if err != nil {
		return zero, err
	}
	if req.RequestID == "" {
		if err := c.Save(ctx, resource); err != nil {
			return zero, err
		}
		return resource, nil
	}
	fingerprint := Fingerprint(req.Body)
	now := keys.cfg.Now()
	rec, err := keys.store.Claim(ctx, req.Key, Record{ResourceID: id, Fingerprint: fingerprint, ExpiresAt: now.Add(keys.cfg.TTL)}, now)
	if err != nil {
		return zero, fmt.Errorf("claim request_id %q: %w", req.RequestID, err)
	}
	if rec.Fingerprint != fingerprint {
		return zero, reused(req.RequestID)
	}
	if rec.ResourceID != id {
		return replay(ctx, c, rec.ResourceID)
	}
	// This call holds the key.
	if err := c.Save(ctx, resource); err != nil {
		if refusedForGood(err) {
			// Nothing was created: free the key for a corrected body.
			if rerr := keys.store.Release(ctx, req.Key, id); rerr != nil {
				err = fmt.Errorf("%w (and releasing request_id %q: %v)", err, req.RequestID, rerr)
			}
		}
		return zero, err
	}
	return resource, nil
}

// replay answers a retry: the first call's resource, created now under
// the recorded id if the first call did not get that far (it crashed, or
// is still on its way: then one of the two saves wins the id).
func replay[T any](ctx context.Context, c Creator[T], id string) (T, error) {
	var zero T
	existing, err := c.Get(ctx, id)
	if err == nil {
		return existing, nil
	}
	if apperr.KindOf(err) != apperr.KindNotFound {
		return zero, err
	}
	resource, err := c.Build(ctx, id)
	if err != nil {
		return zero, err
	}
	err = c.Save(ctx, resource)
	if apperr.KindOf(err) == apperr.KindAlreadyExists {
		if existing, gerr := c.Get(ctx, id); gerr == nil {
			return existing, nil
		}
	}
	if err != nil {
		return zero, err
	}
	return resource, nil
}

// refusedForGood reports an error after which nothing can have been
// written: the domain or the store refused. A timeout or an outage may
// hide a write that happened, so those keep the key.
func refusedForGood(err error) bool {
	switch apperr.KindOf(err) {
	case apperr.KindInvalidArgument, apperr.KindNotFound, apperr.KindAlreadyExists,
		apperr.KindFailedPrecondition, apperr.KindPermissionDenied, apperr.KindUnauthenticated:
		return true
	}
	return false
}

// reused is the answer to a key sent again with another body.
func reused(requestID string) error {
	return &apperr.Error{
		Kind:    apperr.KindAlreadyExists,
		Message: "request_id already used",
		Reason:  apperr.ReasonRequestIDReused,
		Violations: []apperr.FieldViolation{{
			Field:  "request_id",
			Reason: apperr.ReasonRequestIDReused,
			Rule:   fmt.Sprintf("%q was already sent by this caller with a different request: a new request needs a new request_id", requestID),
		}},
	}
}

// Fingerprint is the digest of a request body that a key remembers: the
// SHA-256 of its Go syntax (%#v), which shows unexported fields too (an
// enum such as Kind{s: "region"}, which JSON would drop) and sorts map
// keys. The body must be plain values: a pointer inside would be hashed
// as its address.
func Fingerprint(body any) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%#v", body))
	return hex.EncodeToString(sum[:])
}
