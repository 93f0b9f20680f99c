package app_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/adapters"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// outbox is a fake AccountMail that keeps the links it was given.
type outbox struct {
	mu    sync.Mutex
	links map[string][]string // by address
}

func (o *outbox) SendLink(_ context.Context, p onetime.Purpose, to, _, link string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.links == nil {
		o.links = map[string][]string{}
	}
	o.links[to] = append(o.links[to], p.String()+" "+link)
	return nil
}

// last is the token of the newest link of purpose mailed to an address.
func (o *outbox) last(t *testing.T, to string, p onetime.Purpose) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.links[to]) - 1; i >= 0; i-- {
		purpose, link, _ := strings.Cut(o.links[to][i], " ")
		if purpose == p.String() {
			u, err := url.Parse(link)
			if err != nil {
				t.Fatal(err)
			}
			return u.Query().Get("token")
		}
	}
	t.Fatalf("no %s link mailed to %s: %v", p, to, o.links[to])
	return ""
}

func (o *outbox) count(to string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.links[to])
}

func accountWorld(t *testing.T, mayWrite func(string) bool) (*world, *outbox, app.Application) {
	w := newWorld(t)
	box := &outbox{}
	a := w.withDeps(func(d *app.Deps) {
		d.Onetime, d.Mail, d.UnverifiedMayWrite = adapters.NewOnetimeMemoryRepository(), box, mayWrite
		d.Links = app.AccountLinks{PublicURL: "http://portal.test", PerAddress: 2, PerClient: 3, Window: time.Hour}
	})
	w.app = a
	return w, box, a
}

func TestPasswordResetWorksOnceAndEndsTheSessions(t *testing.T) {
	ctx := context.Background()
	w, box, a := accountWorld(t, nil)
	m := w.register(t, "Anna Rossi", "anna@example.it")
	w.login(t, "anna@example.it")
	w.login(t, "anna@example.it")

	if err := a.RequestPasswordReset.Handle(ctx, app.RequestPasswordReset{Email: " Anna@Example.it ", ClientAddress: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	// An unknown address answers the same, and nothing is mailed.
	if err := a.RequestPasswordReset.Handle(ctx, app.RequestPasswordReset{Email: "nobody@example.it", ClientAddress: "10.0.0.1"}); err != nil {
		t.Fatalf("unknown address: %v, want the same answer as a known one", err)
	}
	if box.count("nobody@example.it") != 0 {
		t.Fatal("a link was mailed to an address nobody registered")
	}
	token := box.last(t, "anna@example.it", onetime.PurposeResetPassword)
	const newPassword = "una password nuova e lunga"
	w.revoked = nil
	if err := a.ResetPassword.Handle(ctx, app.ResetPassword{Token: token, NewPassword: newPassword}); err != nil {
		t.Fatal(err)
	}
	if len(w.revoked) != 2 {
		t.Fatalf("revoked sessions %v, want both of the member's", w.revoked)
	}
	if _, err := a.CreateSession.Handle(ctx, app.CreateSession{Email: "anna@example.it", Password: goodPassword}); apperr.ReasonOf(err) != apperr.ReasonBadCredentials {
		t.Fatalf("old password: %v", err)
	}
	if _, err := a.CreateSession.Handle(ctx, app.CreateSession{Email: "anna@example.it", Password: newPassword}); err != nil {
		t.Fatalf("new password: %v", err)
	}
	err := a.ResetPassword.Handle(ctx, app.ResetPassword{Token: token, NewPassword: "ancora un'altra password"})
	if apperr.ReasonOf(err) != apperr.ReasonLinkUsed {
		t.Fatalf("second use: %v, want LINK_USED", err)
	}
	if err := a.ResetPassword.Handle(ctx, app.ResetPassword{Token: "made-up", NewPassword: newPassword}); apperr.ReasonOf(err) != apperr.ReasonLinkInvalid {
		t.Fatalf("made-up token: %v, want LINK_INVALID", err)
	}
	if err := a.ResetPassword.Handle(ctx, app.ResetPassword{Token: token, NewPassword: "short"}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("short password: %v", err)
	}
	got, _ := w.deps.Members.Get(ctx, m.ID)
	if !got.EmailVerified() {
		t.Error("following a reset link did not verify the address it was mailed to")
	}
}

func TestPasswordResetLinkExpires(t *testing.T) {
	ctx := context.Background()
	w, box, a := accountWorld(t, nil)
	w.register(t, "Anna Rossi", "anna@example.it")
	if err := a.RequestPasswordReset.Handle(ctx, app.RequestPasswordReset{Email: "anna@example.it"}); err != nil {
		t.Fatal(err)
	}
	w.advance(time.Hour + time.Second)
	err := a.ResetPassword.Handle(ctx, app.ResetPassword{Token: box.last(t, "anna@example.it", onetime.PurposeResetPassword), NewPassword: "una password nuova e lunga"})
	if apperr.ReasonOf(err) != apperr.ReasonLinkExpired {
		t.Fatalf("expired link: %v, want LINK_EXPIRED", err)
	}
}

func TestPasswordResetRequestsAreLimited(t *testing.T) {
	ctx := context.Background()
	w, box, a := accountWorld(t, nil)
	w.register(t, "Anna Rossi", "anna@example.it")
	for i := range 2 {
		if err := a.RequestPasswordReset.Handle(ctx, app.RequestPasswordReset{Email: "anna@example.it", ClientAddress: "10.0.0.1"}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// Per address: the third is refused, for a known and an unknown address alike.
	for _, email := range []string{"anna@example.it"} {
		err := a.RequestPasswordReset.Handle(ctx, app.RequestPasswordReset{Email: email, ClientAddress: "10.0.0.2"})
		if apperr.ReasonOf(err) != apperr.ReasonResetThrottled {
			t.Fatalf("third request for %s: %v, want RESET_THROTTLED", email, err)
		}
	}
	if n := box.count("anna@example.it"); n != 1+2 { // the verification link, then two reset links
		t.Fatalf("%d links mailed, want 3", n)
	}
	// Per client address: 3 per window, whichever addresses they name.
	for i, email := range []string{"x1@example.it", "x2@example.it"} {
		if err := a.RequestPasswordReset.Handle(ctx, app.RequestPasswordReset{Email: email, ClientAddress: "10.0.0.1"}); apperr.ReasonOf(err) != apperr.ReasonResetThrottled && i == 1 {
			t.Fatalf("request %d from one client: %v, want RESET_THROTTLED", i+3, err)
		}
	}
	w.advance(2 * time.Hour)
	if err := a.RequestPasswordReset.Handle(ctx, app.RequestPasswordReset{Email: "anna@example.it", ClientAddress: "10.0.0.1"}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestEmailVerification(t *testing.T) {
	ctx := context.Background()
	w, box, a := accountWorld(t, func(kind string) bool { return kind == app.WriteReports })
	m := w.register(t, "Anna Rossi", "anna@example.it")
	if m.EmailVerified() {
		t.Fatal("a new member is verified before following the link")
	}
	caller := w.login(t, "anna@example.it")
	_, err := a.CreateThread.Handle(ctx, app.CreateThread{Caller: caller, Details: thread.Details{Scope: thread.General, Title: "Una domanda", Body: "Come si fa?"}})
	if apperr.ReasonOf(err) != apperr.ReasonEmailNotVerified {
		t.Fatalf("unverified member opens a thread: %v, want EMAIL_NOT_VERIFIED", err)
	}
	_, err = a.RequestAffiliation.Handle(ctx, app.RequestAffiliation{Caller: caller, MemberID: m.ID, OrganizationID: "org-1"})
	if apperr.ReasonOf(err) != apperr.ReasonEmailNotVerified {
		t.Fatalf("unverified member asks for an affiliation: %v, want EMAIL_NOT_VERIFIED", err)
	}
	if err := a.SendVerificationEmail.Handle(ctx, app.SendVerificationEmail{Caller: caller}); err != nil {
		t.Fatal(err)
	}
	got, err := a.VerifyEmail.Handle(ctx, app.VerifyEmail{Token: box.last(t, "anna@example.it", onetime.PurposeVerifyEmail)})
	if err != nil || !got.EmailVerified() {
		t.Fatalf("verify: %v, %v", got, err)
	}
	if _, err := a.CreateThread.Handle(ctx, app.CreateThread{Caller: caller, Details: thread.Details{Scope: thread.General, Title: "Una domanda", Body: "Come si fa?"}}); err != nil {
		t.Fatalf("verified member opens a thread: %v", err)
	}
	if err := a.SendVerificationEmail.Handle(ctx, app.SendVerificationEmail{Caller: caller}); apperr.ReasonOf(err) != apperr.ReasonEmailAlreadyVerified {
		t.Fatalf("resend after verification: %v", err)
	}
	// A reset link does not verify.
	_, err = a.VerifyEmail.Handle(ctx, app.VerifyEmail{Token: box.last(t, "anna@example.it", onetime.PurposeVerifyEmail)})
	if apperr.ReasonOf(err) != apperr.ReasonLinkUsed {
		t.Fatalf("verification link used twice: %v", err)
	}
	if err := a.SendVerificationEmail.Handle(ctx, app.SendVerificationEmail{Caller: auth.Caller{}}); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("anonymous resend: %v", err)
	}
}

func TestChangingThePasswordEndsTheOtherSessions(t *testing.T) {
	ctx := context.Background()
	w, _, a := accountWorld(t, nil)
	w.register(t, "Anna Rossi", "anna@example.it")
	other := w.login(t, "anna@example.it")
	here := w.login(t, "anna@example.it")
	const newPassword = "una password nuova e lunga"
	err := a.ChangePassword.Handle(ctx, app.ChangePassword{Caller: here, CurrentPassword: "sbagliata", NewPassword: newPassword})
	if apperr.KindOf(err) != apperr.KindInvalidArgument || !strings.Contains(err.Error(), "current_password") {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := a.ChangePassword.Handle(ctx, app.ChangePassword{Caller: here, CurrentPassword: goodPassword, NewPassword: "corta"}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("short new password: %v", err)
	}
	w.revoked = nil
	if err := a.ChangePassword.Handle(ctx, app.ChangePassword{Caller: here, CurrentPassword: goodPassword, NewPassword: newPassword}); err != nil {
		t.Fatal(err)
	}
	if len(w.revoked) != 1 || w.revoked[0] != other.SessionID {
		t.Fatalf("revoked %v, want the other session %s only", w.revoked, other.SessionID)
	}
	if _, err := a.RefreshSession.Handle(ctx, app.RefreshSession{Caller: here}); err != nil {
		t.Errorf("the caller's own session ended: %v", err)
	}
	if _, err := a.RefreshSession.Handle(ctx, app.RefreshSession{Caller: other}); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Errorf("the other session: %v, want it ended", err)
	}
	if _, err := a.CreateSession.Handle(ctx, app.CreateSession{Email: "anna@example.it", Password: newPassword}); err != nil {
		t.Errorf("log in with the new password: %v", err)
	}
}
