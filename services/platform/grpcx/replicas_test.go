package grpcx_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// replica is one grpcx server with the test service, counting the calls it
// served.
type replica struct {
	testgrpc.UnimplementedTestServiceServer
	calls atomic.Int64
	addr  string
	stop  func()
}

func (r *replica) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	r.calls.Add(1)
	return &testgrpc.Empty{}, nil
}

// startReplica serves a real grpcx server on addr (127.0.0.1:0 for a free
// port) until the test ends or r.stop.
func startReplica(t *testing.T, r *replica, addr string, tlsCfg config.ServerTLS) {
	t.Helper()
	r.addr, r.stop = serveReplica(t, addr, tlsCfg, func(s *grpc.Server) { testgrpc.RegisterTestServiceServer(s, r) })
}

// serveReplica runs a real grpcx server with what register puts on it until the
// test ends or stop; it returns the address it listens on.
func serveReplica(t *testing.T, addr string, tlsCfg config.ServerTLS, register func(*grpc.Server)) (string, func()) {
	t.Helper()
	srv, err := grpcx.NewServer(grpcx.ServerOptions{
		Name:   "replica",
		Config: config.GRPCServer{Addr: addr, DefaultDeadline: 5 * time.Second, TLS: tlsCfg},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	register(srv.GRPC())
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	bound := srv.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once bool
	stop := func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replica at %s: %v", bound, err)
		}
	}
	t.Cleanup(stop)
	return bound, stop
}

// twoReplicas resolves to both replicas' addresses, as DNS answers for a
// headless Service with two ready pods; the resolver carries no service
// config, so the balancing is what Dial installs.
func twoReplicas(a, b *replica) grpc.DialOption {
	r := manual.NewBuilderWithScheme("replicas")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: a.addr}, {Addr: b.addr}}})
	return grpc.WithResolvers(r)
}

func TestDialSpreadsCallsOverReplicas(t *testing.T) {
	a, b := &replica{}, &replica{}
	startReplica(t, a, "127.0.0.1:0", config.ServerTLS{})
	startReplica(t, b, "127.0.0.1:0", config.ServerTLS{})
	conn, err := grpcx.Dial("replicas:///catalog", 5*time.Second, twoReplicas(a, b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := testgrpc.NewTestServiceClient(conn)

	// Round robin sends every other call to each replica once both are
	// connected; with gRPC's default (pick first) one would get them all.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for a.calls.Load() < 10 || b.calls.Load() < 10 {
		if _, err := client.EmptyCall(ctx, &testgrpc.Empty{}); err != nil {
			t.Fatalf("call after %d+%d: %v", a.calls.Load(), b.calls.Load(), err)
		}
	}
	beforeA, beforeB := a.calls.Load(), b.calls.Load()
	for range 100 {
		if _, err := client.EmptyCall(ctx, &testgrpc.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	gotA, gotB := a.calls.Load()-beforeA, b.calls.Load()-beforeB
	if gotA+gotB != 100 || gotA < 40 || gotB < 40 {
		t.Fatalf("100 calls went %d to one replica and %d to the other, want about half each", gotA, gotB)
	}
}

func TestDialUsesARestartedReplicaAgain(t *testing.T) {
	a, b := &replica{}, &replica{}
	startReplica(t, a, "127.0.0.1:0", config.ServerTLS{})
	startReplica(t, b, "127.0.0.1:0", config.ServerTLS{})
	conn, err := grpcx.Dial("replicas:///catalog", 5*time.Second, twoReplicas(a, b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := testgrpc.NewTestServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for b.calls.Load() == 0 {
		if _, err := client.EmptyCall(ctx, &testgrpc.Empty{}); err != nil {
			t.Fatal(err)
		}
	}

	// While b is down, a serves every call: none fails.
	b.stop()
	for range 50 {
		if _, err := client.EmptyCall(ctx, &testgrpc.Empty{}); err != nil {
			t.Fatalf("call with one replica down: %v", err)
		}
	}

	// b comes back on the same address and is used again within 5 s
	// (FastReconnect retries at most a second apart).
	back := &replica{}
	startReplica(t, back, b.addr, config.ServerTLS{})
	within, cancelWithin := context.WithTimeout(ctx, 5*time.Second)
	defer cancelWithin()
	for back.calls.Load() == 0 {
		if _, err := client.EmptyCall(within, &testgrpc.Empty{}); err != nil {
			if errors.Is(within.Err(), context.DeadlineExceeded) {
				t.Fatalf("the restarted replica got no call within 5 s (a served %d)", a.calls.Load())
			}
			t.Fatalf("call while the replica returns: %v", err)
		}
	}
}

func TestDialResolvesDNSTargets(t *testing.T) {
	r := &replica{}
	startReplica(t, r, "127.0.0.1:0", config.ServerTLS{})
	_, port, _ := strings.Cut(r.addr, ":")
	conn, err := grpcx.Dial("dns:///localhost:"+port, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := testgrpc.NewTestServiceClient(conn).EmptyCall(ctx, &testgrpc.Empty{}); err != nil {
		t.Fatalf("call through dns:///localhost:%s: %v", port, err)
	}
	if r.calls.Load() != 1 {
		t.Fatalf("replica served %d calls, want 1", r.calls.Load())
	}
}
