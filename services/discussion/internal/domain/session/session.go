// Package session is a member's log-in, kept server-side so that it can be
// ended. A session starts when the member gives the password; its tokens
// are short-lived and exchanged for fresh ones (Refresh) until the member
// logs out (End) or the session reaches its maximum age. A token names its
// session in the "sid" claim.
package session

import (
	"context"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Session is one log-in.
type Session struct {
	ID        string
	MemberID  string
	StartedAt time.Time
	// RefreshedAt is the last refresh; zero before the first.
	RefreshedAt time.Time
	// EndedAt is when the member logged out; zero while the session is open.
	EndedAt time.Time
	// ExpireAt is when the record may be deleted: the session's maximum age
	// after its start, when no refresh can succeed any more.
	ExpireAt time.Time
	Version  int64
}

// New starts a session for the member; maxAge bounds how long its tokens
// can be refreshed.
func New(id, memberID string, now time.Time, maxAge time.Duration) (*Session, error) {
	if id == "" || memberID == "" {
		return nil, apperr.Invalid("session", "needs an id and a member")
	}
	if maxAge <= 0 {
		return nil, apperr.Invalid("session", "needs a positive maximum age")
	}
	return &Session{ID: id, MemberID: memberID, StartedAt: now, ExpireAt: now.Add(maxAge)}, nil
}

// ErrEnded is the answer to a refresh after log-out.
func ErrEnded() error {
	return apperr.Unauthenticated("the session was logged out: log in again").WithReason(apperr.ReasonSessionEnded)
}

// ErrTooOld is the answer to a refresh past the maximum age.
func ErrTooOld() error {
	return apperr.Unauthenticated("the session is older than the maximum session age: log in again").WithReason(apperr.ReasonSessionExpired)
}

// ErrNotFound is the answer for a session nobody started (or one deleted
// after its maximum age): the caller must log in.
func ErrNotFound(id string) error {
	return apperr.Unauthenticated("session %s is unknown or expired: log in again", id).WithReason(apperr.ReasonSessionExpired)
}

// Refresh records a token exchange by memberID at now. It refuses a
// session that ended, that belongs to someone else, or that is maxAge old
// (the current setting, which may be shorter than when it started).
func (s *Session) Refresh(memberID string, now time.Time, maxAge time.Duration) error {
	switch {
	case memberID != s.MemberID:
		// A token names its own member's session; anything else is forged
		// or confused, and gets the answer an unknown session gets.
		return ErrNotFound(s.ID)
	case !s.EndedAt.IsZero():
		return ErrEnded()
	case !now.Before(s.StartedAt.Add(maxAge)) || !now.Before(s.ExpireAt):
		return ErrTooOld()
	}
	s.RefreshedAt = now
	return nil
}

// End logs the session out; ending it again changes nothing. Only its
// member may end it.
func (s *Session) End(memberID string, now time.Time) error {
	if memberID != s.MemberID {
		return ErrNotFound(s.ID)
	}
	if s.EndedAt.IsZero() {
		s.EndedAt = now
	}
	return nil
}

// Open reports a session that can still be refreshed at now: not logged
// out, not past its record's expiry.
func (s *Session) Open(now time.Time) bool { return s.EndedAt.IsZero() && now.Before(s.ExpireAt) }

// SortKey orders a member's sessions newest first, then id.
func (s *Session) SortKey() string {
	return s.StartedAt.UTC().Format("20060102T150405.000000000") + "\x00" + s.ID
}

// MaxOpenListed bounds the open sessions of one member that ListOpen
// returns: far more than anyone logs in at once.
const MaxOpenListed = 200

// Repository stores sessions.
type Repository interface {
	// Create stores a new session; AlreadyExists for a taken id.
	Create(ctx context.Context, s *Session) error
	// Get returns the session, or ErrNotFound.
	Get(ctx context.Context, id string) (*Session, error)
	// Update loads the session, applies fn and saves it under optimistic
	// concurrency; ErrNotFound when there is none.
	Update(ctx context.Context, id string, fn func(*Session) error) (*Session, error)
	// ListOpen returns the member's sessions that are Open at now, newest
	// first, at most MaxOpenListed.
	ListOpen(ctx context.Context, memberID string, now time.Time) ([]*Session, error)
}
