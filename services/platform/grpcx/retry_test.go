package grpcx_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// catalogReplica answers GetPractice and CreatePractice, or UNAVAILABLE
// to both when down, as a replica does while it stops or has lost its
// store; it counts the calls it got.
type catalogReplica struct {
	catalogv1.UnimplementedCatalogServiceServer
	down         bool
	delay        time.Duration // before answering a read
	reads, write atomic.Int64
	addr         string
}

func (r *catalogReplica) GetPractice(_ context.Context, req *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	r.reads.Add(1)
	time.Sleep(r.delay)
	if r.down {
		return nil, status.Error(codes.Unavailable, "the store is unavailable")
	}
	return &catalogv1.Practice{Id: req.GetId()}, nil
}

func (r *catalogReplica) CreatePractice(context.Context, *catalogv1.CreatePracticeRequest) (*catalogv1.Practice, error) {
	r.write.Add(1)
	if r.down {
		return nil, status.Error(codes.Unavailable, "the store is unavailable")
	}
	return &catalogv1.Practice{Id: "new"}, nil
}

func startCatalogReplica(t *testing.T, r *catalogReplica) {
	t.Helper()
	r.addr, _ = serveReplica(t, "127.0.0.1:0", config.ServerTLS{}, func(s *grpc.Server) { catalogv1.RegisterCatalogServiceServer(s, r) })
}

// A read that one replica answers UNAVAILABLE is tried again on the
// other: the caller never sees the failure. A write is not retried, as
// the replica may have applied it before failing.
func TestDialRetriesReadsOnAnotherReplica(t *testing.T) {
	down, up := &catalogReplica{down: true}, &catalogReplica{}
	startCatalogReplica(t, down)
	startCatalogReplica(t, up)
	r := manual.NewBuilderWithScheme("catalogs")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: down.addr}, {Addr: up.addr}}})
	conn, err := grpcx.Dial("catalogs:///catalog", 5*time.Second, grpc.WithResolvers(r))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := catalogv1.NewCatalogServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Round robin picks only the replicas already connected: the first
	// reads may all go to one. Read until the down replica has seen some
	// (each read must succeed all the same), or give up after 10 s.
	until := time.Now().Add(10 * time.Second)
	for i := 0; i < 40 || (down.reads.Load() < 3 && time.Now().Before(until)); i++ {
		if _, err := client.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: "p1"}); err != nil {
			t.Fatalf("read %d failed: %v (the down replica got %d reads)", i, err, down.reads.Load())
		}
	}
	if down.reads.Load() == 0 {
		t.Fatal("no read reached the down replica: the test proves nothing")
	}
	var failed int
	for range 40 {
		if _, err := client.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{}); status.Code(err) == codes.Unavailable {
			failed++
		}
	}
	if failed == 0 || down.write.Load() != int64(failed) {
		t.Fatalf("%d of 40 writes failed, the down replica got %d: writes must not be retried", failed, down.write.Load())
	}
}

// A read that failed UNAVAILABLE quickly is tried again (three attempts
// in all); one that failed after waiting (its store or search index did
// not answer in time) is not, as another attempt would wait as long.
func TestASlowUnavailableIsNotRetried(t *testing.T) {
	for _, c := range []struct {
		name     string
		delay    time.Duration
		attempts int64
	}{{"quick", 0, 3}, {"slow", 400 * time.Millisecond, 1}} {
		t.Run(c.name, func(t *testing.T) {
			r := &catalogReplica{down: true, delay: c.delay}
			startCatalogReplica(t, r)
			conn, err := grpcx.Dial(r.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			client := catalogv1.NewCatalogServiceClient(conn)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := client.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: "p1"}); status.Code(err) != codes.Unavailable {
				t.Fatalf("read: %v, want UNAVAILABLE", err)
			}
			if got := r.reads.Load(); got != c.attempts {
				t.Fatalf("the replica got %d attempts, want %d", got, c.attempts)
			}
		})
	}
}
