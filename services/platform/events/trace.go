package events

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
)

// tracerName names the instrumentation scope of the consumer spans.
const tracerName = "github.com/gemella/gemella/services/platform/events"

// traceContext is the W3C Trace Context propagator (traceparent and
// tracestate), the format of the envelope's traceparent field; it is used
// directly rather than the global propagator so that the headers always
// carry it, whatever else a process configures.
var traceContext = propagation.TraceContext{}

// headerCarrier lets a propagator read and write NATS message headers.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string { return nats.Header(c).Get(key) }
func (c headerCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }
func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Traceparent is the W3C traceparent of the span in ctx, or "" when ctx
// carries none: what an envelope's traceparent field should hold.
func Traceparent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// ContextWithTraceparent returns ctx carrying the remote span context that
// traceparent names, so that work done later for an event (publishing it
// from the outbox relay, say) continues the request's trace. An empty or
// malformed traceparent leaves ctx as it is.
func ContextWithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// consumerTraceContext is ctx continued from the trace context of msg's
// headers or, when they carry none, from the envelope's traceparent field.
func consumerTraceContext(ctx context.Context, header nats.Header, env *eventsv1.Envelope) context.Context {
	if len(header) > 0 {
		if got := traceContext.Extract(ctx, headerCarrier(header)); trace.SpanContextFromContext(got).IsValid() {
			return got
		}
	}
	return ContextWithTraceparent(ctx, env.GetTraceparent())
}
