package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/gemella/gemella/services/platform/telemetry"
)

func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// TestEventWritersReadTheTraceparentFromTheContext is what the outbox does:
// a write stores Traceparent(ctx) with its event; the relay, later and in
// another goroutine, continues the trace with WithTraceparent.
func TestEventWritersReadTheTraceparentFromTheContext(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	tracer := tp.Tracer("test")

	requestCtx, request := tracer.Start(context.Background(), "CreatePractice")
	stored := telemetry.Traceparent(requestCtx)
	request.End()

	sc := request.SpanContext()
	if want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"; stored != want {
		t.Fatalf("Traceparent = %q, want %q", stored, want)
	}
	if got := telemetry.TraceID(requestCtx); got != sc.TraceID().String() {
		t.Fatalf("TraceID = %q, want %q", got, sc.TraceID())
	}

	relayCtx := telemetry.WithTraceparent(context.Background(), stored)
	_, publish := tracer.Start(relayCtx, "publish catalog.practice.created")
	publish.End()

	spans := recorder.Ended()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans, want 2", len(spans))
	}
	got := spans[1]
	if got.SpanContext().TraceID() != sc.TraceID() {
		t.Errorf("publish span trace %s, want the request's %s", got.SpanContext().TraceID(), sc.TraceID())
	}
	if got.Parent().SpanID() != sc.SpanID() || !got.Parent().IsRemote() {
		t.Errorf("publish span parent = %s (remote %t), want the request span %s as a remote parent",
			got.Parent().SpanID(), got.Parent().IsRemote(), sc.SpanID())
	}
}

func TestTraceparentWithoutATrace(t *testing.T) {
	if got := telemetry.Traceparent(context.Background()); got != "" {
		t.Errorf("Traceparent of a context without a span = %q, want empty", got)
	}
	if got := telemetry.TraceID(context.Background()); got != "" {
		t.Errorf("TraceID of a context without a span = %q, want empty", got)
	}
	for _, tp := range []string{"", "garbage", "00-00000000000000000000000000000000-0000000000000000-01"} {
		ctx := telemetry.WithTraceparent(context.Background(), tp)
		if trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("WithTraceparent(%q) made a valid span context", tp)
		}
	}
}

func clearOTLPEnv(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_EXPORTER",
		"OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_RESOURCE_ATTRIBUTES"} {
		t.Setenv(k, "")
	}
}

// TestSetupWithoutAnEndpointStillPropagates: no collector, yet the spans
// of the process are real and sampled, so the traceparent that reaches
// events and the next service is never empty.
func TestSetupWithoutAnEndpointStillPropagates(t *testing.T) {
	clearOTLPEnv(t)
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
	shutdown, err := telemetry.Setup(context.Background(), "catalog", quietLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := otel.Tracer("test").Start(context.Background(), "GetPractice")
	span.End()
	if !span.SpanContext().IsSampled() {
		t.Errorf("span is not sampled: %v", span.SpanContext())
	}
	if tp := telemetry.Traceparent(ctx); !strings.HasSuffix(tp, "-01") || !strings.Contains(tp, span.SpanContext().TraceID().String()) {
		t.Errorf("Traceparent = %q, want a sampled traceparent of trace %s", tp, span.SpanContext().TraceID())
	}
	header := http.Header{}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(header))
	if header.Get("Traceparent") == "" {
		t.Errorf("the global propagator wrote no traceparent: %v", header)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(shutdownCtx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// collected gathers the span names and service names a collector received.
type collected struct {
	mu       sync.Mutex
	spans    []string
	services []string
}

func (c *collected) add(req *collectortrace.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				c.services = append(c.services, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, s.GetName())
			}
		}
	}
}

func (c *collected) snapshot() (spans, services []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.spans...), append([]string(nil), c.services...)
}

// httpCollector is an OTLP/HTTP receiver on loopback.
func httpCollector(t *testing.T, c *collected) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.add(&req)
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type grpcReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	c *collected
}

func (g grpcReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	g.c.add(req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// grpcCollector is an OTLP/gRPC receiver on loopback.
func grpcCollector(t *testing.T, c *collected) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, grpcReceiver{c: c})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return "http://" + lis.Addr().String()
}

func TestSpansAreExportedOverOTLPWhenAnEndpointIsSet(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		start    func(*testing.T, *collected) string
		env      string // the endpoint variable to set
	}{
		{"http/protobuf by default", "", httpCollector, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"grpc", "grpc", grpcCollector, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"the traces endpoint alone", "http/protobuf", func(t *testing.T, c *collected) string {
			return httpCollector(t, c) + "/v1/traces"
		}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTLPEnv(t)
			c := &collected{}
			t.Setenv(tt.env, tt.start(t, c))
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tt.protocol)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p, err := telemetry.New(ctx, "twinning", quietLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if p.Exporting == "" {
				t.Fatal("an endpoint is set but the provider exports nothing")
			}
			_, span := p.TracerProvider().Tracer("test").Start(ctx, "ApproveTwinning")
			span.End()
			if err := p.Shutdown(ctx); err != nil { // flushes the batch
				t.Fatalf("shutdown: %v", err)
			}
			spans, services := c.snapshot()
			if strings.Join(spans, ",") != "ApproveTwinning" || strings.Join(services, ",") != "twinning" {
				t.Fatalf("collector received spans %v of services %v, want [ApproveTwinning] of [twinning]", spans, services)
			}
		})
	}
}

func TestServiceNameAndExporterFromTheEnvironment(t *testing.T) {
	clearOTLPEnv(t)
	c := &collected{}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", httpCollector(t, c))
	t.Setenv("OTEL_SERVICE_NAME", "catalog-eu-1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := telemetry.New(ctx, "catalog", quietLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider().Tracer("test").Start(ctx, "x")
	span.End()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, services := c.snapshot(); strings.Join(services, ",") != "catalog-eu-1" {
		t.Errorf("service names %v, want OTEL_SERVICE_NAME's catalog-eu-1", services)
	}

	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	if p, err := telemetry.New(ctx, "catalog", quietLogger(t)); err != nil {
		t.Errorf("OTEL_TRACES_EXPORTER=none: %v", err)
	} else if p.Exporting != "" {
		t.Errorf("OTEL_TRACES_EXPORTER=none: exporting %q, want no exporter", p.Exporting)
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := telemetry.New(ctx, "catalog", quietLogger(t)); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") {
		t.Errorf("an unsupported protocol: err %v, want one naming OTEL_EXPORTER_OTLP_PROTOCOL", err)
	}
}
