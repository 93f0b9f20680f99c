package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/servicekit"
)

// echoCatalog answers GetPractice with a fixed message equal to the real
// one, so the pair compares the same bytes on the wire: what remains is the
// catalog's interceptors, application and repository.
type echoCatalog struct {
	catalogv1.UnimplementedCatalogServiceServer
	practice *catalogv1.Practice
}

func (e echoCatalog) GetPractice(context.Context, *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	return e.practice, nil
}

type echoServer struct {
	addr   string
	srv    *grpc.Server
	served chan error
}

// startEcho serves echoCatalog on a grpc.Server with no options at all.
func startEcho(practice *catalogv1.Practice) (*echoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("echo server: %w", err)
	}
	srv := grpc.NewServer()
	catalogv1.RegisterCatalogServiceServer(srv, echoCatalog{practice: practice})
	e := &echoServer{addr: ln.Addr().String(), srv: srv, served: make(chan error, 1)}
	go func() { e.served <- srv.Serve(ln) }()
	return e, nil
}

func (e *echoServer) stop() {
	e.srv.GracefulStop()
	<-e.served
}

// benchGRPC measures pair (b), serially and in parallel, each over one
// loopback connection dialled the same way (grpcx.Dial) for both servers;
// echoDial adds options to the echo's connection only.
func benchGRPC(ctx context.Context, s settings, catalog *catalogUnderTest, tracing string, echoDial ...grpc.DialOption) (callPair, callPair, error) {
	echo, err := startEcho(catalog.practice)
	if err != nil {
		return callPair{}, callPair{}, err
	}
	defer echo.stop()
	echoConn, err := grpcx.Dial(echo.addr, callDeadline, echoDial...)
	if err != nil {
		return callPair{}, callPair{}, err
	}
	defer echoConn.Close()

	clients := []struct {
		name   string
		client catalogv1.CatalogServiceClient
	}{
		{"echo", catalogv1.NewCatalogServiceClient(echoConn)},
		{"catalog", catalog.client},
	}
	req := &catalogv1.GetPracticeRequest{Id: catalog.practiceID}
	for _, c := range clients {
		// The first call opens the connection; no benchmark should pay for it.
		if _, err := c.client.GetPractice(ctx, req); err != nil {
			return callPair{}, callPair{}, fmt.Errorf("%s GetPractice: %w", c.name, err)
		}
	}

	// RunParallel starts parallelism × GOMAXPROCS goroutines.
	parallelism := max(1, s.Concurrency/runtime.GOMAXPROCS(0))
	serial := callPair{
		Call:       "GetPractice, serial calls over one connection",
		Goroutines: 1,
		Tracing:    tracing,
	}
	parallel := callPair{
		Call:       "GetPractice, parallel calls over one connection",
		Goroutines: parallelism * runtime.GOMAXPROCS(0),
		Tracing:    tracing,
	}
	for _, p := range []*callPair{&serial, &parallel} {
		p.Pick = fmt.Sprintf("best of %d rounds (lowest ns/op), echo and catalog alternating", s.Rounds)
		p.Goal = 1.5
	}
	for round := 1; round <= s.Rounds; round++ {
		for _, mode := range []struct {
			pair *callPair
			par  int
		}{{&serial, 0}, {&parallel, parallelism}} {
			for i, c := range clients {
				if err := ctx.Err(); err != nil {
					return serial, parallel, err
				}
				progress("(b) round %d/%d: %s, %s, tracing %s", round, s.Rounds, c.name, mode.pair.Call, tracing)
				st, err := benchCalls(ctx, mode.par, func(ctx context.Context) error {
					_, err := c.client.GetPractice(ctx, req)
					return err
				})
				if err != nil {
					return serial, parallel, fmt.Errorf("%s: %w", c.name, err)
				}
				if i == 0 {
					mode.pair.EchoRounds = append(mode.pair.EchoRounds, st)
				} else {
					mode.pair.CatalogRounds = append(mode.pair.CatalogRounds, st)
				}
			}
		}
	}
	for _, p := range []*callPair{&serial, &parallel} {
		p.Echo, p.Catalog = bestCalls(p.EchoRounds), bestCalls(p.CatalogRounds)
		p.Ratio = p.Catalog.NsPerOp / p.Echo.NsPerOp
		p.Met = p.Ratio <= p.Goal
	}
	return serial, parallel, nil
}

// benchCalls runs call under testing.Benchmark, serially when parallelism
// is 0, else with RunParallel. Allocations are counted for the whole
// process, so they include the server's side of each call.
func benchCalls(ctx context.Context, parallelism int, call func(context.Context) error) (callStats, error) {
	var (
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		if parallelism == 0 {
			for b.Loop() {
				if err := call(ctx); err != nil {
					fail(err)
					return
				}
			}
			return
		}
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := call(ctx); err != nil {
					fail(err)
					return
				}
			}
		})
	})
	if firstErr != nil {
		return callStats{}, firstErr
	}
	if res.N == 0 {
		return callStats{}, errors.New("benchmark did not run")
	}
	return callStats{
		NsPerOp:     float64(res.T.Nanoseconds()) / float64(res.N),
		AllocsPerOp: res.AllocsPerOp(),
		BytesPerOp:  res.AllocedBytesPerOp(),
		Iterations:  res.N,
	}, nil
}

func bestCalls(rounds []callStats) callStats {
	best := rounds[0]
	for _, r := range rounds[1:] {
		if r.NsPerOp < best.NsPerOp {
			best = r
		}
	}
	return best
}

// turnTracingOff makes tracing off the process's default: the services
// the bench starts get a no-op tracer provider instead of the one the kit
// would build from the environment (an SDK provider that samples every
// call even without an exporter), so that "tracing off" in (b) is off and
// only benchGRPCTraced turns it on.
func turnTracingOff() { servicekit.UseTracerProvider(noop.NewTracerProvider()) }

// Tracing variants of (b).
const (
	tracingOff = "off"
	tracingOn  = "on"
)

// benchGRPCTraced is (b) with tracing on: a fresh catalog whose server and
// client trace every call with the SDK, every span sampled and handed to a
// batch span processor (to an exporter that discards, so no collector's
// network is measured), against the same bare echo, untraced on both sides.
// The provider is global only while this runs: the catalog's server takes
// the global one, and sections after (b) measure with tracing off as
// before.
func benchGRPCTraced(ctx context.Context, s settings, logger *slog.Logger) (serial, parallel callPair, err error) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	otel.SetTracerProvider(tp)
	defer func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, tp.Shutdown(shutdownCtx))
	}()
	catalog, err := startCatalog(ctx, logger)
	if err != nil {
		return serial, parallel, err
	}
	defer func() { err = errors.Join(err, catalog.stop()) }()
	return benchGRPC(ctx, s, catalog, tracingOn, grpcx.WithTracerProvider(noop.NewTracerProvider()))
}
