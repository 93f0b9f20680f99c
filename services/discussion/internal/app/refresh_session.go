package app

import (
	"context"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// DefaultSessionMaxAge is how long a log-in lasts, refreshes included,
// unless configured otherwise: a working day.
const DefaultSessionMaxAge = 12 * time.Hour

// RefreshSession exchanges the caller's valid token for a new one.
type RefreshSession struct {
	Caller auth.Caller
}

// RefreshSessionHandler handles RefreshSession.
type RefreshSessionHandler struct{ d Deps }

// Handle checks the session the token names (open, the caller's, younger
// than the maximum age) and signs a token whose roles and organisations are
// read again from the member: a role granted or an affiliation verified
// since the log-in shows up without logging in again. The session keeps its
// start, so refreshing never extends it past the maximum age.
func (h RefreshSessionHandler) Handle(ctx context.Context, cmd RefreshSession) (Session, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return Session{}, err
	}
	if cmd.Caller.SessionID == "" {
		return Session{}, apperr.FailedPrecondition("this token was not issued by a log-in: there is no session to refresh").WithReason(apperr.ReasonSessionNotRefreshable)
	}
	now := h.d.Now()
	s, err := h.d.Sessions.Update(ctx, cmd.Caller.SessionID, func(s *session.Session) error {
		return s.Refresh(cmd.Caller.MemberID, now, h.d.SessionMaxAge)
	})
	if err != nil {
		return Session{}, err
	}
	m, err := h.d.Members.Get(ctx, cmd.Caller.MemberID)
	if apperr.KindOf(err) == apperr.KindNotFound {
		return Session{}, session.ErrNotFound(s.ID)
	}
	if err != nil {
		return Session{}, err
	}
	if m.Blocked {
		return Session{}, member.ErrBlocked()
	}
	return issue(h.d, m, s)
}

// DeleteSession logs the caller out.
type DeleteSession struct {
	Caller auth.Caller
}

// DeleteSessionHandler handles DeleteSession.
type DeleteSessionHandler struct{ d Deps }

// Handle ends the session the token names, so that it can no longer be
// refreshed, and revokes it: every service refuses its tokens from then
// on (RevokeSession), not only when they expire. Logging out twice, or
// with a token that no log-in issued, succeeds and changes nothing, so a
// log-out whose revocation failed (Unavailable) can simply be retried.
func (h DeleteSessionHandler) Handle(ctx context.Context, cmd DeleteSession) error {
	if err := requireMember(cmd.Caller); err != nil {
		return err
	}
	if cmd.Caller.SessionID == "" {
		return nil
	}
	now := h.d.Now()
	_, err := h.d.Sessions.Update(ctx, cmd.Caller.SessionID, func(s *session.Session) error {
		return s.End(cmd.Caller.MemberID, now)
	})
	if apperr.KindOf(err) == apperr.KindUnauthenticated {
		// An unknown or expired session: there is nothing left to end.
		return nil
	}
	if err != nil || h.d.RevokeSession == nil {
		return err
	}
	// No token of the session outlives its maximum age from now.
	if err := h.d.RevokeSession(ctx, cmd.Caller.SessionID, now.Add(h.d.SessionMaxAge)); err != nil {
		return apperr.Unavailable(err, "logged out here, but the other services could not be told yet: log out again")
	}
	return nil
}
