// Package login throttles password guessing. Failed log-ins are counted per
// key (one key for the e-mail address, one for the account), in the
// database so that every replica sees them. After a few free failures each
// further attempt must wait a delay that doubles, and after more failures
// the key is locked for a while. A throttled attempt is refused at once,
// before any password is hashed: nobody waits on the server, and an attack
// costs the server almost nothing.
package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Policy says how failures are punished.
type Policy struct {
	// FreeFailures are allowed before any delay.
	FreeFailures int
	// BaseDelay is the wait after the first failure beyond the free ones;
	// it doubles with each further failure, up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// LockAfter failures lock the key for LockDuration.
	LockAfter    int
	LockDuration time.Duration
	// Window: failures are forgotten when the last one is older than this
	// (and no lock is running).
	Window time.Duration
}

// DefaultPolicy: three free failures, then 1s, 2s, 4s … up to 1m between
// attempts, and after ten failures a 15-minute lock.
func DefaultPolicy() Policy {
	return Policy{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: time.Minute, LockAfter: 10, LockDuration: 15 * time.Minute, Window: 15 * time.Minute}
}

// Validate reports every problem at once.
func (p Policy) Validate() error {
	var errs []error
	if p.FreeFailures < 1 {
		errs = append(errs, fmt.Errorf("free failures %d: must be at least 1", p.FreeFailures))
	}
	if p.BaseDelay <= 0 || p.MaxDelay < p.BaseDelay {
		errs = append(errs, fmt.Errorf("delays %s..%s: the base must be positive and at most the maximum", p.BaseDelay, p.MaxDelay))
	}
	if p.LockAfter <= p.FreeFailures {
		errs = append(errs, fmt.Errorf("lock after %d failures: must be more than the %d free ones", p.LockAfter, p.FreeFailures))
	}
	if p.LockDuration < p.MaxDelay {
		errs = append(errs, fmt.Errorf("lock duration %s: must be at least the maximum delay %s", p.LockDuration, p.MaxDelay))
	}
	if p.Window < p.MaxDelay {
		errs = append(errs, fmt.Errorf("window %s: must be at least the maximum delay %s", p.Window, p.MaxDelay))
	}
	return errors.Join(errs...)
}

// delayAfter is how long a key is blocked after its n-th failure.
func (p Policy) delayAfter(n int) time.Duration {
	switch {
	case n >= p.LockAfter:
		return p.LockDuration
	case n <= p.FreeFailures:
		return 0
	}
	exp := n - p.FreeFailures - 1
	if exp > 30 {
		return p.MaxDelay
	}
	d := p.BaseDelay * time.Duration(1<<exp)
	if d > p.MaxDelay || d <= 0 {
		return p.MaxDelay
	}
	return d
}

// Attempts are the recent failures of one key.
type Attempts struct {
	Key          string
	Failures     int
	LastFailure  time.Time
	BlockedUntil time.Time
	// ExpireAt is when the record may be forgotten: nothing it says matters
	// once both the block and the window have passed. A TTL index uses it.
	ExpireAt time.Time
	Version  int64
}

// EmailKey is the key of an e-mail address (normalised), whether or not a
// member has it.
func EmailKey(email string) string { return "email:" + email }

// AccountKey is the key of a member's account.
func AccountKey(memberID string) string { return "account:" + memberID }

// UnknownAccountKey stands for the account of an e-mail address nobody
// registered, so that a log-in with an unknown address does the same work
// as one with a known address.
func UnknownAccountKey(email string) string {
	sum := sha256.Sum256([]byte("gemella-unknown-account\x00" + email))
	return "account:unknown-" + hex.EncodeToString(sum[:12])
}

// Begin admits one attempt or refuses it. An admitted attempt is counted as
// a failure at once, before the password is checked, so that concurrent
// guesses cannot all slip in before the first is counted; a success then
// resets the key. A refusal is ResourceExhausted and counts nothing.
func (a *Attempts) Begin(p Policy, now time.Time) error {
	if now.Before(a.BlockedUntil) {
		return ErrThrottled(a.BlockedUntil.Sub(now))
	}
	if !a.LastFailure.IsZero() && now.Sub(a.LastFailure) > p.Window {
		a.Failures = 0
	}
	a.Failures++
	a.LastFailure = now
	if d := p.delayAfter(a.Failures); d > 0 {
		a.BlockedUntil = now.Add(d)
	}
	a.ExpireAt = a.LastFailure.Add(p.Window)
	if a.BlockedUntil.After(a.ExpireAt) {
		a.ExpireAt = a.BlockedUntil
	}
	return nil
}

// ErrThrottled is the error of a refused attempt. It says when to come back
// and nothing about whether the address is registered.
func ErrThrottled(retryAfter time.Duration) error {
	secs := int64(math.Ceil(retryAfter.Seconds()))
	return apperr.ResourceExhausted("too many failed log-ins: try again in %ds", max(secs, 1)).
		WithReason(apperr.ReasonLoginThrottled).WithRetryAfter(time.Duration(max(secs, 1)) * time.Second)
}

// Repository stores attempts.
type Repository interface {
	// Update loads the attempts of key (zero ones when none are stored),
	// applies fn and saves atomically; fn may run more than once. An error
	// from fn saves nothing.
	Update(ctx context.Context, key string, fn func(a *Attempts) error) (*Attempts, error)
	// Reset forgets the attempts of the keys.
	Reset(ctx context.Context, keys ...string) error
}
