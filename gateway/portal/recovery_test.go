package portal

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// recoveryFake answers the account-link calls; the rest is fakeDiscussion.
type recoveryFake struct {
	*fakeDiscussion
	resetEmails []string
	clientAddr  []string
	resetErr    error
	verifyErr   error
	resent      int
}

func (f *recoveryFake) RequestPasswordReset(ctx context.Context, req *discussionv1.RequestPasswordResetRequest, _ ...grpc.CallOption) (*emptypb.Empty, error) {
	f.resetEmails = append(f.resetEmails, req.GetEmail())
	md, _ := metadata.FromOutgoingContext(ctx)
	f.clientAddr = append(f.clientAddr, strings.Join(md.Get("gemella-client-address"), ","))
	return &emptypb.Empty{}, nil
}

func (f *recoveryFake) ResetPassword(context.Context, *discussionv1.ResetPasswordRequest, ...grpc.CallOption) (*emptypb.Empty, error) {
	if f.resetErr != nil {
		return nil, f.resetErr
	}
	return &emptypb.Empty{}, nil
}

func (f *recoveryFake) VerifyEmail(context.Context, *discussionv1.VerifyEmailRequest, ...grpc.CallOption) (*discussionv1.Member, error) {
	if f.verifyErr != nil {
		return nil, f.verifyErr
	}
	return &discussionv1.Member{EmailVerified: true}, nil
}

func (f *recoveryFake) SendVerificationEmail(context.Context, *discussionv1.SendVerificationEmailRequest, ...grpc.CallOption) (*emptypb.Empty, error) {
	f.resent++
	return &emptypb.Empty{}, nil
}

func startRecoveryPortal(t *testing.T) (*recoveryFake, *browser, *world) {
	w := newWorld()
	fake := &recoveryFake{fakeDiscussion: w.discussion}
	bk := w.backends()
	bk.Discussion = fake
	p, err := New(Config{AssetsDir: "testdata/no-such-dir"}, bk, slog.New(slog.DiscardHandler), WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return fake, &browser{t: t, base: srv.URL, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, w
}

func TestForgottenPasswordAndLinks(t *testing.T) {
	fake, b, _ := startRecoveryPortal(t)
	mustContain(t, b.get("/login"), "Password dimenticata?")

	a := b.post("/password/forgot", url.Values{csrfField: {b.token("/password/forgot")}, "email": {"chiunque@example.it"}})
	if a.status != http.StatusOK {
		t.Fatalf("forgot = %d: %.300s", a.status, a.body)
	}
	mustContain(t, a, `data-testid="reset-sent"`, "riceverai a breve un messaggio")
	if len(fake.resetEmails) != 1 || fake.resetEmails[0] != "chiunque@example.it" {
		t.Fatalf("reset requests %v", fake.resetEmails)
	}
	if a := b.post("/password/forgot", url.Values{csrfField: {b.token("/password/forgot")}}); a.status != http.StatusBadRequest {
		t.Errorf("forgot without an address = %d, want 400", a.status)
	}

	// A used link says so in words.
	fake.resetErr = grpcx.ToStatus(apperr.FailedPrecondition("this link has already been used: ask for a new one").WithReason(apperr.ReasonLinkUsed))
	a = b.post("/password/reset", url.Values{csrfField: {b.token("/password/reset?token=t")}, "token": {"t"}, "new_password": {"una password nuova e lunga"}})
	if a.status == http.StatusOK || a.status == http.StatusSeeOther {
		t.Fatalf("used link = %d", a.status)
	}
	mustContain(t, a, "Questo collegamento è già stato usato: chiedine uno nuovo.")
	if strings.Contains(a.body, "una password nuova e lunga") {
		t.Error("the page sends the password back")
	}
	fake.resetErr = nil
	a = b.post("/password/reset", url.Values{csrfField: {b.token("/password/reset?token=t")}, "token": {"t"}, "new_password": {"una password nuova e lunga"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/login" {
		t.Fatalf("reset = %d to %q", a.status, a.header.Get("Location"))
	}

	fake.verifyErr = grpcx.ToStatus(apperr.FailedPrecondition("this link has expired: ask for a new one").WithReason(apperr.ReasonLinkExpired))
	mustContain(t, b.post("/email/verify", url.Values{csrfField: {b.token("/email/verify?token=t")}, "token": {"t"}}), "Questo collegamento è scaduto")
	fake.verifyErr = nil
	mustContain(t, b.post("/email/verify", url.Values{csrfField: {b.token("/email/verify?token=t")}, "token": {"t"}}), "il tuo indirizzo e-mail è confermato")
}

func TestUnverifiedMemberSeesTheBanner(t *testing.T) {
	fake, b, w := startRecoveryPortal(t)
	tok := token("m1", "Maico Centis", testNow.Add(15*time.Minute))
	w.discussion.session = &discussionv1.Session{Token: tok, ExpireTime: ts(time.Now().Add(15 * time.Minute)), Member: &discussionv1.Member{Id: "m1", EmailVerified: false}}
	b.post("/login", url.Values{csrfField: {b.token("/login")}, "email": {"maico@example.org"}, "password": {"una password lunga"}})
	a := b.get("/threads")
	mustContain(t, a, `data-testid="verify-banner"`, "Non hai ancora confermato il tuo indirizzo e-mail")
	a = b.post("/email/verify/resend", url.Values{csrfField: {b.token("/threads")}})
	if a.status != http.StatusSeeOther || fake.resent != 1 {
		t.Fatalf("resend = %d, %d sent", a.status, fake.resent)
	}
	// Confirmed: the banner goes.
	b.post("/email/verify", url.Values{csrfField: {b.token("/email/verify?token=t")}, "token": {"t"}})
	if a := b.get("/threads"); strings.Contains(a.body, `data-testid="verify-banner"`) {
		t.Error("the banner stays after the address is confirmed")
	}
}
