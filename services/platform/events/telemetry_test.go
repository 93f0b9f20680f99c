package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/telemetry"
)

// recordSpans installs a tracer provider that records every span as the
// global one until the test ends.
func recordSpans(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(previous)
		_ = tp.Shutdown(context.Background())
	})
	return tp, rec
}

func TestTraceContextTravelsToTheHandler(t *testing.T) {
	e := setup(t)
	tp, rec := recordSpans(t)
	seen := make(chan trace.SpanContext, 2)
	e.consume(t, events.ConsumerConfig{Stream: testStream, Durable: "tracer", Logger: debugLogger(t)},
		func(ctx context.Context, _ *eventsv1.Envelope) error {
			seen <- trace.SpanContextFromContext(ctx)
			return nil
		})

	tests := []struct {
		name string
		// publish puts one event on the stream within the request span ctx.
		publish func(ctx context.Context, ev *eventsv1.Envelope) error
	}{{
		name: "in the message headers",
		publish: func(ctx context.Context, ev *eventsv1.Envelope) error {
			data, err := proto.Marshal(ev)
			if err != nil {
				return err
			}
			return e.pub.Publish(ctx, ev.GetType(), ev.GetEventId(), data)
		},
	}, {
		name: "in the envelope only",
		publish: func(ctx context.Context, ev *eventsv1.Envelope) error {
			ev.Traceparent = telemetry.Traceparent(ctx)
			if ev.GetTraceparent() == "" {
				return errors.New("no traceparent for a context with a span")
			}
			data, err := proto.Marshal(ev)
			if err != nil {
				return err
			}
			// Published without the request's context: no trace headers.
			return e.pub.Publish(testContext(t), ev.GetType(), ev.GetEventId(), data)
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			ctx, request := tp.Tracer("test").Start(testContext(t), "request")
			ev, err := events.NewEnvelope("things.thing.created", "system:test", "thing", "t-1", 1, wrapperspb.String("t-1"), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.publish(ctx, ev); err != nil {
				t.Fatalf("publish: %v", err)
			}
			request.End()

			var got trace.SpanContext
			select {
			case got = <-seen:
			case <-time.After(20 * time.Second):
				t.Fatal("event not handled within 20s")
			}
			want := request.SpanContext()
			if got.TraceID() != want.TraceID() {
				t.Fatalf("handler's trace id = %s, want the request's %s", got.TraceID(), want.TraceID())
			}
			if got.SpanID() == want.SpanID() {
				t.Fatal("handler runs in the request span itself, want a consumer span of its own")
			}

			var span sdktrace.ReadOnlySpan
			eventually(t, "consumer span ended", func() bool {
				for _, s := range rec.Ended() {
					if s.SpanContext().SpanID() == got.SpanID() {
						span = s
						return true
					}
				}
				return false
			})
			if span.Name() != "consume things.thing.created" || span.SpanKind() != trace.SpanKindConsumer {
				t.Errorf("consumer span = %q of kind %v, want \"consume things.thing.created\" of kind consumer", span.Name(), span.SpanKind())
			}
			if span.Parent().SpanID() != want.SpanID() || !span.Parent().IsRemote() {
				t.Errorf("consumer span's parent = %v, want the remote request span %s", span.Parent(), want.SpanID())
			}
			attrs := map[attribute.Key]string{}
			for _, kv := range span.Attributes() {
				attrs[kv.Key] = kv.Value.Emit()
			}
			for k, v := range map[attribute.Key]string{
				"messaging.system": "nats", "messaging.nats.stream": testStream,
				"messaging.consumer.group.name": "tracer", "messaging.message.id": ev.GetEventId(),
			} {
				if attrs[k] != v {
					t.Errorf("span attribute %s = %q, want %q", k, attrs[k], v)
				}
			}
		})
	}
}

// metricValue is the value of the one series of the metric called name on
// reg: a counter's or gauge's value, a histogram's sample count; -1 when
// there is no such series.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestConsumerMetricsCountWhatHappens(t *testing.T) {
	e := setup(t)
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	calls := map[string]int{}
	e.consume(t, events.ConsumerConfig{
		Stream: testStream, Durable: "counted", Backoff: []time.Duration{time.Millisecond},
		Logger: debugLogger(t), Metrics: reg,
	}, func(_ context.Context, ev *eventsv1.Envelope) error {
		mu.Lock()
		calls[ev.GetAggregateId()]++
		n := calls[ev.GetAggregateId()]
		mu.Unlock()
		switch {
		case ev.GetAggregateId() == "poison":
			return events.Permanent(errors.New("cannot apply"))
		case ev.GetAggregateId() == "flaky" && n == 1:
			return errors.New("try again")
		}
		return nil
	})
	// A second consumer on the same registry shares its metrics.
	e.consume(t, events.ConsumerConfig{Stream: testStream, Durable: "other", Logger: debugLogger(t), Metrics: reg},
		func(context.Context, *eventsv1.Envelope) error { return nil })

	for _, id := range []string{"ok", "flaky", "poison"} {
		e.publishEvent(t, id)
	}
	ours := map[string]string{"stream": testStream, "consumer": "counted"}
	want := map[string]float64{
		"gemella_event_handled_total":       2, // ok, flaky at its second delivery
		"gemella_event_failed_total":        2, // flaky once, poison
		"gemella_event_redelivered_total":   1, // flaky
		"gemella_event_dead_lettered_total": 1, // poison
		"gemella_event_lag_seconds":         2, // one per success
	}
	eventually(t, "the metrics to count every outcome", func() bool {
		for name, v := range want {
			if metricValue(t, reg, name, ours) != v {
				return false
			}
		}
		return true
	})
	for name, v := range want {
		if got := metricValue(t, reg, name, ours); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	if got := metricValue(t, reg, "gemella_event_handled_total", map[string]string{"consumer": "other"}); got < 0 {
		t.Error("the second consumer has no series of its own")
	}
	if got := metricValue(t, reg, "gemella_event_consumer_interruptions_total", ours); got != 0 {
		t.Errorf("interruptions = %v on a healthy server, want 0", got)
	}
}

func TestConsumerReportsPendingMessages(t *testing.T) {
	e := setup(t)
	for _, id := range []string{"a", "b", "c"} {
		e.publishEvent(t, id)
	}
	reg := prometheus.NewRegistry()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	e.consume(t, events.ConsumerConfig{Stream: testStream, Durable: "stuck", Logger: debugLogger(t), Metrics: reg},
		func(ctx context.Context, _ *eventsv1.Envelope) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return ctx.Err()
		})
	// Nothing is acked while the handler is stuck: every message is either
	// still pending or delivered and awaiting its ack.
	labels := map[string]string{"stream": testStream, "consumer": "stuck"}
	eventually(t, "the pending gauges", func() bool {
		pending := metricValue(t, reg, "gemella_event_consumer_pending_messages", labels)
		ackPending := metricValue(t, reg, "gemella_event_consumer_ack_pending_messages", labels)
		return pending >= 0 && ackPending >= 0 && pending+ackPending == 3
	})
}

func TestConnectNeedsNoServer(t *testing.T) {
	port := freePort(t)
	url := "nats://127.0.0.1:" + port
	nc, js, err := events.Connect(testContext(t), url, t.Name(), debugLogger(t))
	if err != nil {
		t.Fatalf("Connect with no server listening = %v, want a connection that keeps trying", err)
	}
	t.Cleanup(nc.Close)
	if err := events.Check(testContext(t), nc, js); err == nil || !containsAll(err.Error(), "not connected") {
		t.Fatalf("Check without a server = %v, want an error saying it is not connected", err)
	}

	// The kit's start-up: EnsureStream in a retry loop.
	ensured := make(chan error, 1)
	go func() {
		ctx := testContext(t)
		for {
			attempt, cancel := context.WithTimeout(ctx, time.Second)
			_, err := events.EnsureStream(attempt, js, events.StreamConfig{Name: testStream, Subjects: []string{"things.>"}})
			cancel()
			if err == nil || ctx.Err() != nil || errors.Is(err, events.ErrInvalidConfig) {
				ensured <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	startNATSOn(t, port)
	eventually(t, "Check to pass once NATS is up", func() bool { return events.Check(testContext(t), nc, js) == nil })
	select {
	case err := <-ensured:
		if err != nil {
			t.Fatalf("EnsureStream retried until NATS came up = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("EnsureStream did not succeed within 20s of NATS coming up")
	}
	if _, err := events.EnsureStream(testContext(t), js, events.StreamConfig{Name: "bad name"}); !errors.Is(err, events.ErrInvalidConfig) {
		t.Fatalf("EnsureStream with a bad configuration = %v, want ErrInvalidConfig", err)
	}
}

// The envelope's request id is the request id of the handler's work: its
// calls (grpcx.Dial) and the events it writes carry it on.
func TestTheRequestIDTravelsToTheHandler(t *testing.T) {
	e := setup(t)
	seen := make(chan string, 2)
	e.consume(t, events.ConsumerConfig{Stream: testStream, Durable: "request-ids", Logger: debugLogger(t)},
		func(ctx context.Context, _ *eventsv1.Envelope) error {
			seen <- grpcx.RequestID(ctx)
			return nil
		})
	for _, id := range []string{"req-7", ""} {
		ev, err := events.NewEnvelope("things.thing.created", "system:test", "thing", "t-"+id, 1, wrapperspb.String(id), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ev.RequestId = id
		data, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.pub.Publish(testContext(t), ev.GetType(), ev.GetEventId(), data); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-seen:
			if got != id {
				t.Errorf("handler's request id = %q, want %q", got, id)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("event not handled within 20s")
		}
	}
}
