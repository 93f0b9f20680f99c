package grpcx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/telemetry"
)

// seen is what a handler found in its context: what an event written
// there would carry.
type seen struct {
	traceparent, requestID string
}

// lastService answers GetPractice and notes its context.
type lastService struct {
	catalogv1.UnimplementedCatalogServiceServer
	saw chan<- seen
}

func (s lastService) GetPractice(ctx context.Context, req *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	s.saw <- seen{telemetry.Traceparent(ctx), grpcx.RequestID(ctx)}
	return &catalogv1.Practice{Id: req.GetId()}, nil
}

// middleService serves GetPractice by asking the next service, as
// twinning asks the catalogue.
type middleService struct {
	catalogv1.UnimplementedCatalogServiceServer
	next catalogv1.CatalogServiceClient
}

func (s middleService) GetPractice(ctx context.Context, req *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	return s.next.GetPractice(ctx, req)
}

// syncBuffer is a log destination shared by the servers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// serveGRPCX runs register's service on a grpcx server traced by tp.
func serveGRPCX(t *testing.T, name string, tp trace.TracerProvider, logs *syncBuffer, register func(*grpcx.Server)) string {
	t.Helper()
	srv, err := grpcx.NewServer(grpcx.ServerOptions{
		Name: name, Config: config.GRPCServer{Addr: "127.0.0.1:0", DefaultDeadline: 5 * time.Second},
		Logger:         slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("service", name),
		TracerProvider: tp,
	})
	if err != nil {
		t.Fatal(err)
	}
	register(srv)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	return srv.Addr()
}

// TestTraceAndRequestIDGoFromServiceToService: a caller → a first service →
// a second one; one trace, each span the child of the one before, and the
// request id and the traceparent reach the second service's handler and
// the call log of both.
func TestTraceAndRequestIDGoFromServiceToService(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	logs := &syncBuffer{}
	saw := make(chan seen, 1)

	lastAddr := serveGRPCX(t, "catalog", tp, logs, func(s *grpcx.Server) {
		catalogv1.RegisterCatalogServiceServer(s.GRPC(), lastService{saw: saw})
	})
	toLast, err := grpcx.Dial(lastAddr, 5*time.Second, grpcx.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = toLast.Close() })
	middleAddr := serveGRPCX(t, "twinning", tp, logs, func(s *grpcx.Server) {
		catalogv1.RegisterCatalogServiceServer(s.GRPC(), middleService{next: catalogv1.NewCatalogServiceClient(toLast)})
	})
	toMiddle, err := grpcx.Dial(middleAddr, 5*time.Second, grpcx.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = toMiddle.Close() })

	// The caller stands for the gateway: a request span and the id it forwards.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx, root := tp.Tracer("test").Start(ctx, "GET /v1/practices/{id}")
	ctx = metadata.AppendToOutgoingContext(ctx, grpcx.RequestIDKey, "req-42")
	if _, err := catalogv1.NewCatalogServiceClient(toMiddle).GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: "p1"}); err != nil {
		t.Fatal(err)
	}
	root.End()
	got := <-saw
	traceID := root.SpanContext().TraceID()

	if got.requestID != "req-42" {
		t.Errorf("the second service saw request id %q, want req-42", got.requestID)
	}
	if !strings.HasPrefix(got.traceparent, "00-"+traceID.String()+"-") {
		t.Errorf("the second service saw traceparent %q, want one of trace %s", got.traceparent, traceID)
	}

	spans := recorder.Ended()
	var chain []string
	parentOf := map[trace.SpanID]trace.SpanID{}
	kindOf := map[trace.SpanID]trace.SpanKind{}
	for _, s := range spans {
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("span %q is in trace %s, want %s", s.Name(), s.SpanContext().TraceID(), traceID)
		}
		parentOf[s.SpanContext().SpanID()] = s.Parent().SpanID()
		kindOf[s.SpanContext().SpanID()] = s.SpanKind()
	}
	// Walk up from the span of the last service's handler, the one its
	// traceparent names.
	parts := strings.Split(got.traceparent, "-")
	if len(parts) != 4 {
		t.Fatalf("traceparent %q is not version-trace-span-flags", got.traceparent)
	}
	id, err := trace.SpanIDFromHex(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	for id.IsValid() {
		chain = append(chain, kindOf[id].String())
		id = parentOf[id]
	}
	if want := "server,client,server,client,internal"; strings.Join(chain, ",") != want {
		t.Errorf("span chain from the last service up = %v, want %s (%d spans)", chain, want, len(spans))
	}
	if len(spans) != 5 {
		t.Errorf("%d spans, want 5: two calls, each a client and a server span, and the root", len(spans))
	}

	// Both services' call lines name the request and the trace.
	var services []string
	for _, line := range logs.lines() {
		if line["msg"] != "gRPC call" {
			continue
		}
		services = append(services, line["service"].(string))
		if line["request_id"] != "req-42" || line["trace_id"] != traceID.String() {
			t.Errorf("call log line %v: want request_id req-42 and trace_id %s", line, traceID)
		}
	}
	if strings.Join(services, ",") != "catalog,twinning" {
		t.Errorf("call log lines from %v, want catalog then twinning", services)
	}
}

func TestRequestIDOutsideACall(t *testing.T) {
	if got := grpcx.RequestID(context.Background()); got != "" {
		t.Errorf("RequestID of a bare context = %q", got)
	}
	in := metadata.NewIncomingContext(context.Background(), metadata.Pairs(grpcx.RequestIDKey, "from-gateway"))
	if got := grpcx.RequestID(in); got != "from-gateway" {
		t.Errorf("RequestID from metadata = %q", got)
	}
	if got := grpcx.RequestID(grpcx.WithRequestID(in, "from-event")); got != "from-event" {
		t.Errorf("RequestID set by a consumer = %q, want it to win over metadata", got)
	}
	odd := metadata.NewIncomingContext(context.Background(), metadata.Pairs(grpcx.RequestIDKey, "has spaces\nand lines"))
	if got := grpcx.RequestID(odd); got != "" {
		t.Errorf("RequestID kept an unsafe value %q", got)
	}
}

// TestHealthChecksAreNotTraced: probes would flood a collector.
func TestHealthChecksAreNotTraced(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	addr := serveGRPCX(t, "catalog", tp, &syncBuffer{}, func(*grpcx.Server) {})
	conn, err := grpcx.Dial(addr, 5*time.Second, grpcx.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if spans := recorder.Ended(); len(spans) != 0 {
		t.Errorf("a health check made %d spans, want none", len(spans))
	}
}
