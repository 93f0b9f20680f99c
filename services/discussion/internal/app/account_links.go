package app

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// AccountMail mails the single-use links of an account: the adapter
// composes the message around the link (package adapters' AccountMailer).
type AccountMail interface {
	// SendLink mails link to the address; purpose says which message.
	SendLink(ctx context.Context, p onetime.Purpose, to, displayName, link string) error
}

// AccountLinks are the settings of the mailed links.
type AccountLinks struct {
	// PublicURL is the portal's address; the links open its pages
	// /password/reset and /email/verify.
	PublicURL string
	// ResetTTL and VerifyTTL are how long a link works; 1 hour and 3
	// days when zero.
	ResetTTL, VerifyTTL time.Duration
	// PerAddress and PerClient bound the reset requests of one e-mail
	// address and of one client address within Window; 3, 20 and 1 hour
	// when zero.
	PerAddress, PerClient int
	Window                time.Duration
}

func (l AccountLinks) withDefaults() AccountLinks {
	if l.PublicURL == "" {
		l.PublicURL = "http://127.0.0.1:8080"
	}
	if l.ResetTTL <= 0 {
		l.ResetTTL = time.Hour
	}
	if l.VerifyTTL <= 0 {
		l.VerifyTTL = 72 * time.Hour
	}
	if l.PerAddress <= 0 {
		l.PerAddress = 3
	}
	if l.PerClient <= 0 {
		l.PerClient = 20
	}
	if l.Window <= 0 {
		l.Window = time.Hour
	}
	return l
}

// quota is a login.Policy that admits n requests per window and then
// refuses every request until the window has passed.
func quota(n int, window time.Duration) login.Policy {
	// The n-th request is admitted and starts the lock.
	return login.Policy{FreeFailures: n - 1, BaseDelay: window, MaxDelay: window, LockAfter: n, LockDuration: window, Window: window}
}

func (d Deps) link(path, secret string) string {
	return strings.TrimRight(d.Links.PublicURL, "/") + path + "?token=" + secret
}

// mailLink issues a link of purpose for m and mails it. A failure is
// logged, never answered: the caller's answer must not depend on whether
// an address has an account.
func (d Deps) mailLink(ctx context.Context, p onetime.Purpose, m *member.Member, ttl time.Duration, path string) {
	if d.Onetime == nil {
		d.Logger.DebugContext(ctx, "account link not mailed: no store for links", slog.String("member", m.ID))
		return
	}
	secret, t, err := onetime.New(p, m.ID, m.Email, d.Now(), ttl)
	if err == nil {
		err = d.Onetime.Create(ctx, t)
	}
	if err == nil {
		if d.Mail == nil {
			err = errors.New("no SMTP server is configured (GEMELLA_SMTP_URL)")
		} else {
			err = d.Mail.SendLink(ctx, p, m.Email, m.DisplayName, d.link(path, secret))
		}
	}
	if err != nil {
		d.Logger.WarnContext(ctx, "account link not mailed", slog.String("purpose", p.String()), slog.String("member", m.ID), slog.Any("error", err))
	}
}

// Portal paths of the links.
const (
	ResetPasswordPath = "/password/reset"
	VerifyEmailPath   = "/email/verify"
)

// RequestPasswordReset asks for a reset link for an address.
type RequestPasswordReset struct {
	Email string
	// ClientAddress is where the request came from (the gateway says);
	// requests are limited per address too.
	ClientAddress string
}

// RequestPasswordResetHandler handles RequestPasswordReset; anyone may
// call it.
type RequestPasswordResetHandler struct{ d Deps }

// Handle mails a reset link when the address belongs to a member who is
// not blocked, and answers the same in every case, so that nobody learns
// which addresses have accounts. Requests are counted per e-mail address
// and per client address in the database, so every replica sees the same
// counts; beyond the quota the answer is RESET_THROTTLED, whether or not
// the address is registered.
func (h RequestPasswordResetHandler) Handle(ctx context.Context, cmd RequestPasswordReset) error {
	email := member.NormalizeEmail(cmd.Email)
	var v apperr.Violations
	validate.Email(&v, "email", email)
	if err := v.Err(); err != nil {
		return err
	}
	l := h.d.Links
	if cmd.ClientAddress != "" {
		if err := h.d.admit(ctx, "reset-client:"+cmd.ClientAddress, quota(l.PerClient, l.Window)); err != nil {
			return err
		}
	}
	if err := h.d.admit(ctx, "reset-email:"+email, quota(l.PerAddress, l.Window)); err != nil {
		return err
	}
	m, err := h.d.Members.GetByEmail(ctx, email)
	switch {
	case apperr.KindOf(err) == apperr.KindNotFound:
		return nil
	case err != nil:
		return err
	case m.Blocked:
		return nil
	}
	h.d.mailLink(ctx, onetime.PurposeResetPassword, m, l.ResetTTL, ResetPasswordPath)
	return nil
}

// admit counts one request on key, or refuses it with RESET_THROTTLED.
func (d Deps) admit(ctx context.Context, key string, p login.Policy) error {
	var wait time.Duration
	_, err := d.Logins.Update(ctx, key, func(a *login.Attempts) error {
		now := d.Now()
		if err := a.Begin(p, now); err != nil {
			wait = a.BlockedUntil.Sub(now)
			return err
		}
		return nil
	})
	if apperr.KindOf(err) == apperr.KindResourceExhausted {
		return ErrResetThrottled(wait)
	}
	return err
}

// ErrResetThrottled refuses a reset request beyond the quota.
func ErrResetThrottled(wait time.Duration) error {
	mins := int64(math.Ceil(wait.Minutes()))
	return apperr.ResourceExhausted("too many password reset requests: try again in %d minutes", max(mins, 1)).
		WithReason(apperr.ReasonResetThrottled).WithRetryAfter(time.Duration(max(mins, 1)) * time.Minute)
}

// ResetPassword sets a new password with a mailed link.
type ResetPassword struct {
	Token       string
	NewPassword string
}

// ResetPasswordHandler handles ResetPassword; the link is the credential.
type ResetPasswordHandler struct{ d Deps }

// Handle spends the link (once: a version-conditioned write), sets the
// password, ends every session of the member (every service refuses their
// tokens at once) and forgets the member's failed log-ins.
func (h ResetPasswordHandler) Handle(ctx context.Context, cmd ResetPassword) error {
	var v apperr.Violations
	validate.Line(&v, "token", cmd.Token, true, 200)
	member.ValidatePassword(&v, "new_password", cmd.NewPassword)
	if err := v.Err(); err != nil {
		return err
	}
	hash, err := h.d.Passwords.Hash(ctx, cmd.NewPassword)
	if err != nil {
		return err
	}
	now := h.d.Now()
	t, err := h.d.Onetime.Update(ctx, onetime.Hash(cmd.Token), func(t *onetime.Token) error {
		return t.Use(onetime.PurposeResetPassword, now)
	})
	if err != nil {
		return err
	}
	m, err := h.d.Members.Update(ctx, t.MemberID, func(m *member.Member) error {
		if m.Email != t.Email {
			// The address changed since the link was mailed.
			return onetime.ErrInvalid()
		}
		return m.SetPassword(hash, now)
	})
	if err != nil {
		return err
	}
	if err := h.d.Logins.Reset(ctx, login.EmailKey(m.Email), login.AccountKey(m.ID)); err != nil {
		h.d.Logger.WarnContext(ctx, "forget failed log-ins after a reset", slog.String("member", m.ID), slog.Any("error", err))
	}
	return h.d.endSessionsOf(ctx, m.ID)
}

// VerifyEmail confirms a member's address with a mailed link.
type VerifyEmail struct {
	Token string
}

// VerifyEmailHandler handles VerifyEmail; the link is the credential.
type VerifyEmailHandler struct{ d Deps }

// Handle spends the link and marks the address verified.
func (h VerifyEmailHandler) Handle(ctx context.Context, cmd VerifyEmail) (*member.Member, error) {
	var v apperr.Violations
	validate.Line(&v, "token", cmd.Token, true, 200)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := h.d.Now()
	t, err := h.d.Onetime.Update(ctx, onetime.Hash(cmd.Token), func(t *onetime.Token) error {
		return t.Use(onetime.PurposeVerifyEmail, now)
	})
	if err != nil {
		return nil, err
	}
	m, err := h.d.Members.Update(ctx, t.MemberID, func(m *member.Member) error {
		m.VerifyEmail(t.Email, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Who holds the link reads the mailbox of the address.
	return m.Private(), nil
}

// Writes that an installation may keep from members whose address is not
// verified yet (GEMELLA_DISCUSSION_UNVERIFIED_MAY_WRITE).
const (
	WriteThreads      = "threads"
	WritePosts        = "posts"
	WriteStories      = "stories"
	WriteAffiliations = "affiliations"
	WriteReports      = "reports"
)

// WriteKinds lists them.
var WriteKinds = []string{WriteThreads, WritePosts, WriteStories, WriteAffiliations, WriteReports}

// mayWrite refuses a write of kind by a member whose address is not
// verified, when the installation keeps it from them. Only then is the
// member read.
func (d Deps) mayWrite(ctx context.Context, memberID, kind string) error {
	if d.UnverifiedMayWrite == nil || d.UnverifiedMayWrite(kind) {
		return nil
	}
	m, err := d.Members.Get(ctx, memberID)
	if err != nil {
		return err
	}
	if !m.EmailVerified() {
		return member.ErrEmailNotVerified()
	}
	return nil
}

// SendVerificationEmail mails the caller a new verification link.
type SendVerificationEmail struct {
	Caller auth.Caller
}

// SendVerificationEmailHandler handles SendVerificationEmail; a member
// asks for themself, at most PerAddress times per Window.
type SendVerificationEmailHandler struct{ d Deps }

// Handle mails the link, unless the address is verified already
// (FAILED_PRECONDITION, nothing to do).
func (h SendVerificationEmailHandler) Handle(ctx context.Context, cmd SendVerificationEmail) error {
	if err := requireMember(cmd.Caller); err != nil {
		return err
	}
	m, err := h.d.Members.Get(ctx, cmd.Caller.MemberID)
	if err != nil {
		return err
	}
	if m.EmailVerified() {
		return apperr.FailedPrecondition("your e-mail address is already verified").WithReason(apperr.ReasonEmailAlreadyVerified)
	}
	if err := h.d.admit(ctx, "verify-member:"+m.ID, quota(h.d.Links.PerAddress, h.d.Links.Window)); err != nil {
		return err
	}
	h.d.mailLink(ctx, onetime.PurposeVerifyEmail, m, h.d.Links.VerifyTTL, VerifyEmailPath)
	return nil
}

// ChangePassword replaces the caller's password, given the current one.
type ChangePassword struct {
	Caller          auth.Caller
	CurrentPassword string
	NewPassword     string
}

// ChangePasswordHandler handles ChangePassword.
type ChangePasswordHandler struct{ d Deps }

// Handle checks the current password (throttled as a log-in of the
// account), sets the new one, and ends every other session of the
// member; the caller's own session goes on.
func (h ChangePasswordHandler) Handle(ctx context.Context, cmd ChangePassword) error {
	if err := requireMember(cmd.Caller); err != nil {
		return err
	}
	var v apperr.Violations
	if cmd.CurrentPassword == "" {
		v.Add("current_password", "is required")
	} else if len(cmd.CurrentPassword) > member.MaxPasswordBytes {
		v.Addf("current_password", "must be at most %d bytes", member.MaxPasswordBytes)
	}
	member.ValidatePassword(&v, "new_password", cmd.NewPassword)
	if err := v.Err(); err != nil {
		return err
	}
	accountKey := login.AccountKey(cmd.Caller.MemberID)
	if _, err := h.d.Logins.Update(ctx, accountKey, func(a *login.Attempts) error { return a.Begin(h.d.LoginPolicy, h.d.Now()) }); err != nil {
		return err
	}
	m, err := h.d.Members.Get(ctx, cmd.Caller.MemberID)
	if err != nil {
		return err
	}
	match, _, err := h.d.Passwords.Verify(ctx, cmd.CurrentPassword, m.PasswordHash)
	if err != nil {
		return err
	}
	if !match {
		// The caller is who the token says: a wrong current password is
		// a bad field, not a reason to drop the session.
		return apperr.Invalid("current_password", "is not the account's current password")
	}
	hash, err := h.d.Passwords.Hash(ctx, cmd.NewPassword)
	if err != nil {
		return err
	}
	now := h.d.Now()
	if _, err := h.d.Members.Update(ctx, m.ID, func(m *member.Member) error {
		m.PasswordHash, m.PasswordChangedAt = hash, now
		return nil
	}); err != nil {
		return err
	}
	if err := h.d.Logins.Reset(ctx, accountKey); err != nil {
		h.d.Logger.WarnContext(ctx, "forget failed log-ins after a password change", slog.String("member", m.ID), slog.Any("error", err))
	}
	return h.d.endSessionsOf(ctx, m.ID, cmd.Caller.SessionID)
}
