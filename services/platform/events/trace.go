package events

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/telemetry"
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

// consumerTraceContext is ctx continued from the trace context of msg's
// headers or, when they carry none, from the envelope's traceparent field.
func consumerTraceContext(ctx context.Context, header nats.Header, env *eventsv1.Envelope) context.Context {
	if len(header) > 0 {
		if got := traceContext.Extract(ctx, headerCarrier(header)); trace.SpanContextFromContext(got).IsValid() {
			return got
		}
	}
	return telemetry.WithTraceparent(ctx, env.GetTraceparent())
}
