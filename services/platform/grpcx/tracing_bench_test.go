package grpcx_test

import (
	"context"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// processCPU is the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type fixedCatalog struct {
	catalogv1.UnimplementedCatalogServiceServer
}

func (fixedCatalog) GetPractice(_ context.Context, req *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	return &catalogv1.Practice{Id: req.GetId(), Title: "Alternanza scuola-lavoro"}, nil
}

// BenchmarkCallTracing is one unary call through Dial and NewServer with
// tracing off (a no-op provider) and on (sampled spans on both sides,
// batched to an exporter that discards): what tracing adds to a call.
func BenchmarkCallTracing(b *testing.B) {
	for _, bc := range []struct {
		name string
		tp   func() trace.TracerProvider
	}{
		{"off", func() trace.TracerProvider { return noop.NewTracerProvider() }},
		{"on", func() trace.TracerProvider {
			return sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tp := bc.tp()
			srv, err := grpcx.NewServer(grpcx.ServerOptions{
				Name: "bench", Config: config.GRPCServer{Addr: "127.0.0.1:0", DefaultDeadline: 5 * time.Second},
				Logger:         slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})),
				TracerProvider: tp,
			})
			if err != nil {
				b.Fatal(err)
			}
			catalogv1.RegisterCatalogServiceServer(srv.GRPC(), fixedCatalog{})
			if err := srv.Listen(); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx) }()
			defer func() { cancel(); <-done }()
			conn, err := grpcx.Dial(srv.Addr(), 5*time.Second, grpcx.WithTracerProvider(tp))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := catalogv1.NewCatalogServiceClient(conn)
			req := &catalogv1.GetPracticeRequest{Id: "p1"}
			if _, err := client.GetPractice(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			// On a loaded machine the time per call is mostly waiting for a
			// CPU; the process's CPU time per call (client and server) is the
			// steadier figure of what tracing costs.
			cpuStart := processCPU()
			for b.Loop() {
				if _, err := client.GetPractice(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpuStart)/float64(b.N), "cpu-ns/op")
		})
	}
}
