package grpcx

import (
	"context"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/telemetry"
)

// RequestIDKey is the metadata key of the request id: the gateway forwards
// its X-Request-Id under it, and Dial passes it on to the next service.
const RequestIDKey = "x-request-id"

type requestIDContextKey struct{}

// WithRequestID returns ctx carrying id as the request id, for work that
// does not serve a gRPC call (an event consumer continuing the request
// that wrote the event).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDContextKey{}, id)
}

// RequestID is the id of the request ctx serves: the one set with
// WithRequestID, else the incoming call's x-request-id, else "". Event
// writers put it in the events they write, the call log in its lines, and
// Dial in every call made while serving this one.
func RequestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDContextKey{}).(string); ok {
		return id
	}
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDKey); len(v) > 0 && saneRequestID(v[0]) {
		return v[0]
	}
	return ""
}

// saneRequestID keeps ids that are safe in logs, metadata and events (what
// the gateway lets through); a direct caller's odd value is not passed on.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// withCallContext adds to an outgoing call what the next service needs to
// continue the request: the caller's token (see ForwardAuthorization) and
// the request id, unless the outgoing context sets them already. The trace
// context travels through otelgrpc's stats handler.
func withCallContext(ctx context.Context) context.Context {
	ctx = ForwardAuthorization(ctx)
	id := RequestID(ctx)
	if id == "" {
		return ctx
	}
	if out, ok := metadata.FromOutgoingContext(ctx); ok && len(out.Get(RequestIDKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, RequestIDKey, id)
}

// tracingFilter leaves health checks and reflection out of the traces: a
// load balancer's probe every few seconds would otherwise be most of what
// a collector receives. Their trace context is still read.
func tracingFilter(info *stats.RPCTagInfo) bool {
	return !auth.ExemptMethod(info.FullMethodName)
}

// ServerStatsHandler traces every call a server receives (but health and
// reflection), continuing the caller's trace. A nil tp is the global one.
// The metrics of calls come from the Prometheus interceptors, so otelgrpc
// records none.
func ServerStatsHandler(tp trace.TracerProvider) stats.Handler {
	return otelgrpc.NewServerHandler(otelOptions(tp)...)
}

// ClientStatsHandler traces every call a client makes and writes the trace
// context into its metadata. A nil tp is the global one.
func ClientStatsHandler(tp trace.TracerProvider) stats.Handler {
	return otelgrpc.NewClientHandler(otelOptions(tp)...)
}

func otelOptions(tp trace.TracerProvider) []otelgrpc.Option {
	opts := []otelgrpc.Option{
		otelgrpc.WithPropagators(telemetry.Propagator()),
		otelgrpc.WithMeterProvider(noopmetric.NewMeterProvider()),
		otelgrpc.WithFilter(tracingFilter),
	}
	if tp != nil {
		opts = append(opts, otelgrpc.WithTracerProvider(tp))
	}
	return opts
}

// tracerProviderOption carries a TracerProvider through Dial's DialOption
// list; grpc.EmptyDialOption makes it a DialOption that grpc ignores.
type tracerProviderOption struct {
	grpc.EmptyDialOption
	tp trace.TracerProvider
}

// WithTracerProvider makes Dial trace its calls with tp instead of the
// global provider: for a process that runs several services (the dev
// launcher) or a benchmark that compares tracing on and off.
func WithTracerProvider(tp trace.TracerProvider) grpc.DialOption {
	return tracerProviderOption{tp: tp}
}

// FastReconnect keeps reconnection attempts to a service that went away at
// most a second apart, rather than gRPC's default of up to two minutes, so
// that a service that comes back is used within a second; meanwhile calls
// fail at once with UNAVAILABLE (a 503 at the gateway) instead of waiting
// for their deadline. connectTimeout bounds one attempt to connect.
func FastReconnect(connectTimeout time.Duration) grpc.DialOption {
	return grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: connectTimeout,
	})
}
