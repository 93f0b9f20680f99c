package service_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/auth"
)

// staff signs this package's session tokens. Its key is the one every
// catalog the tests start verifies with (GEMELLA_AUTH_PUBLIC_KEYS), and its
// tokens name a coordinator and administrator who is a verified editor of
// every organisation the tests have created: the tests here are about what
// the catalog does; who may ask is policy_test.go's and deploy/devstack/
// authz's business.
type staff struct {
	issuer *auth.Issuer
	mu     sync.Mutex
	orgs   []string
}

var testStaff = func() *staff {
	key, err := auth.GenerateKey()
	if err != nil {
		panic(err)
	}
	issuer, err := auth.NewIssuer(key, time.Hour)
	if err != nil {
		panic(err)
	}
	// The staff also speaks for the ids that tests send to provoke the
	// catalog's own checks (an unknown owner, a malformed id): those
	// checks, not the policy, must answer them.
	return &staff{issuer: issuer, orgs: []string{"nobody", "nobody!"}}
}()

// publicKey is the value of GEMELLA_AUTH_PUBLIC_KEYS.
func (s *staff) publicKey() string { return base64.StdEncoding.EncodeToString(s.issuer.PublicKey()) }

// token is a fresh staff token.
func (s *staff) token() string {
	s.mu.Lock()
	orgs := slices.Clone(s.orgs)
	s.mu.Unlock()
	token, _, err := s.issuer.Issue(auth.Caller{
		MemberID: "test-staff", Roles: []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator, auth.RoleAdministrator},
		Organizations: orgs,
	})
	if err != nil {
		panic(err)
	}
	return token
}

// tokenOf signs a token for c.
func (s *staff) tokenOf(c auth.Caller) string {
	token, _, err := s.issuer.Issue(c)
	if err != nil {
		panic(err)
	}
	return token
}

// saw records an organisation the staff now edits.
func (s *staff) saw(id string) {
	if id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.orgs, id) {
		s.orgs = append(s.orgs, id)
	}
}

// dialOption makes a gRPC client call as the staff, unless the call sets
// its own token, and notes the organisations it creates.
func (s *staff) dialOption() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get(auth.MetadataKey)) == 0 {
			ctx = auth.WithBearerToken(ctx, s.token())
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		if o, ok := reply.(*catalogv1.Organization); ok && err == nil && method == catalogv1.CatalogService_CreateOrganization_FullMethodName {
			s.saw(o.GetId())
		}
		return err
	})
}

// authorize makes an HTTP request as the staff unless it names a token.
func (s *staff) authorize(req *http.Request) {
	if req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+s.token())
	}
}

// sawCreated notes the organisation a successful POST /v1/organizations made.
func (s *staff) sawCreated(method, path string, status int, body map[string]any) {
	if method == http.MethodPost && path == "/v1/organizations" && status == http.StatusOK {
		id, _ := body["id"].(string)
		s.saw(id)
	}
}
