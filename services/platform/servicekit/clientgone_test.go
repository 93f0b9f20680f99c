package servicekit_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/servicekit"
)

// stallProxy forwards TCP to the store; while stalled it holds the
// store's answers back, so that an operation in flight waits for them as
// it would for a slow store.
type stallProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	held   bool
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(func() { _ = ln.Close(); p.stall(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *stallProxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		p.mu.Lock()
		for p.held {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = c.Close()
	_ = s.Close()
}

func (p *stallProxy) stall(on bool) {
	p.mu.Lock()
	p.held = on
	p.mu.Unlock()
	p.cond.Broadcast()
}

// lines keeps what a logger writes, for a test to read.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// reader is a service whose one call reads the store, and says when it
// has started and what the read returned.
type reader struct {
	testgrpc.UnimplementedTestServiceServer
	db      *mongo.Database
	started chan struct{}
	ended   chan error
}

func (r *reader) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	r.started <- struct{}{}
	err := r.db.Collection("things").FindOne(ctx, bson.D{}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = nil
	}
	r.ended <- err
	if err != nil {
		return nil, err
	}
	return &testgrpc.Empty{}, nil
}

// A client that goes away while its call reads the store (a browser
// closing the live stream of notifications) makes the store's driver
// fail the read with a network error that wraps context.Canceled. That is
// no store outage: it is logged below ERROR, without "the database is
// unreachable".
func TestAClientGoneDuringAStoreReadIsNoOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
	store := embedded.FerretDBForTest(t)
	broker := embedded.NATSForTest(t)
	u, err := url.Parse(store.URI())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()

	rd := &reader{started: make(chan struct{}, 1), ended: make(chan error, 1)}
	d := servicekit.Declaration{Name: "kit-gone", EnvPrefix: "GEMELLA_KITGONE_", Build: func(_ context.Context, p servicekit.Ports) (servicekit.Parts, error) {
		rd.db = p.DB
		return servicekit.Parts{Register: func(s *grpc.Server) { testgrpc.RegisterTestServiceServer(s, rd) }}, nil
	}}
	var log lines
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := servicekit.New(context.Background(), d, testSettings(u.String(), broker.URL()), logger)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, svc)
	waitCtx, cancelWait := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancelWait()
	if err := svc.WaitReady(waitCtx); err != nil {
		t.Fatal(err)
	}
	if err := r.call(); err != nil { // a pooled connection to the store
		t.Fatalf("a call with the store up: %v", err)
	}
	<-rd.started
	if err := <-rd.ended; err != nil {
		t.Fatal(err)
	}

	proxy.stall(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := r.client.EmptyCall(ctx, &testgrpc.Empty{}); done <- err }()
	<-rd.started
	time.Sleep(300 * time.Millisecond) // the read is waiting for the store
	cancel()
	readErr := <-rd.ended
	proxy.stall(false)
	if !mongo.IsNetworkError(readErr) || !errors.Is(readErr, context.Canceled) {
		t.Fatalf("the read ended with %v: want the driver's network error wrapping context.Canceled", readErr)
	}
	if err := <-done; status.Code(err) != codes.Canceled {
		t.Fatalf("the client got %v", err)
	}
	waitFor(t, "the second call's log line", func() bool { return strings.Count(log.String(), `msg="gRPC call"`) == 2 })
	out := log.String()
	if !strings.Contains(out, "code=Canceled") {
		t.Errorf("the call is not logged as Canceled:\n%s", out)
	}
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "unreachable") || strings.Contains(out, "code=Unavailable") {
		t.Errorf("a client gone is logged as an outage:\n%s", out)
	}
	if !strings.Contains(out, "the client went away") {
		t.Errorf("no line says the client went away:\n%s", out)
	}
}

// A store outage inside a call is still one: Unavailable, logged at ERROR.
func TestAStoreOutageInsideACallIsLoggedAtError(t *testing.T) {
	d := servicekit.Declaration{Name: "kit-outage", Build: func(context.Context, servicekit.Ports) (servicekit.Parts, error) {
		return servicekit.Parts{Register: func(s *grpc.Server) { testgrpc.RegisterTestServiceServer(s, outage{}) }}, nil
	}}
	var log lines
	svc, err := servicekit.NewInMemory(context.Background(), d, config.GRPCServer{Addr: "127.0.0.1:0"},
		slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, svc)
	if err := r.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("call: %v, want Unavailable", err)
	}
	waitFor(t, "the call's log line", func() bool { return strings.Contains(log.String(), `msg="gRPC call"`) })
	if out := log.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "the database is unreachable") {
		t.Errorf("a store outage is not logged at ERROR as one:\n%s", out)
	}
}
