package stack

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// Every service authorizes every call, so the demo data is loaded with an
// identity too. The devstack, and only the devstack, signs tokens itself
// for that: it holds the signing key (DataDir/auth/signing-key.pem, shared
// with the discussion service), and mints a token for a member that does
// not exist, the "demo loader", who is an administrator, coordinator and
// moderator and a verified editor of every organisation. A real
// installation has no such token: its first administrator is made with
// `discussion bootstrap-admin` (README, "First administrator"), and
// everything else is done by members who logged in.
const (
	// LoaderMemberID is the demo loader as recorded in histories and events.
	LoaderMemberID = "devstack-demo-loader"
	loaderName     = "Dati dimostrativi (devstack)"
	// loaderTokenTTL covers a slow first load on FerretDB.
	loaderTokenTTL = time.Hour
)

// signingKeyFile is where the devstack keeps the session signing key.
func signingKeyFile(dataDir string) string { return filepath.Join(dataDir, "auth", "signing-key.pem") }

// loader signs the demo loader's tokens.
type loader struct {
	issuer *auth.Issuer
}

func newLoader(key ed25519.PrivateKey) (*loader, error) {
	issuer, err := auth.NewIssuer(key, loaderTokenTTL)
	if err != nil {
		return nil, err
	}
	return &loader{issuer: issuer}, nil
}

// publicKey is what the verifying services are configured with
// (GEMELLA_AUTH_PUBLIC_KEYS), base64.
func (l *loader) publicKey() string { return base64.StdEncoding.EncodeToString(l.issuer.PublicKey()) }

// context returns ctx carrying the demo loader's token, an editor of orgIDs.
func (l *loader) context(ctx context.Context, orgIDs []string) (context.Context, error) {
	token, _, err := l.issuer.Issue(auth.Caller{
		MemberID: LoaderMemberID, DisplayName: loaderName,
		Roles:         []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator, auth.RoleModerator, auth.RoleAdministrator},
		Organizations: orgIDs,
	})
	if err != nil {
		return nil, fmt.Errorf("demo loader token: %w", err)
	}
	return auth.WithBearerToken(ctx, token), nil
}

// AdminContext returns ctx carrying a token of the demo loader, a member
// with every role who is a verified editor of every organisation in the
// catalog now: for the devstack's own tools and tests, never for a real
// installation.
func (s *Stack) AdminContext(ctx context.Context) (context.Context, error) {
	conn, err := grpcx.Dial(s.CatalogAddr(), clientDeadline)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ids, err := organizationIDs(ctx, conn)
	if err != nil {
		return nil, err
	}
	return s.loader.context(ctx, ids)
}

// SigningKeyFile is the file holding the key that signs session tokens,
// for tests that mint their own.
func (s *Stack) SigningKeyFile() string { return s.keyFile }

// organizationIDs pages through the catalog's organisations.
func organizationIDs(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	client := catalogv1.NewCatalogServiceClient(conn)
	var ids []string
	for token := ""; ; {
		callCtx, cancel := context.WithTimeout(ctx, clientDeadline)
		page, err := client.ListOrganizations(callCtx, &catalogv1.ListOrganizationsRequest{PageSize: 100, PageToken: token})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", err)
		}
		for _, o := range page.GetOrganizations() {
			ids = append(ids, o.GetId())
		}
		if token = page.GetNextPageToken(); token == "" {
			return ids, nil
		}
	}
}
