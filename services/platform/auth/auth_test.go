package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

var t0 = time.Date(2025, 5, 16, 9, 30, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	k, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newIssuer(t *testing.T, key ed25519.PrivateKey) *auth.Issuer {
	t.Helper()
	i, err := auth.NewIssuer(key, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return i.WithClock(fixedClock(t0))
}

func newVerifier(t *testing.T, now time.Time, keys ...ed25519.PublicKey) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return v.WithClock(fixedClock(now))
}

var alice = auth.Caller{MemberID: "m-1", DisplayName: "Chiara Bellini", Roles: []string{auth.RoleMember, auth.RoleEditor}, Organizations: []string{"org-toscana"}}

func TestIssueAndVerifyRoundTrip(t *testing.T) {
	key := newKey(t)
	issuer := newIssuer(t, key)
	token, issued, err := issuer.Issue(alice)
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(token, "."); len(parts) != 3 {
		t.Fatalf("not a compact JWT: %q", token)
	}
	if !issued.ExpiresAt.Equal(t0.Add(15*time.Minute)) || !issued.IssuedAt.Equal(t0) || issued.KeyID != auth.KeyID(issuer.PublicKey()) {
		t.Fatalf("issued claims = %+v", issued)
	}
	got, err := newVerifier(t, t0.Add(time.Minute), issuer.PublicKey()).Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	if got.MemberID != "m-1" || got.DisplayName != "Chiara Bellini" || strings.Join(got.Roles, ",") != "member,editor" ||
		strings.Join(got.Organizations, ",") != "org-toscana" || !got.ExpiresAt.Equal(issued.ExpiresAt) || got.KeyID != issued.KeyID {
		t.Fatalf("verified claims = %+v, issued %+v", got, issued)
	}
	c := got.Caller()
	if !c.HasRole(auth.RoleEditor) || c.HasRole(auth.RoleModerator) || !c.IsEditorOf("org-toscana") || c.IsEditorOf("org-calabria") || c.IsAnonymous() || c.Actor() != "m-1" {
		t.Fatalf("caller helpers on %+v", c)
	}
	if _, _, err := issuer.Issue(auth.Anonymous); err == nil {
		t.Fatal("a token was issued to the anonymous caller")
	}
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	key := newKey(t)
	issuer := newIssuer(t, key)
	good, _, err := issuer.Issue(alice)
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer := newIssuer(t, newKey(t))
	foreign, _, _ := otherIssuer.Issue(alice)

	parts := strings.Split(good, ".")
	header, payload, sig := parts[0], parts[1], parts[2]
	// Claim to be an administrator, keeping the original signature.
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := strings.Replace(string(raw), `"editor"`, `"administrator"`, 1)
	tampered := header + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + sig
	// The "none" algorithm with no signature.
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	unsigned := noneHeader + "." + payload + "."
	// A valid signature over a flipped byte.
	sigBytes, _ := base64.RawURLEncoding.DecodeString(sig)
	sigBytes[0] ^= 1
	badSig := header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(sigBytes)

	tests := []struct {
		name  string
		token string
		at    time.Time
		want  string
	}{
		{"expired", good, t0.Add(16*time.Minute + auth.DefaultLeeway), "expired"},
		{"issued in the future", good, t0.Add(-time.Hour), "before issued"},
		{"signed with another key", foreign, t0, "unknown key"},
		{"tampered claims", tampered, t0, "signature"},
		{"flipped signature bit", badSig, t0, "signature"},
		{"alg none", unsigned, t0, "signing method"},
		{"garbage", "not.a.token", t0, "malformed"},
		{"empty", "", t0, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newVerifier(t, tt.at, issuer.PublicKey()).Verify(tt.token)
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify = %v, want ErrInvalidToken", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
	// Within the leeway an expired token still passes: clocks differ a little.
	if _, err := newVerifier(t, t0.Add(15*time.Minute+auth.DefaultLeeway/2), issuer.PublicKey()).Verify(good); err != nil {
		t.Fatalf("token within the leeway refused: %v", err)
	}
}

func TestVerifierAcceptsEveryListedKey(t *testing.T) {
	oldKey, newKeyPair := newKey(t), newKey(t)
	oldToken, _, _ := newIssuer(t, oldKey).Issue(alice)
	newToken, _, _ := newIssuer(t, newKeyPair).Issue(alice)
	v := newVerifier(t, t0, oldKey.Public().(ed25519.PublicKey), newKeyPair.Public().(ed25519.PublicKey))
	for name, token := range map[string]string{"old": oldToken, "new": newToken} {
		if _, err := v.Verify(token); err != nil {
			t.Errorf("%s key: %v", name, err)
		}
	}
	if _, err := auth.NewVerifier(); err == nil {
		t.Error("a verifier without keys was built")
	}
}

func TestKeysParseInEveryForm(t *testing.T) {
	key := newKey(t)
	pemText, err := auth.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]string{
		"pem":         string(pemText),
		"seed base64": base64.StdEncoding.EncodeToString(key.Seed()),
		"key base64":  base64.RawURLEncoding.EncodeToString(key),
	}
	for name, text := range forms {
		got, err := auth.ParsePrivateKey([]byte(text))
		if err != nil || !got.Equal(key) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, text := range map[string]string{
		"empty":       "",
		"short":       base64.StdEncoding.EncodeToString([]byte("short")),
		"public pem":  "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
		"not base64!": "???",
	} {
		if _, err := auth.ParsePrivateKey([]byte(text)); err == nil {
			t.Errorf("%s parsed as a private key", name)
		}
	}
	pubPEM, _ := auth.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	pub, err := auth.ParsePublicKey(pubPEM)
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("public key round trip: %v", err)
	}
}

func TestLoadOrCreateKeyFileKeepsTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "auth", "signing-key.pem")
	first, err := auth.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o, want 600", perm)
	}
	again, err := auth.LoadOrCreateKeyFile(path)
	if err != nil || !again.Equal(first) {
		t.Fatalf("second load made another key: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("folder holds %d files, want only the key", len(entries))
	}
	cfg := auth.KeyConfig{KeyFile: path}
	if err := cfg.Validate("GEMELLA_"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("a corrupt key file was replaced or accepted")
	}
}

func TestKeyConfigValidate(t *testing.T) {
	pemText, _ := auth.MarshalPrivateKeyPEM(newKey(t))
	tests := []struct {
		name string
		cfg  auth.KeyConfig
		want string
	}{
		{"inline key", auth.KeyConfig{PrivateKey: string(pemText)}, ""},
		{"neither", auth.KeyConfig{}, "one is required"},
		{"both", auth.KeyConfig{PrivateKey: string(pemText), KeyFile: "/x"}, "not both"},
		{"bad inline", auth.KeyConfig{PrivateKey: "secret-but-wrong"}, "GEMELLA_AUTH_PRIVATE_KEY"},
		{"missing file", auth.KeyConfig{KeyFile: filepath.Join(t.TempDir(), "none.pem")}, "GEMELLA_AUTH_KEY_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate("GEMELLA_")
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-but-wrong") {
				t.Fatal("the key's text leaked into the error")
			}
		})
	}
}

func TestCallerInContext(t *testing.T) {
	ctx := context.Background()
	if c := auth.CallerFrom(ctx); !c.IsAnonymous() || c.Actor() != auth.AnonymousActor || c.HasRole(auth.RoleMember) {
		t.Fatalf("empty context: %+v", c)
	}
	if c := auth.CallerFrom(auth.WithCaller(ctx, alice)); c.MemberID != "m-1" {
		t.Fatalf("caller lost: %+v", c)
	}
	editorElsewhere := auth.Caller{MemberID: "m-2", Roles: []string{auth.RoleMember}, Organizations: []string{"org-toscana"}}
	if editorElsewhere.IsEditorOf("org-toscana") || alice.IsEditorOf("") {
		t.Fatal("IsEditorOf needs the editor role and a verified organisation")
	}
}

// whoAmI is a health server that tells the caller it saw through the status
// message, so that the interceptor can be tested over a real connection.
type whoAmI struct {
	healthpb.UnimplementedHealthServer
}

func (whoAmI) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return nil, status.Error(codes.NotFound, "caller="+auth.CallerFrom(ctx).Actor())
}

func (whoAmI) Watch(_ *healthpb.HealthCheckRequest, ss healthpb.Health_WatchServer) error {
	return status.Error(codes.NotFound, "caller="+auth.CallerFrom(ss.Context()).Actor())
}

// whoAmIDesc serves whoAmI under a name of its own: the health service
// itself needs no token (see auth.ExemptMethod), an application's does.
// (The generated health handler would report the health method's name to
// the interceptor, so Check has a handler of its own here.)
var whoAmIDesc = grpc.ServiceDesc{
	ServiceName: "gemella.test.WhoAmI",
	HandlerType: (*healthpb.HealthServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Check",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(healthpb.HealthCheckRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			check := func(ctx context.Context, req any) (any, error) {
				return srv.(healthpb.HealthServer).Check(ctx, req.(*healthpb.HealthCheckRequest))
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/gemella.test.WhoAmI/Check"}, check)
		},
	}},
	Streams: healthpb.Health_ServiceDesc.Streams,
}

// whoAmIClient calls whoAmI under whoAmIDesc's name.
type whoAmIClient struct{ conn *grpc.ClientConn }

func (c whoAmIClient) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	resp := new(healthpb.HealthCheckResponse)
	if err := c.conn.Invoke(ctx, "/"+whoAmIDesc.ServiceName+"/Check", req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (c whoAmIClient) Watch(ctx context.Context, req *healthpb.HealthCheckRequest) (grpc.ServerStreamingClient[healthpb.HealthCheckResponse], error) {
	stream, err := c.conn.NewStream(ctx, &whoAmIDesc.Streams[0], "/"+whoAmIDesc.ServiceName+"/Watch")
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(req); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse]{ClientStream: stream}, nil
}

func TestInterceptorsOverGRPC(t *testing.T) {
	key := newKey(t)
	issuer, err := auth.NewIssuer(key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	verifier, _ := auth.NewVerifier(issuer.PublicKey())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(auth.UnaryServerInterceptor(verifier)), grpc.StreamInterceptor(auth.StreamServerInterceptor(verifier)))
	srv.RegisterService(&whoAmIDesc, whoAmI{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := whoAmIClient{conn}

	good, _, _ := issuer.Issue(alice)
	expired, _, _ := issuer.WithClock(fixedClock(time.Now().Add(-time.Hour))).Issue(alice)
	foreign, _, _ := newIssuer(t, newKey(t)).Issue(alice)

	tests := []struct {
		name  string
		md    []string
		code  codes.Code
		inMsg string
		// reason is the ErrorInfo reason of a refusal.
		reason apperr.Reason
	}{
		{"no token is anonymous", nil, codes.NotFound, "caller=anonymous", ""},
		{"valid token", []string{"authorization", "Bearer " + good}, codes.NotFound, "caller=m-1", ""},
		{"scheme is case-insensitive", []string{"authorization", "bearer " + good}, codes.NotFound, "caller=m-1", ""},
		{"expired token", []string{"authorization", "Bearer " + expired}, codes.Unauthenticated, "expired", apperr.ReasonSessionExpired},
		{"another key", []string{"authorization", "Bearer " + foreign}, codes.Unauthenticated, "unknown key", apperr.ReasonTokenInvalid},
		{"malformed token", []string{"authorization", "Bearer not-a-token"}, codes.Unauthenticated, "malformed", apperr.ReasonTokenInvalid},
		{"tampered token", []string{"authorization", "Bearer " + good[:len(good)-2] + "xx"}, codes.Unauthenticated, "signature", apperr.ReasonTokenInvalid},
		{"basic auth", []string{"authorization", "Basic dXNlcjpwYXNz"}, codes.Unauthenticated, "Bearer", apperr.ReasonAuthenticationRequired},
		{"two values", []string{"authorization", "Bearer " + good, "authorization", "Bearer " + good}, codes.Unauthenticated, "one", apperr.ReasonAuthenticationRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if tt.md != nil {
				ctx = metadata.AppendToOutgoingContext(ctx, tt.md...)
			}
			_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			if st := status.Convert(err); st.Code() != tt.code || !strings.Contains(st.Message(), tt.inMsg) {
				t.Errorf("unary: %v, want %s mentioning %q", err, tt.code, tt.inMsg)
			}
			if got := refusalReasonOf(err); got != tt.reason {
				t.Errorf("unary: reason %q, want %q", got, tt.reason)
			}
			stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
			if err == nil {
				_, err = stream.Recv()
			}
			if st := status.Convert(err); st.Code() != tt.code || !strings.Contains(st.Message(), tt.inMsg) {
				t.Errorf("stream: %v, want %s mentioning %q", err, tt.code, tt.inMsg)
			}
		})
	}
	ctx, cancel := context.WithTimeout(auth.WithBearerToken(context.Background(), good), 5*time.Second)
	defer cancel()
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); !strings.Contains(status.Convert(err).Message(), "caller=m-1") {
		t.Fatalf("WithBearerToken: %v", err)
	}
}

func TestSessionClaimsSurviveTheRoundTrip(t *testing.T) {
	issuer := newIssuer(t, newKey(t))
	started := t0.Add(-3 * time.Hour)
	withSession := alice
	withSession.SessionID = "s-42"
	withSession.SessionStartedAt = started
	token, issued, err := issuer.Issue(withSession)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newVerifier(t, t0, issuer.PublicKey()).Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	if got.SessionID != "s-42" || !got.SessionStartedAt.Equal(started) || got.TokenID == "" || got.TokenID != issued.TokenID {
		t.Fatalf("session claims = %+v, issued %+v", got, issued)
	}
	if c := got.Caller(); c.SessionID != "s-42" || !c.SessionStartedAt.Equal(started) {
		t.Fatalf("caller lost the session: %+v", c)
	}
	again, second, _ := issuer.Issue(withSession)
	if again == token || second.TokenID == issued.TokenID {
		t.Fatal("two tokens share a jti")
	}
	plain, _, _ := issuer.Issue(alice)
	if c, _ := newVerifier(t, t0, issuer.PublicKey()).Verify(plain); c.SessionID != "" || !c.SessionStartedAt.IsZero() {
		t.Fatalf("a token without a session has session claims: %+v", c)
	}
}

func TestSystemCallerIsNeitherAnonymousNorAMember(t *testing.T) {
	sys := auth.System("practice-catalog")
	if sys.IsAnonymous() || sys.IsMember() || !sys.IsService("practice-catalog") || sys.IsService("twinning") {
		t.Fatalf("system caller predicates: %+v", sys)
	}
	if sys.Actor() != "system:practice-catalog" {
		t.Fatalf("actor = %q", sys.Actor())
	}
	for _, r := range auth.Roles {
		if sys.HasRole(r) {
			t.Fatalf("the system caller holds %s", r)
		}
	}
	if alice.IsService("") || auth.Anonymous.IsService("") {
		t.Fatal("a member or anonymous caller passes for a service")
	}
	if _, _, err := newIssuer(t, newKey(t)).Issue(sys); err == nil {
		t.Fatal("a token was issued to a system caller")
	}
}

func TestVerifierConfigReadsEveryForm(t *testing.T) {
	first, second, third := newKey(t), newKey(t), newKey(t)
	pub := func(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
	pemText, _ := auth.MarshalPublicKeyPEM(pub(first))
	file := filepath.Join(t.TempDir(), "previous.pub.pem")
	thirdPEM, _ := auth.MarshalPublicKeyPEM(pub(third))
	if err := os.WriteFile(file, thirdPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := auth.VerifierConfig{PublicKeys: string(pemText) + ", " + base64.StdEncoding.EncodeToString(pub(second)) + "," + file + ","}
	if err := cfg.Validate("GEMELLA_", true); err != nil {
		t.Fatal(err)
	}
	keys, err := cfg.Keys()
	if err != nil || len(keys) != 3 || !keys[0].Equal(pub(first)) || !keys[1].Equal(pub(second)) || !keys[2].Equal(pub(third)) {
		t.Fatalf("keys = %d, %v", len(keys), err)
	}
	own := newKey(t)
	v, err := cfg.Verifier(pub(own))
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]ed25519.PrivateKey{"own": own, "pem": first, "base64": second, "file": third} {
		token, _, _ := newIssuer(t, k).Issue(alice)
		if _, err := v.WithClock(fixedClock(t0)).Verify(token); err != nil {
			t.Errorf("token of the %s key: %v", name, err)
		}
	}

	privatePEM, _ := auth.MarshalPrivateKeyPEM(first)
	for name, tt := range map[string]struct {
		cfg      auth.VerifierConfig
		required bool
		want     string
	}{
		"empty but required":     {auth.VerifierConfig{}, true, "is required"},
		"empty and optional":     {auth.VerifierConfig{PublicKeys: " , "}, false, ""},
		"a private key":          {auth.VerifierConfig{PublicKeys: string(privatePEM)}, false, "entry 1"},
		"missing file":           {auth.VerifierConfig{PublicKeys: filepath.Join(t.TempDir(), "none.pem")}, false, "readable file"},
		"short base64":           {auth.VerifierConfig{PublicKeys: string(pemText) + "," + base64.StdEncoding.EncodeToString([]byte("short"))}, true, "entry 2"},
		"a file with a bad key":  {auth.VerifierConfig{PublicKeys: writeFile(t, "garbage")}, false, "public key file"},
		"every problem reported": {auth.VerifierConfig{PublicKeys: "???,!!!"}, false, "entry 2"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tt.cfg.Validate("GEMELLA_", tt.required)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "GEMELLA_AUTH_PUBLIC_KEYS") {
				t.Fatalf("Validate = %v, want it to name GEMELLA_AUTH_PUBLIC_KEYS and mention %q", err, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// refusalReasonOf is the ErrorInfo reason of a refused call, "" for none.
func refusalReasonOf(err error) apperr.Reason {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return apperr.Reason(info.GetReason())
		}
	}
	return ""
}
