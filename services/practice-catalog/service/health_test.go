package service_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/embedded"
)

// TestAStoreOutageIsNotServingAnd503 stops the catalog's store under it:
// the health service says NOT_SERVING, overall and for the catalog's
// service, a gRPC call is refused with Unavailable rather than waiting for
// its deadline, and the gateway answers 503; once the store is back the
// catalog serves again, without a restart.
func TestAStoreOutageIsNotServingAnd503(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
	store := embedded.RestartableFerretDBForTest(t)
	e := startOn(t, store.URI())
	health := healthpb.NewHealthClient(e.conn)
	statusOf := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN
		}
		return resp.GetStatus()
	}
	waitStatus := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for statusOf("") != want || statusOf(catalogv1.CatalogService_ServiceDesc.ServiceName) != want {
			if time.Now().After(deadline) {
				t.Fatalf("health is still not %s", want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	list := func() error {
		// A deadline far past the time the catalog needs to refuse: the
		// call ends Unavailable, not DeadlineExceeded.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := e.client.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: 1})
		return err
	}
	waitStatus(healthpb.HealthCheckResponse_SERVING)
	if err := list(); err != nil {
		t.Fatalf("list with the store up: %v", err)
	}

	stopped := time.Now()
	store.Stop()
	t.Logf("the store took %s to stop", time.Since(stopped).Round(10*time.Millisecond))
	waitStatus(healthpb.HealthCheckResponse_NOT_SERVING)
	t.Logf("NOT_SERVING %s after the store stopped", time.Since(stopped).Round(10*time.Millisecond))
	called := time.Now()
	if err := list(); status.Code(err) != codes.Unavailable {
		t.Fatalf("list with the store down: %v, want Unavailable", err)
	}
	t.Logf("a call refused in %s", time.Since(called).Round(time.Microsecond))
	if r := e.do(t, "GET", "/v1/practices", ""); r.status != 503 || r.errorStatus() != "UNAVAILABLE" {
		t.Fatalf("REST list with the store down: %d %v, want 503 UNAVAILABLE", r.status, r.body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.Start(ctx); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	waitStatus(healthpb.HealthCheckResponse_SERVING)
	t.Logf("SERVING %s after the store started again", time.Since(started).Round(10*time.Millisecond))
	if err := list(); err != nil {
		t.Fatalf("list with the store back: %v", err)
	}
	if r := e.do(t, "GET", "/v1/practices", ""); r.status != 200 {
		t.Fatalf("REST list with the store back: %d %v", r.status, r.body)
	}
}
