// Package onetime is the single-use links an account is mailed: one to
// verify the e-mail address given at sign-up, one to set a new password.
// The link carries a random secret; only its SHA-256 is stored (as the
// record's id), so a copy of the database opens no account. A link works
// once and until it expires; its record is kept a while after that, so
// that a second click is told "already used" or "expired" rather than
// "unknown".
package onetime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Purpose is what a link does; callers cannot invent one.
type Purpose struct{ s string }

var (
	PurposeVerifyEmail   = Purpose{"verify_email"}
	PurposeResetPassword = Purpose{"reset_password"}
)

func (p Purpose) String() string { return p.s }

// ParsePurpose returns the purpose named s, or false.
func ParsePurpose(s string) (Purpose, bool) {
	for _, p := range []Purpose{PurposeVerifyEmail, PurposeResetPassword} {
		if p.s == s {
			return p, true
		}
	}
	return Purpose{}, false
}

// KeepAfterExpiry is how long a record outlives its link, so that a late
// or repeated click gets a clear answer.
const KeepAfterExpiry = 7 * 24 * time.Hour

// Token is the stored half of a link.
type Token struct {
	// ID is the hex SHA-256 of the secret.
	ID       string
	Purpose  Purpose
	MemberID string
	// Email is the address the link was mailed to: verifying it verifies
	// this address, not one the member changed to since.
	Email     string
	CreatedAt time.Time
	// ValidUntil is when the link stops working.
	ValidUntil time.Time
	// UsedAt is when the link was used; zero while unused.
	UsedAt time.Time
	// ExpireAt is when the record may be deleted (a TTL index uses it).
	ExpireAt time.Time
	Version  int64
}

// New makes a link for a member: the secret to mail, and the token to
// store.
func New(p Purpose, memberID, email string, now time.Time, ttl time.Duration) (secret string, t *Token, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	t = &Token{ID: Hash(secret), Purpose: p, MemberID: memberID, Email: email, CreatedAt: now,
		ValidUntil: now.Add(ttl), ExpireAt: now.Add(ttl + KeepAfterExpiry)}
	return secret, t, nil
}

// Hash is the id of the token a secret belongs to.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte("gemella-onetime\x00" + secret))
	return hex.EncodeToString(sum[:])
}

// Use spends the link for purpose p at now.
func (t *Token) Use(p Purpose, now time.Time) error {
	switch {
	case t.Purpose != p:
		return ErrInvalid()
	case !t.UsedAt.IsZero():
		return ErrUsed()
	case !now.Before(t.ValidUntil):
		return ErrExpired()
	}
	t.UsedAt = now
	return nil
}

// ErrInvalid answers a link nobody issued (or one deleted long after it
// expired).
func ErrInvalid() error {
	return apperr.InvalidBecause("token", apperr.ReasonLinkInvalid, "is not a valid link: ask for a new one")
}

// ErrUsed answers a link used before.
func ErrUsed() error {
	return apperr.FailedPrecondition("this link has already been used: ask for a new one").WithReason(apperr.ReasonLinkUsed)
}

// ErrExpired answers a link past its validity.
func ErrExpired() error {
	return apperr.FailedPrecondition("this link has expired: ask for a new one").WithReason(apperr.ReasonLinkExpired)
}

// Repository stores tokens.
type Repository interface {
	// Create stores a new token.
	Create(ctx context.Context, t *Token) error
	// Update loads the token, applies fn and saves it under optimistic
	// concurrency, so that two uses of one link cannot both succeed;
	// ErrInvalid when there is none.
	Update(ctx context.Context, id string, fn func(*Token) error) (*Token, error)
}
