package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gemella/gemella/services/platform/auth"
)

// Every service authorizes every write, so the harness writes its data as
// a member too: one that exists only in tokens it signs itself with a key
// made for the run, which the services under test are configured to trust.
const (
	benchMemberID = "bench-harness"
	// benchTokenTTL outlives the longest run.
	benchTokenTTL = time.Hour
)

// identity signs the harness's tokens.
type identity struct {
	issuer *auth.Issuer
}

func newIdentity() (*identity, error) {
	key, err := auth.GenerateKey()
	if err != nil {
		return nil, err
	}
	issuer, err := auth.NewIssuer(key, benchTokenTTL)
	if err != nil {
		return nil, err
	}
	return &identity{issuer: issuer}, nil
}

func (id *identity) publicKey() ed25519.PublicKey { return id.issuer.PublicKey() }

// publicKeys is the services' GEMELLA_AUTH_PUBLIC_KEYS.
func (id *identity) publicKeys() string {
	return base64.StdEncoding.EncodeToString(id.issuer.PublicKey())
}

// as returns ctx carrying the token of a member with every role who is a
// verified editor of orgIDs.
func (id *identity) as(ctx context.Context, orgIDs ...string) (context.Context, error) {
	token, _, err := id.issuer.Issue(auth.Caller{
		MemberID: benchMemberID, DisplayName: "Benchmark harness",
		Roles:         []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator, auth.RoleAdministrator},
		Organizations: orgIDs,
	})
	if err != nil {
		return nil, fmt.Errorf("harness token: %w", err)
	}
	return auth.WithBearerToken(ctx, token), nil
}
