package replicatest

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/grpcx"
	catalog "github.com/gemella/gemella/services/practice-catalog/service"
)

// Two catalog replicas on one embedded FerretDB, the configuration the
// devstack and the compose file give the embedded store
// (GEMELLA_CATALOG_MONGO_DOC_LOCKS=true): two updates of one organisation
// with the same etag, one through each replica at the same moment, end in
// exactly one success and one ABORTED (the gateway's 412) in every round,
// and the stored organisation is the winner's. Before the locks held
// across processes both answered OK in 30 rounds of 30 (issue #16).
func TestTwoCatalogReplicasNeverBothAcceptOneEtag(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two catalog replicas on the embedded FerretDB")
	}
	const rounds = 30
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	ferret, nats := embedded.FerretDBForTest(t), embedded.NATSForTest(t)
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer(key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := issuer.Issue(auth.Caller{MemberID: "replica-test", DisplayName: "Replica test",
		Roles: []string{auth.RoleMember, auth.RoleEditor, auth.RoleAdministrator}})
	if err != nil {
		t.Fatal(err)
	}
	publicKey := base64.StdEncoding.EncodeToString(issuer.PublicKey())

	var replicas []catalogv1.CatalogServiceClient
	for i := range 2 {
		replicas = append(replicas, startCatalog(ctx, t, i, ferret.URI(), nats.URL(), publicKey))
	}
	asAdmin := auth.WithBearerToken(ctx, admin)

	for round := range rounds {
		org, err := replicas[0].CreateOrganization(asAdmin, &catalogv1.CreateOrganizationRequest{Organization: &catalogv1.Organization{
			Name: fmt.Sprintf("Replicated %d", round), Kind: catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION,
			Territory: &catalogv1.Territory{Code: "ITI1", Name: "Toscana"},
		}})
		if err != nil {
			t.Fatalf("round %d: create organisation: %v", round, err)
		}
		start := make(chan struct{})
		results := make([]error, len(replicas))
		var wg sync.WaitGroup
		for i, r := range replicas {
			wg.Go(func() {
				<-start
				_, results[i] = r.UpdateOrganization(asAdmin, &catalogv1.UpdateOrganizationRequest{
					Organization: &catalogv1.Organization{Id: org.GetId(), Etag: org.GetEtag(), Description: fmt.Sprintf("written by replica %d", i)},
					UpdateMask:   &fieldmaskpb.FieldMask{Paths: []string{"description"}},
				})
			})
		}
		close(start)
		wg.Wait()
		winner, ok, aborted := -1, 0, 0
		for i, err := range results {
			switch status.Code(err) {
			case codes.OK:
				ok++
				winner = i
			case codes.Aborted:
				aborted++
			default:
				t.Fatalf("round %d: replica %d: %v", round, i, err)
			}
		}
		if ok != 1 || aborted != 1 {
			t.Fatalf("round %d: %d updates with etag %s succeeded and %d were refused; want exactly one of each", round, ok, org.GetEtag(), aborted)
		}
		stored, err := replicas[1-winner].GetOrganization(ctx, &catalogv1.GetOrganizationRequest{Id: org.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("written by replica %d", winner); stored.GetDescription() != want {
			t.Fatalf("round %d: stored description %q, want the winner's %q", round, stored.GetDescription(), want)
		}
	}
}

// startCatalog runs one catalog replica until the test ends and returns a
// client of it, once it is SERVING.
func startCatalog(ctx context.Context, t *testing.T, n int, mongoURI, natsURL, publicKey string) catalogv1.CatalogServiceClient {
	t.Helper()
	cfg := catalog.DefaultConfig()
	cfg.GRPC.Addr = "127.0.0.1:0"
	cfg.GRPC.DefaultDeadline = 30 * time.Second
	cfg.Mongo.URI = mongoURI
	cfg.Mongo.Database = "gemella_catalog"
	cfg.Mongo.DocLocks = config.DocLocksLease
	cfg.Mongo.Timeout = 20 * time.Second
	cfg.Search.Dir = filepath.Join(t.TempDir(), fmt.Sprintf("search-%d", n))
	cfg.NATS.URL = natsURL
	cfg.NATS.StreamReplicas = 1
	cfg.Auth.PublicKeys = publicKey
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := catalog.New(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("catalog replica %d: %v", n, err)
	}
	if err := svc.Listen(); err != nil {
		svc.Close()
		t.Fatalf("catalog replica %d: %v", n, err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("catalog replica %d: %v", n, err)
		}
	})
	if err := svc.WaitReady(ctx); err != nil {
		t.Fatalf("catalog replica %d: %v", n, err)
	}
	conn, err := grpcx.Dial(svc.Addr(), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return catalogv1.NewCatalogServiceClient(conn)
}
