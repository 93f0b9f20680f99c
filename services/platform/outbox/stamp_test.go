package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/telemetry"
)

func envelopeOf(t *testing.T, rec outbox.Record) *eventsv1.Envelope {
	t.Helper()
	var env eventsv1.Envelope
	if err := proto.Unmarshal(rec.Data, &env); err != nil {
		t.Fatal(err)
	}
	return &env
}

func plainRecord(t *testing.T) outbox.Record {
	t.Helper()
	env, err := events.NewEnvelope("test.thing.done", "member-1", "thing", "t1", 1, wrapperspb.String("x"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := outbox.NewRecord(env)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// An event encoded without the request's context (NewRecord) gets the
// request's traceparent and request id from the store that writes it; one
// that has them keeps its own; a context with neither changes nothing.
func TestStampContextGivesEventsTheirRequest(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(grpcx.WithRequestID(context.Background(), "req-1"), "request")
	defer span.End()
	traceID := span.SpanContext().TraceID().String()

	recs := []outbox.Record{plainRecord(t), plainRecord(t)}
	if err := outbox.StampContext(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs {
		env := envelopeOf(t, rec)
		if !strings.Contains(env.GetTraceparent(), traceID) || rec.Traceparent != env.GetTraceparent() {
			t.Errorf("record %d: envelope traceparent %q, record %q; want both of trace %s", i, env.GetTraceparent(), rec.Traceparent, traceID)
		}
		if env.GetRequestId() != "req-1" {
			t.Errorf("record %d: request id %q, want req-1", i, env.GetRequestId())
		}
		if env.GetEventId() != rec.ID || env.GetType() != rec.Subject {
			t.Errorf("record %d: the envelope lost its id or type: %v", i, env)
		}
	}

	// Stamped already: another request's context leaves it alone.
	other, otherSpan := tp.Tracer("test").Start(grpcx.WithRequestID(context.Background(), "req-2"), "other")
	defer otherSpan.End()
	before := append([]byte(nil), recs[0].Data...)
	if err := outbox.StampContext(other, recs[:1]); err != nil {
		t.Fatal(err)
	}
	if env := envelopeOf(t, recs[0]); env.GetRequestId() != "req-1" || !strings.Contains(env.GetTraceparent(), traceID) {
		t.Errorf("a stamped event was stamped again: %v", env)
	}
	if string(before) != string(recs[0].Data) {
		t.Error("a stamped event was re-encoded")
	}

	bare := []outbox.Record{plainRecord(t)}
	data := bare[0].Data
	if err := outbox.StampContext(context.Background(), bare); err != nil {
		t.Fatal(err)
	}
	if &data[0] != &bare[0].Data[0] || bare[0].Traceparent != "" {
		t.Error("a context without a request changed the record")
	}

	// NewRecordContext does the same at encoding time.
	env, err := events.NewEnvelope("test.thing.done", "member-1", "thing", "t1", 1, wrapperspb.String("x"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := outbox.NewRecordContext(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := envelopeOf(t, rec); got.GetRequestId() != "req-1" || got.GetTraceparent() != telemetry.Traceparent(ctx) {
		t.Errorf("NewRecordContext: %v", got)
	}
}
