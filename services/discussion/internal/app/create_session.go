package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
)

// CreateSession is the command to log in.
type CreateSession struct {
	Email    string
	Password string
}

// Session is a signed token and the member it names.
type Session struct {
	Token     string
	ExpiresAt time.Time
	Member    *member.Member
}

// ErrBadCredentials is the one answer to a wrong password and to an
// e-mail nobody registered, so that log-in does not tell which addresses
// have accounts.
func ErrBadCredentials() error {
	return apperr.Unauthenticated("wrong e-mail or password").WithReason(apperr.ReasonBadCredentials)
}

// CreateSessionHandler handles CreateSession.
type CreateSessionHandler struct{ d Deps }

// Handle checks the password against the stored argon2id hash and signs a
// token. Both the e-mail address and the account are throttled (package
// login); an unknown address goes through the same steps, against a stand-in
// account and a stand-in hash, so that it costs the same time and answers
// the same error.
func (h CreateSessionHandler) Handle(ctx context.Context, cmd CreateSession) (Session, error) {
	email := member.NormalizeEmail(cmd.Email)
	var v apperr.Violations
	switch {
	case email == "":
		v.Add("email", "is required")
	case len(email) > validate.MaxEmailLength:
		// No registered address is longer, and the address becomes a key
		// of the log-in limiter.
		v.Addf("email", "must be at most %d characters", validate.MaxEmailLength)
	}
	switch {
	case cmd.Password == "":
		v.Add("password", "is required")
	case len(cmd.Password) > member.MaxPasswordBytes:
		v.Addf("password", "must be at most %d bytes", member.MaxPasswordBytes)
	}
	if err := v.Err(); err != nil {
		return Session{}, err
	}
	emailKey := login.EmailKey(email)
	if err := h.begin(ctx, emailKey); err != nil {
		return Session{}, err
	}
	m, err := h.d.Members.GetByEmail(ctx, email)
	known := err == nil
	if err != nil && apperr.KindOf(err) != apperr.KindNotFound {
		return Session{}, err
	}
	accountKey := login.UnknownAccountKey(email)
	if known {
		accountKey = login.AccountKey(m.ID)
	}
	if err := h.begin(ctx, accountKey); err != nil {
		return Session{}, err
	}
	if !known {
		if err := h.d.Passwords.VerifyNothing(ctx, cmd.Password); err != nil {
			return Session{}, err
		}
		return Session{}, ErrBadCredentials()
	}
	match, rehash, err := h.d.Passwords.Verify(ctx, cmd.Password, m.PasswordHash)
	if err != nil {
		return Session{}, err
	}
	if !match {
		return Session{}, ErrBadCredentials()
	}
	if m.Blocked {
		// Told only to who knows the password.
		return Session{}, member.ErrBlocked()
	}
	if err := h.d.Logins.Reset(ctx, emailKey, accountKey); err != nil {
		// The password was right; at worst the failures before it stay
		// counted until they expire.
		h.d.Logger.WarnContext(ctx, "reset failed log-ins after a success", slog.String("member", m.ID), slog.Any("error", err))
	}
	newHash := ""
	if rehash {
		if newHash, err = h.d.Passwords.Hash(ctx, cmd.Password); err != nil {
			return Session{}, err
		}
	}
	now := h.d.Now()
	m, err = h.d.Members.Update(ctx, m.ID, func(m *member.Member) error {
		m.RecordLogin(now, newHash)
		return nil
	})
	if err != nil {
		return Session{}, err
	}
	s, err := session.New(h.d.NewID(""), m.ID, now, h.d.SessionMaxAge)
	if err != nil {
		return Session{}, err
	}
	if err := h.d.Sessions.Create(ctx, s); err != nil {
		return Session{}, err
	}
	return issue(h.d, m, s)
}

// issue signs a token for the member's session, with the member's current
// roles and verified organisations.
func issue(d Deps, m *member.Member, s *session.Session) (Session, error) {
	c := CallerOf(m)
	c.SessionID, c.SessionStartedAt = s.ID, s.StartedAt
	token, claims, err := d.Tokens.Issue(c)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: token, ExpiresAt: claims.ExpiresAt, Member: m.Private()}, nil
}

// begin admits one attempt on key or returns the ResourceExhausted refusal.
func (h CreateSessionHandler) begin(ctx context.Context, key string) error {
	_, err := h.d.Logins.Update(ctx, key, func(a *login.Attempts) error { return a.Begin(h.d.LoginPolicy, h.d.Now()) })
	return err
}
