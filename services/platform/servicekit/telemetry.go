package servicekit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/gemella/gemella/services/platform/telemetry"
)

// The process's tracing: one provider however many services the process
// runs (the devstack and the tests run several), installed by the first.
var (
	tracingOnce     sync.Once
	tracingErr      error
	tracingShutdown func(context.Context) error
)

// setupTracing starts the process's tracing (OpenTelemetry, exported over
// OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; spans still propagate
// without it, so events carry a traceparent). A service's stop does not
// stop it: other services of the process may still trace; Main flushes
// it at exit (flushTracing).
func setupTracing(ctx context.Context, name string, logger *slog.Logger) (shutdown func(context.Context) error, err error) {
	tracingOnce.Do(func() {
		tracingShutdown, tracingErr = telemetry.Setup(ctx, name, logger)
	})
	return func(context.Context) error { return nil }, tracingErr
}

// UseTracerProvider makes tp the tracing of every service this process
// builds from now on, installed with the W3C propagator as the global
// provider (which the gateway and the event consumers use too), instead
// of the provider telemetry.Setup would build from the environment. It is
// for a process that records its own spans, a test with tracetest's
// in-memory exporter; it must come before the first New, and reports
// false, changing nothing, once the process's tracing is set up.
func UseTracerProvider(tp trace.TracerProvider) bool {
	used := false
	tracingOnce.Do(func() {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(telemetry.Propagator())
		used = true
	})
	return used
}

// flushTracing exports the spans still buffered, bounded; Main calls it
// last.
func flushTracing(logger *slog.Logger) {
	if tracingShutdown == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tracingShutdown(ctx); err != nil {
		logger.Warn("flushing traces failed", slog.Any("error", err))
	}
}
