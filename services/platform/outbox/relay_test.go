package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
)

func TestRelayPublishesEveryEventExactlyOnce(t *testing.T) {
	w := newWorld(t)
	practices, needs := w.things(t, "practices"), w.things(t, "needs")
	// A batch smaller than the work makes the relay loop within one wake-up.
	relay := outbox.NewRelay(outbox.RelayConfig{BatchSize: 7, SweepInterval: time.Hour, Logger: quiet, Locks: w.locks}, w.pub, practices, needs)
	runRelay(t, relay)

	var want []string
	for i := range 20 {
		coll := practices
		if i%3 == 0 {
			coll = needs
		}
		want = append(want, writeThing(t, coll, i)...)
		relay.Notify()
	}

	eventually(t, "no pending events", func() bool {
		return pendingDocs(t, practices, needs) == 0 && relay.Stats().Published >= uint64(len(want))
	})
	assertExactlyOnce(t, w.stream, want)
	if s := relay.Stats(); s.Failures != 0 || s.Refused != 0 || s.DeadLettered != 0 {
		t.Errorf("stats = %+v, want no failures, refusals or dead letters", s)
	}

	// The aggregate itself is untouched by the relay.
	doc := readOutbox(t, practices, "thing-01")
	if doc.Name != "Thing thing-01" || doc.Version != 1 || len(doc.Pending) != 0 || doc.Since != nil {
		t.Errorf("thing-01 after relay = %+v, want name and version kept, no pending events, no since", doc)
	}
}

func TestRelayCatchesUpAfterNATSRestart(t *testing.T) {
	w := newWorld(t)
	things := w.things(t, "things")
	relay := outbox.NewRelay(outbox.RelayConfig{
		SweepInterval: 50 * time.Millisecond, PublishTimeout: 200 * time.Millisecond, Logger: quiet, Locks: w.locks,
	}, w.pub, things)
	runRelay(t, relay)

	var want []string
	for i := range 10 {
		want = append(want, writeThing(t, things, i)...)
		relay.Notify()
	}
	eventually(t, "first half relayed", func() bool { return pendingDocs(t, things) == 0 })

	w.nats.Shutdown()
	failuresBefore := relay.Stats().Failures
	for i := 10; i < 20; i++ {
		want = append(want, writeThing(t, things, i)...)
		relay.Notify()
	}
	eventually(t, "relay to notice NATS is down", func() bool { return relay.Stats().Failures > failuresBefore })
	if got := pendingDocs(t, things); got != 10 {
		t.Fatalf("%d documents pending while NATS is down, want the 10 written since", got)
	}
	if s := relay.Stats(); s.Refused != 0 || s.DeadLettered != 0 {
		t.Fatalf("NATS being down counted against records: %+v", s)
	}

	if err := w.nats.Restart(); err != nil {
		t.Fatalf("restart nats: %v", err)
	}
	eventually(t, "second half relayed", func() bool { return pendingDocs(t, things) == 0 })
	assertExactlyOnce(t, w.stream, want)
}

// interferingPublisher performs an aggregate write on a document while the
// relay is publishing that document's events, i.e. between the relay's read
// and its clear.
type interferingPublisher struct {
	events.Publisher
	mu        sync.Mutex
	beforeFor map[string]func(ctx context.Context) error // by msg id, run once
}

func (p *interferingPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	p.mu.Lock()
	before := p.beforeFor[msgID]
	delete(p.beforeFor, msgID)
	p.mu.Unlock()
	if before != nil {
		if err := before(ctx); err != nil {
			return err
		}
	}
	return p.Publisher.Publish(ctx, subject, msgID, data)
}

// TestRelayClearsByIDWhileTheAggregateChanges runs both ways of clearing:
// with document locks (the embedded store's) and without (MongoDB's, whose
// conditional updates the embedded store also applies correctly when, as
// here, nothing runs concurrently with them).
func TestRelayClearsByIDWhileTheAggregateChanges(t *testing.T) {
	t.Run("locked", func(t *testing.T) { clearsByIDWhileTheAggregateChanges(t, true) })
	t.Run("unlocked", func(t *testing.T) { clearsByIDWhileTheAggregateChanges(t, false) })
}

func clearsByIDWhileTheAggregateChanges(t *testing.T, locked bool) {
	w := newWorld(t)
	if !locked {
		w.locks = nil
	}
	things := w.things(t, "things")
	pub := &interferingPublisher{Publisher: w.pub, beforeFor: map[string]func(context.Context) error{}}
	relay := outbox.NewRelay(outbox.RelayConfig{Logger: quiet, Locks: w.locks}, pub, things)

	var want []string
	changed := 0
	for i := range 20 {
		ids := writeThing(t, things, i)
		want = append(want, ids...)
		if i%2 == 0 {
			id := fmt.Sprintf("thing-%02d", i)
			extra := thingRecord(t, id, 2)
			want = append(want, extra.ID)
			pub.beforeFor[ids[0]] = func(ctx context.Context) error {
				return changeThing(ctx, w.store, things, id, "changed", extra)
			}
			changed++
		}
	}

	ctx := testContext(t)
	first, err := relay.RelayOnce(ctx)
	if err != nil {
		t.Fatalf("first pass: %v", err)
	}
	// The pass cleared what it published although the versions moved on;
	// only the events appended meanwhile are left.
	if got := pendingDocs(t, things); got != int64(changed) {
		t.Fatalf("after first pass %d documents pending, want the %d changed ones", got, changed)
	}
	doc := readOutbox(t, things, "thing-00")
	if len(doc.Pending) != 1 || doc.Pending[0].ID != want[1] || doc.Name != "changed" || doc.Version != 2 {
		t.Fatalf("thing-00 after first pass = %+v, want only the event of its change", doc)
	}

	second, err := relay.RelayOnce(ctx)
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if second != changed {
		t.Errorf("second pass published %d, want the %d new events, nothing again", second, changed)
	}
	if total := first + second; total != len(want) {
		t.Errorf("published %d in all, want each of the %d events once", total, len(want))
	}
	if got := pendingDocs(t, things); got != 0 {
		t.Fatalf("after second pass %d documents pending, want 0", got)
	}
	assertExactlyOnce(t, w.stream, want)
}

func TestRelayKeepsEventsWhileNATSIsUnreachable(t *testing.T) {
	w := newWorld(t)
	things := w.things(t, "things")
	want := writeThing(t, things, 1)
	writeThing(t, things, 2)
	down := failingPublisher{err: fmt.Errorf("publish: %w", nats.ErrNoServers), n: new(int)}

	relay := outbox.NewRelay(outbox.RelayConfig{Logger: quiet, Locks: w.locks}, down, things)
	n, err := relay.RelayOnce(testContext(t))
	if err == nil || n != 0 {
		t.Fatalf("RelayOnce with NATS unreachable = %d, %v; want 0 and an error", n, err)
	}
	if !errors.Is(err, nats.ErrNoServers) {
		t.Errorf("error %v does not wrap the publisher's", err)
	}
	if s := relay.Stats(); s.Failures != 1 || s.Published != 0 || s.Refused != 0 {
		t.Errorf("stats = %+v, want one failure, nothing published or refused", s)
	}
	if down.calls() != 1 {
		t.Errorf("publisher called %d times, want the pass to stop at the first failure", down.calls())
	}
	if got := pendingDocs(t, things); got != 2 {
		t.Fatalf("%d documents pending after a failed pass, want 2", got)
	}

	relay = outbox.NewRelay(outbox.RelayConfig{Logger: quiet, Locks: w.locks}, w.pub, things)
	if _, err := relay.RelayOnce(testContext(t)); err != nil {
		t.Fatalf("RelayOnce: %v", err)
	}
	if got := pendingDocs(t, things); got != 0 {
		t.Fatalf("%d documents pending after NATS came back, want 0", got)
	}
	ids := streamEventIDs(t, w.stream)
	if len(ids) != 3 || !slices.Contains(ids, want[0]) {
		t.Errorf("stream = %v, want thing-01's event and thing-02's two", ids)
	}
}

type failingPublisher struct {
	err error
	n   *int
}

func (p failingPublisher) Publish(context.Context, string, string, []byte) error {
	*p.n++
	return p.err
}

func (p failingPublisher) calls() int { return *p.n }

func TestNewRecord(t *testing.T) {
	env, err := events.NewEnvelope("things.thing.created", "system:test", "thing", "t-1", 1, wrapperspb.String("x"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := outbox.NewRecord(env)
	if err != nil {
		t.Fatalf("NewRecord: %v", err)
	}
	var back eventsv1.Envelope
	if err := proto.Unmarshal(rec.Data, &back); err != nil || !proto.Equal(&back, env) {
		t.Fatalf("record data does not decode to the envelope: %v", err)
	}
	if rec.ID != env.GetEventId() || rec.Subject != "things.thing.created" || rec.Traceparent != "" {
		t.Fatalf("record = %+v, want event id and type, no traceparent", rec)
	}
	if _, err := outbox.NewRecord(&eventsv1.Envelope{}); err == nil {
		t.Fatal("NewRecord of an empty envelope succeeded")
	}
	if _, err := outbox.NewRecord(nil); err == nil {
		t.Fatal("NewRecord(nil) succeeded")
	}
}

// spanContext is a sampled remote span, as a request's would be.
func spanContext(t *testing.T) trace.SpanContext {
	t.Helper()
	tid, err := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex("00f067aa0ba902b7")
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
}

const wantTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestNewRecordContextCarriesTheTrace(t *testing.T) {
	ctx := trace.ContextWithSpanContext(context.Background(), spanContext(t))
	env, err := events.NewEnvelope("things.thing.created", "system:test", "thing", "t-1", 1, wrapperspb.String("x"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := outbox.NewRecordContext(ctx, env)
	if err != nil {
		t.Fatalf("NewRecordContext: %v", err)
	}
	var back eventsv1.Envelope
	if err := proto.Unmarshal(rec.Data, &back); err != nil {
		t.Fatal(err)
	}
	if rec.Traceparent != wantTraceparent || back.GetTraceparent() != wantTraceparent || env.GetTraceparent() != wantTraceparent {
		t.Fatalf("record traceparent %q, envelope's %q (encoded %q); want %q", rec.Traceparent, env.GetTraceparent(), back.GetTraceparent(), wantTraceparent)
	}

	// Without a span the envelope keeps its own.
	rec, err = outbox.NewRecordContext(context.Background(), env)
	if err != nil || rec.Traceparent != wantTraceparent {
		t.Fatalf("NewRecordContext without a span = %+v, %v; want the envelope's traceparent kept", rec, err)
	}
}

// tracingPublisher remembers the trace context each publish was given.
type tracingPublisher struct {
	events.Publisher
	mu     sync.Mutex
	traces map[string]trace.SpanContext
}

func (p *tracingPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	p.mu.Lock()
	p.traces[msgID] = trace.SpanContextFromContext(ctx)
	p.mu.Unlock()
	return p.Publisher.Publish(ctx, subject, msgID, data)
}

func TestRelayPublishesWithTheRecordsTraceContext(t *testing.T) {
	w := newWorld(t)
	things := w.things(t, "things")
	ctx := trace.ContextWithSpanContext(testContext(t), spanContext(t))
	env, err := events.NewEnvelope("things.thing.created", "system:test", "thing", "t-1", 1, wrapperspb.String("x"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	traced, err := outbox.NewRecordContext(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	untraced := thingRecord(t, "t-1", 1)
	if err := insertThing(ctx, things, "t-1", traced, untraced); err != nil {
		t.Fatal(err)
	}

	pub := &tracingPublisher{Publisher: w.pub, traces: map[string]trace.SpanContext{}}
	if _, err := outbox.NewRelay(outbox.RelayConfig{Logger: quiet, Locks: w.locks}, pub, things).RelayOnce(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if got := pub.traces[traced.ID]; got.TraceID() != spanContext(t).TraceID() || got.SpanID() != spanContext(t).SpanID() || !got.IsSampled() {
		t.Errorf("traced record published with span context %v, want the writer's %v", got, spanContext(t))
	}
	if got, ok := pub.traces[untraced.ID]; !ok || got.IsValid() {
		t.Errorf("untraced record published with span context %v (seen %v), want none", got, ok)
	}
}

func TestRelayRejectsMissingParts(t *testing.T) {
	relay := outbox.NewRelay(outbox.RelayConfig{Logger: quiet}, nil)
	if _, err := relay.RelayOnce(context.Background()); err == nil {
		t.Fatal("RelayOnce without publisher or collections succeeded")
	}
	if err := relay.Run(context.Background()); err == nil {
		t.Fatal("Run without publisher or collections succeeded")
	}
}

// TestLegacySweepBridgesWholeDocumentWriters: a repository that still
// replaces whole documents (pending_events rewritten, no pending_since) is
// invisible to the indexed sweep; LegacySweep relays its events too.
func TestLegacySweepBridgesWholeDocumentWriters(t *testing.T) {
	w := newWorld(t)
	things := w.things(t, "things")
	ctx := testContext(t)
	first, second := thingRecord(t, "old", 1), thingRecord(t, "old", 2)
	if _, err := things.InsertOne(ctx, bson.D{{Key: "_id", Value: "old"}, {Key: outbox.VersionField, Value: int64(1)},
		{Key: outbox.Field, Value: []outbox.Record{first}}}); err != nil {
		t.Fatal(err)
	}

	indexed := outbox.NewRelay(outbox.RelayConfig{Logger: quiet, Locks: w.locks}, w.pub, things)
	if n, err := indexed.RelayOnce(ctx); err != nil || n != 0 {
		t.Fatalf("indexed sweep of a legacy document = %d, %v; want it unseen", n, err)
	}

	legacy := outbox.NewRelay(outbox.RelayConfig{LegacySweep: true, Logger: quiet, Locks: w.locks}, w.pub, things)
	if n, err := legacy.RelayOnce(ctx); err != nil || n != 1 {
		t.Fatalf("legacy sweep = %d, %v; want the one event", n, err)
	}
	// The legacy writer replaces the document with its old copy plus one.
	unlock := w.locks.Lock(things.Name(), "old")
	_, err := things.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "old"}, {Key: outbox.VersionField, Value: int64(1)}},
		bson.D{{Key: outbox.VersionField, Value: int64(2)}, {Key: outbox.Field, Value: []outbox.Record{first, second}}})
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := legacy.RelayOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := pendingDocs(t, things); got != 0 {
		t.Errorf("%d documents pending after the legacy sweep, want 0", got)
	}
	assertExactlyOnce(t, w.stream, []string{first.ID, second.ID})
}
