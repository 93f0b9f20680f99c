package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// stubDiscussion logs in "ok@example.it" with token stubToken, and answers
// GetMyProfile with the authorization metadata it received as the name.
type stubDiscussion struct {
	discussionv1.UnimplementedDiscussionServiceServer
}

const stubToken = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJtLTEifQ.c2lnbmF0dXJl"

func (stubDiscussion) CreateSession(_ context.Context, req *discussionv1.CreateSessionRequest) (*discussionv1.Session, error) {
	if req.GetEmail() != "ok@example.it" {
		return nil, status.Error(codes.Unauthenticated, "wrong e-mail or password")
	}
	return &discussionv1.Session{
		Token:      stubToken,
		ExpireTime: timestamppb.New(time.Now().Add(15 * time.Minute)),
		Member:     &discussionv1.Member{Id: "m-1", DisplayName: "Chiara"},
	}, nil
}

func (stubDiscussion) GetMyProfile(ctx context.Context, _ *discussionv1.GetMyProfileRequest) (*discussionv1.Member, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	return &discussionv1.Member{Id: "m-1", DisplayName: strings.Join(md.Get("authorization"), "|")}, nil
}

// stubToken2 is the token a refresh of stubToken gives.
const stubToken2 = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJtLTEiLCJ2IjoyfQ.c2lnbmF0dXJl"

func (stubDiscussion) RefreshSession(ctx context.Context, _ *discussionv1.RefreshSessionRequest) (*discussionv1.Session, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if strings.Join(md.Get("authorization"), "|") != "Bearer "+stubToken {
		return nil, status.Error(codes.Unauthenticated, "the session was logged out: log in again")
	}
	return &discussionv1.Session{Token: stubToken2, ExpireTime: timestamppb.New(time.Now().Add(15 * time.Minute))}, nil
}

func (stubDiscussion) DeleteSession(ctx context.Context, _ *discussionv1.DeleteSessionRequest) (*emptypb.Empty, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	switch strings.Join(md.Get("authorization"), "|") {
	case "Bearer " + stubToken, "Bearer " + stubToken2:
		return &emptypb.Empty{}, nil
	}
	return nil, status.Error(codes.Unauthenticated, "token expired")
}

// UpdateMyProfile answers with the authorization it received, so that a
// test sees whether a write reached the backend and as whom.
func (stubDiscussion) UpdateMyProfile(ctx context.Context, _ *discussionv1.UpdateMyProfileRequest) (*discussionv1.Member, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	return &discussionv1.Member{Id: "m-1", DisplayName: strings.Join(md.Get("authorization"), "|")}, nil
}

// startSessionGateway runs the stub behind a gateway and returns the
// gateway's handler, served on plain HTTP at the returned URL.
func startSessionGateway(t *testing.T, mutate func(*Config)) (http.Handler, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backend := grpc.NewServer()
	discussionv1.RegisterDiscussionServiceServer(backend, stubDiscussion{})
	go func() { _ = backend.Serve(lis) }()
	t.Cleanup(backend.Stop)

	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.CatalogAddr = lis.Addr().String() // unused: only discussion routes are called
	cfg.DiscussionAddr = lis.Addr().String()
	cfg.TwinningAddr, cfg.NATSURL = BackendDisabled, BackendDisabled
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	plain := httptest.NewServer(srv.Handler())
	t.Cleanup(plain.Close)
	return srv.Handler(), plain.URL
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	return cookieNamed(resp, credentialCookie)
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func logIn(t *testing.T, c *http.Client, base, email string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/sessions", strings.NewReader(`{"email":"`+email+`","password":"una password lunga"}`))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestLogInSetsAnHttpOnlyLaxCookie(t *testing.T) {
	_, base := startSessionGateway(t, nil)
	resp := logIn(t, client, base, "ok@example.it")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log in: %d", resp.StatusCode)
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Token != stubToken {
		t.Fatalf("the body keeps the token for API clients: %+v %v", body, err)
	}
	c := sessionCookie(t, resp)
	if c == nil {
		t.Fatalf("no %s cookie: %v", credentialCookie, resp.Header.Values("Set-Cookie"))
	}
	if c.Value != stubToken || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Fatalf("cookie = %+v; want the token, HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP", c)
	}
	if c.MaxAge < 14*60 || c.MaxAge > 15*60 {
		t.Errorf("cookie lives %ds, want the token's 15 minutes", c.MaxAge)
	}

	failed := logIn(t, client, base, "wrong@example.it")
	if failed.StatusCode != http.StatusUnauthorized || sessionCookie(t, failed) != nil {
		t.Fatalf("failed log-in: %d, cookie %v", failed.StatusCode, sessionCookie(t, failed))
	}
}

func TestCookieIsSecureOverTLS(t *testing.T) {
	handler, _ := startSessionGateway(t, nil)
	tlsServer := httptest.NewTLSServer(handler)
	t.Cleanup(tlsServer.Close)
	resp := logIn(t, tlsServer.Client(), tlsServer.URL, "ok@example.it")
	if c := sessionCookie(t, resp); c == nil || !c.Secure {
		t.Fatalf("cookie over TLS = %+v, want Secure", c)
	}

	// Behind a proxy that ends TLS, X-Forwarded-Proto counts only when the
	// gateway is told to trust proxy headers.
	_, untrusting := startSessionGateway(t, nil)
	if c := sessionCookie(t, logIn(t, client, untrusting, "ok@example.it", "X-Forwarded-Proto", "https")); c == nil || c.Secure {
		t.Fatalf("untrusted X-Forwarded-Proto made the cookie Secure: %+v", c)
	}
	_, trusting := startSessionGateway(t, func(c *Config) { c.TrustProxyHeaders = true })
	if c := sessionCookie(t, logIn(t, client, trusting, "ok@example.it", "X-Forwarded-Proto", "https")); c == nil || !c.Secure {
		t.Fatalf("trusted proxy said https, cookie = %+v", c)
	}
}

func TestCookieStandsInForTheAuthorizationHeader(t *testing.T) {
	_, base := startSessionGateway(t, nil)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	logIn(t, browser, base, "ok@example.it")

	me := func(c *http.Client, header ...string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/me", nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m struct {
			DisplayName string `json:"display_name"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m.DisplayName
	}
	if got := me(browser); got != "Bearer "+stubToken {
		t.Fatalf("with the cookie only the backend saw authorization %q", got)
	}
	if got := me(browser, "Authorization", "Bearer from-the-header"); got != "Bearer from-the-header" {
		t.Fatalf("an explicit header must win over the cookie; backend saw %q", got)
	}
	if got := me(client); got != "" {
		t.Fatalf("without cookie or header the backend saw %q", got)
	}
}

func TestLogInSetsAReadableCSRFCookie(t *testing.T) {
	_, base := startSessionGateway(t, nil)
	resp := logIn(t, client, base, "ok@example.it")
	session, csrf := sessionCookie(t, resp), cookieNamed(resp, csrfCookie)
	if session == nil || csrf == nil {
		t.Fatalf("cookies after log-in: %v", resp.Header.Values("Set-Cookie"))
	}
	if csrf.HttpOnly || len(csrf.Value) < 26 || csrf.Path != "/" || csrf.SameSite != http.SameSiteLaxMode || csrf.MaxAge != session.MaxAge {
		t.Fatalf("csrf cookie = %+v; want readable by scripts, random, Path=/, Lax, living as long as the session", csrf)
	}
	if again := cookieNamed(logIn(t, client, base, "ok@example.it"), csrfCookie); again == nil || again.Value == csrf.Value {
		t.Fatalf("a second log-in reused the CSRF value: %+v", again)
	}
}

// write sends PATCH /v1/me, a write, and returns the status and what the
// backend saw as authorization (or the error message).
func write(t *testing.T, c *http.Client, base string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, base+"/v1/me", strings.NewReader(`{"display_name":"Chiara"}`))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		e, err := parseErrorBody(raw)
		if err != nil {
			t.Fatalf("PATCH /v1/me: %d with a body that is not a Status: %v: %s", resp.StatusCode, err, raw)
		}
		return resp.StatusCode, e.Status + ": " + e.Message
	}
	var body struct {
		DisplayName string `json:"display_name"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("PATCH /v1/me: %d with a body that is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body.DisplayName
}

func TestCookieAuthenticatedWritesNeedTheCSRFHeader(t *testing.T) {
	_, base := startSessionGateway(t, nil)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	csrf := cookieNamed(logIn(t, browser, base, "ok@example.it"), csrfCookie).Value

	tests := []struct {
		name   string
		client *http.Client
		header []string
		status int
		saw    string
	}{
		{"cookie without the header", browser, nil, http.StatusForbidden, "PERMISSION_DENIED: a write authenticated by the session cookie must send"},
		{"cookie with a wrong header", browser, []string{csrfHeader, "AAAAAAAAAAAAAAAAAAAAAAAAAA"}, http.StatusForbidden, "PERMISSION_DENIED"},
		{"cookie with the header", browser, []string{csrfHeader, csrf}, http.StatusOK, "Bearer " + stubToken},
		{"a bearer token needs no header", client, []string{"Authorization", "Bearer from-the-header"}, http.StatusOK, "Bearer from-the-header"},
		{"a bearer token wins over the cookie", browser, []string{"Authorization", "Bearer from-the-header"}, http.StatusOK, "Bearer from-the-header"},
		{"no credentials at all", client, nil, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, saw := write(t, tt.client, base, tt.header...)
			if status != tt.status || !strings.HasPrefix(saw, tt.saw) {
				t.Fatalf("PATCH /v1/me = %d %q, want %d %q", status, saw, tt.status, tt.saw)
			}
		})
	}

	// Logging in again with the cookie still there, and without the CSRF
	// header, works: log-in acts as nobody, so the old cookie is not sent on.
	stale := &http.Cookie{Name: credentialCookie, Value: "expired.token.value"}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/sessions", strings.NewReader(`{"email":"ok@example.it","password":"una password lunga"}`))
	req.AddCookie(stale)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log-in with a stale cookie: %d", resp.StatusCode)
	}

	// The portal's pages under "/" are not the API's business.
	page, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader("email=x"))
	page.AddCookie(stale)
	resp, err = client.Do(page)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if strings.Contains(string(raw), csrfHeader) {
		t.Fatalf("the API's CSRF check answered a portal form: %d %s", resp.StatusCode, raw)
	}
}

func TestRefreshReplacesTheCookieAndLogOutRemovesIt(t *testing.T) {
	_, base := startSessionGateway(t, nil)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	csrf := cookieNamed(logIn(t, browser, base, "ok@example.it"), csrfCookie).Value

	send := func(method, path string, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	if resp := send(http.MethodPost, "/v1/sessions:refresh"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refresh by cookie without the CSRF header: %d", resp.StatusCode)
	}
	refreshed := send(http.MethodPost, "/v1/sessions:refresh", csrfHeader, csrf)
	if c := sessionCookie(t, refreshed); refreshed.StatusCode != http.StatusOK || c == nil || c.Value != stubToken2 {
		t.Fatalf("refresh: %d, cookie %+v", refreshed.StatusCode, c)
	}
	if c := cookieNamed(refreshed, csrfCookie); c == nil || c.Value != csrf || c.MaxAge <= 0 {
		t.Fatalf("refresh changed or dropped the CSRF value: %+v", c)
	}
	if _, saw := write(t, browser, base, csrfHeader, csrf); saw != "Bearer "+stubToken2 {
		t.Fatalf("after the refresh the backend saw %q", saw)
	}

	out := send(http.MethodDelete, "/v1/sessions/current", csrfHeader, csrf)
	if out.StatusCode != http.StatusOK {
		t.Fatalf("log out: %d", out.StatusCode)
	}
	for _, name := range []string{credentialCookie, csrfCookie} {
		if c := cookieNamed(out, name); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Fatalf("log-out left cookie %s: %+v", name, c)
		}
	}
	if _, saw := write(t, browser, base); saw != "" {
		t.Fatalf("after log-out the browser still sends a session: %q", saw)
	}

	// Logging out with a session the backend refuses still drops the cookies.
	req, _ := http.NewRequest(http.MethodDelete, base+"/v1/sessions/current", nil)
	req.Header.Set("Authorization", "Bearer expired.token.value")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || sessionCookie(t, resp) == nil || sessionCookie(t, resp).MaxAge >= 0 {
		t.Fatalf("refused log-out: %d, cookies %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
}
