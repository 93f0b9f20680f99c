// Package telemetry sets up OpenTelemetry tracing the same way in every
// process: the gateway, each service, the dev launcher. It decides where
// spans go from the standard OTEL_* variables, installs the W3C trace
// context as the propagator, and gives the code that writes events the
// traceparent of the current request.
//
// Variables read (by this package or by the SDK it configures):
//
//	OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//	    export spans over OTLP when either is set; unset, nothing is exported
//	OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
//	    "http/protobuf" (the default, as the specification says) or "grpc"
//	OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _INSECURE, _CERTIFICATE, …
//	    read by the exporters themselves
//	OTEL_TRACES_EXPORTER=none
//	    no export even with an endpoint set
//	OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
//	    override the service name given to Setup and add attributes
//	OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
//	    the sampler; the default is parentbased_always_on
//	OTEL_BSP_*
//	    the batch span processor's queue and delays
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Provider is one process's (or, in the dev launcher, one service's)
// tracing: the TracerProvider to start spans with and how to flush it.
type Provider struct {
	tp *sdktrace.TracerProvider
	// Exporting names where spans go ("OTLP http/protobuf"), or is empty
	// when they are only propagated.
	Exporting string
}

// New builds a service's TracerProvider from the environment without
// installing it anywhere; Setup installs it for the whole process.
//
// Without an OTLP endpoint the provider has no exporter and no span
// processor, but it is still the SDK's provider with the default sampler,
// ParentBased(AlwaysSample): every span gets a real, sampled trace id and
// span id, which the W3C propagator writes into gRPC metadata, NATS
// headers and the events' traceparent. So a request can be followed by its
// trace id through logs and events on a machine with no collector, and the
// day one process exports, its spans join the traces the others started.
// A no-op provider would not do: it only passes on a context it was
// given, so the gateway would start no trace at all and every traceparent
// would be empty. The cost is the span bookkeeping of each call, which
// ends when the span ends (no processor holds it, no goroutine, no I/O);
// `make bench` (b) measures it against tracing off.
func New(ctx context.Context, serviceName string, logger *slog.Logger) (*Provider, error) {
	if logger == nil {
		logger = slog.Default()
	}
	res, err := resource.New(ctx,
		// Detectors later in the list win: OTEL_SERVICE_NAME overrides the name.
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing resource of %s: %w", serviceName, err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	exporter, exporting, err := newExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing exporter of %s: %w", serviceName, err)
	}
	if exporter != nil {
		opts = append(opts, sdktrace.WithBatcher(exporter))
		logger.InfoContext(ctx, "tracing: exporting spans", slog.String("service", serviceName), slog.String("exporter", exporting))
	} else {
		logger.DebugContext(ctx, "tracing: no OTLP endpoint set; trace context is propagated, spans are not exported", slog.String("service", serviceName))
	}
	return &Provider{tp: sdktrace.NewTracerProvider(opts...), Exporting: exporting}, nil
}

// TracerProvider is the provider to give otelgrpc, otelhttp and the event
// code when not using the global one.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.tp }

// Shutdown flushes the spans not yet exported and stops the exporter;
// ctx bounds the wait.
func (p *Provider) Shutdown(ctx context.Context) error {
	if err := p.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut tracing down: %w", err)
	}
	return nil
}

// Setup builds the service's provider (see New) and installs it, with the
// TraceContext + Baggage propagator, as the process-wide default that
// otelgrpc, otelhttp and otel.Tracer use. The returned shutdown flushes
// it; call it after the servers have stopped. OpenTelemetry's internal
// errors (an exporter that cannot reach its collector) go to logger.
//
// A process that runs several services (the dev launcher) calls Setup
// once; it may give each service its own provider from New through
// grpcx.ServerOptions.TracerProvider and grpcx.WithTracerProvider.
func Setup(ctx context.Context, serviceName string, logger *slog.Logger) (shutdown func(context.Context) error, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	p, err := New(ctx, serviceName, logger)
	if err != nil {
		return nil, err
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", slog.String("error", err.Error()))
	}))
	otel.SetTracerProvider(p.tp)
	otel.SetTextMapPropagator(Propagator())
	return p.Shutdown, nil
}

// Propagator is W3C trace context plus baggage. grpcx and the gateway use
// it directly rather than the global one, so that trace context crosses
// every hop even in a process (a test) that never called Setup.
func Propagator() propagation.TextMapPropagator { return propagator }

var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// newExporter returns the OTLP exporter the environment asks for, or nil
// when no endpoint is set or OTEL_TRACES_EXPORTER is "none". The exporters
// read the endpoint, headers, timeout and TLS variables themselves.
func newExporter(ctx context.Context) (sdktrace.SpanExporter, string, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return nil, "", nil
	}
	switch kind := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); kind {
	case "none":
		return nil, "", nil
	case "", "otlp":
	default:
		return nil, "", fmt.Errorf("OTEL_TRACES_EXPORTER %q: only otlp and none are supported", kind)
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch protocol {
	case "", "http/protobuf":
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("OTLP http/protobuf: %w", err)
		}
		return exp, "OTLP http/protobuf", nil
	case "grpc":
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("OTLP grpc: %w", err)
		}
		return exp, "OTLP grpc", nil
	default:
		return nil, "", errors.New(`OTEL_EXPORTER_OTLP_PROTOCOL "` + protocol + `": must be http/protobuf or grpc`)
	}
}
