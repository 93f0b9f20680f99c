package server

import (
	"context"
	"encoding/json"
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
	for _, c := range resp.Cookies() {
		if c.Name == credentialCookie {
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
