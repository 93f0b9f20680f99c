package apitest

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	notification "github.com/gemella/gemella/services/notification/service"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
)

// startNotification runs the notification service, which has no
// in-memory store, on its own embedded FerretDB and NATS, asking the
// in-memory services at their addresses; it returns once the service is
// SERVING.
func startNotification(t *testing.T, pub ed25519.PublicKey, catalog, twinning, discussion string, quiet *slog.Logger) string {
	t.Helper()
	dir := t.TempDir()
	nats, err := embedded.StartNATS(embedded.NATSOptions{StoreDir: filepath.Join(dir, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	fdb, err := embedded.StartFerretDB(context.Background(), embedded.FerretDBOptions{Dir: filepath.Join(dir, "ferretdb"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fdb.Stop)
	cfg := notification.DefaultConfig()
	cfg.GRPC.Addr = "127.0.0.1:0"
	cfg.Mongo.URI, cfg.Mongo.DocLocks = fdb.URI(), config.DocLocksLease
	cfg.NATS.URL = nats.URL()
	cfg.Auth.PublicKeys = base64.StdEncoding.EncodeToString(pub)
	cfg.CatalogAddr, cfg.TwinningAddr, cfg.DiscussionAddr = catalog, twinning, discussion
	svc, err := notification.New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	addr := run(t, "notification", svc)
	health := healthpb.NewHealthClient(dial(t, addr))
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("the notification service is not serving: %v %v", res.GetStatus(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
