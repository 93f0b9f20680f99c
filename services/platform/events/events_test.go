package events_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
)

const testStream = "THINGS"

var quiet = slog.New(slog.DiscardHandler)

// env is one test's NATS server, connection and THINGS stream (things.>),
// plus the dead-letter stream.
type env struct {
	nats   *embedded.NATS
	js     jetstream.JetStream
	pub    events.Publisher
	stream jetstream.Stream
}

func setup(t *testing.T) env {
	t.Helper()
	srv := embedded.NATSForTest(t)
	ctx := testContext(t)
	nc, js, err := events.Connect(ctx, srv.URL(), t.Name(), quiet)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	stream, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: testStream, Subjects: []string{"things.>"}})
	if err != nil {
		t.Fatalf("ensure stream: %v", err)
	}
	if _, err := events.EnsureDeadLetterStream(ctx, js, 1); err != nil {
		t.Fatalf("ensure dead-letter stream: %v", err)
	}
	return env{nats: srv, js: js, pub: events.NewJetStreamPublisher(js), stream: stream}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// publishEvent publishes a fresh envelope about thing id and returns it.
func (e env) publishEvent(t *testing.T, id string) *eventsv1.Envelope {
	t.Helper()
	ev, err := events.NewEnvelope("things.thing.created", "system:test", "thing", id, 1, wrapperspb.String(id), time.Now())
	if err != nil {
		t.Fatalf("new envelope: %v", err)
	}
	data, err := proto.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if err := e.pub.Publish(testContext(t), ev.GetType(), ev.GetEventId(), data); err != nil {
		t.Fatalf("publish: %v", err)
	}
	return ev
}

// consume runs events.Consume until the test ends and checks that it then
// returns nil.
func (e env) consume(t *testing.T, cfg events.ConsumerConfig, h events.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- events.Consume(ctx, e.js, cfg, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Consume returned %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Consume did not return within 10s of cancel")
		}
	})
}

// eventually polls cond until it holds or 20s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func messageCount(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(testContext(t))
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	return info.State.Msgs
}

func TestEnsureStreamIsIdempotent(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)
	cfg := events.StreamConfig{Name: testStream, Subjects: []string{"things.>"}}

	again, err := events.EnsureStream(ctx, e.js, cfg)
	if err != nil {
		t.Fatalf("second ensure: %v", err)
	}
	got := again.CachedInfo().Config
	if got.Storage != jetstream.FileStorage || got.Duplicates != 2*time.Minute || got.Replicas != 1 {
		t.Fatalf("stream config = storage %v, duplicates %s, replicas %d; want file, 2m, 1", got.Storage, got.Duplicates, got.Replicas)
	}

	cfg.MaxAge = time.Hour
	updated, err := events.EnsureStream(ctx, e.js, cfg)
	if err != nil {
		t.Fatalf("ensure with new max age: %v", err)
	}
	if updated.CachedInfo().Config.MaxAge != time.Hour {
		t.Fatalf("max age = %s, want 1h", updated.CachedInfo().Config.MaxAge)
	}
	names := e.js.StreamNames(ctx)
	var n int
	for range names.Name() {
		n++
	}
	if n != 2 { // THINGS and DEADLETTER
		t.Fatalf("%d streams exist, want 2", n)
	}
}

func TestPublishDropsDuplicateMsgIDs(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)

	for range 2 {
		if err := e.pub.Publish(ctx, "things.thing.created", "event-1", []byte("one")); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	if got := messageCount(t, e.stream); got != 1 {
		t.Fatalf("stream holds %d messages after publishing one id twice, want 1", got)
	}
	if err := e.pub.Publish(ctx, "things.thing.created", "event-2", []byte("two")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if got := messageCount(t, e.stream); got != 2 {
		t.Fatalf("stream holds %d messages, want 2", got)
	}
	if err := e.pub.Publish(ctx, "things.thing.created", "", []byte("no id")); err == nil {
		t.Fatal("publish without message id succeeded, want an error")
	}
}

func TestPublishFailsWhileNATSIsDown(t *testing.T) {
	e := setup(t)
	e.nats.Shutdown()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := e.pub.Publish(ctx, "things.thing.created", "event-1", []byte("one"))
	if err == nil {
		t.Fatal("publish with NATS down succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "event-1") {
		t.Fatalf("error %q does not name the message", err)
	}
}

func TestConsumeDeliversAndAcks(t *testing.T) {
	e := setup(t)
	var mu sync.Mutex
	seen := map[string]string{}
	e.consume(t, events.ConsumerConfig{Stream: testStream, Durable: "reader", Logger: debugLogger(t)},
		func(_ context.Context, ev *eventsv1.Envelope) error {
			var name wrapperspb.StringValue
			if err := events.Unpack(ev, &name); err != nil {
				return events.Permanent(err)
			}
			mu.Lock()
			defer mu.Unlock()
			seen[ev.GetEventId()] = name.GetValue()
			return nil
		})

	want := map[string]string{}
	for i := range 3 {
		ev := e.publishEvent(t, fmt.Sprintf("thing-%d", i))
		want[ev.GetEventId()] = ev.GetAggregateId()
	}
	eventually(t, "three events handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == len(want)
	})
	mu.Lock()
	for id, name := range want {
		if seen[id] != name {
			t.Errorf("event %s carried %q, want %q", id, seen[id], name)
		}
	}
	mu.Unlock()

	cons, err := e.js.Consumer(testContext(t), testStream, "reader")
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	eventually(t, "all acked", func() bool {
		info, err := cons.Info(testContext(t))
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.AckFloor.Stream == 3
	})
	if got := cons.CachedInfo().Config; got.AckPolicy != jetstream.AckExplicitPolicy || got.Durable != "reader" {
		t.Fatalf("consumer config = %+v, want durable with explicit acks", got)
	}
}

func TestConsumeDeadLetters(t *testing.T) {
	tests := []struct {
		name      string
		handler   func(calls int) error
		publish   func(t *testing.T, e env) // puts the one message on the stream
		wantCalls int
		wantError string
	}{{
		name:      "after MaxDeliver failures",
		handler:   func(int) error { return errors.New("database unavailable") },
		wantCalls: 3,
		wantError: "database unavailable",
	}, {
		name:      "at once when the error is permanent",
		handler:   func(int) error { return events.Permanent(errors.New("unknown practice")) },
		wantCalls: 1,
		wantError: "unknown practice",
	}, {
		name:    "at once when the payload is not an envelope",
		handler: func(int) error { return nil },
		publish: func(t *testing.T, e env) {
			if err := e.pub.Publish(testContext(t), "things.thing.created", "garbage-1", []byte("not a protobuf")); err != nil {
				t.Fatalf("publish: %v", err)
			}
		},
		wantCalls: 0,
		wantError: "decode envelope",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			var calls atomic.Int32
			e.consume(t, events.ConsumerConfig{
				Stream: testStream, Durable: "fragile", MaxDeliver: 3,
				Backoff: []time.Duration{time.Millisecond}, Logger: debugLogger(t),
			}, func(context.Context, *eventsv1.Envelope) error {
				return tt.handler(int(calls.Add(1)))
			})

			if tt.publish != nil {
				tt.publish(t, e)
			} else {
				e.publishEvent(t, "thing-1")
			}

			dead, err := e.js.Stream(testContext(t), events.DeadLetterStream)
			if err != nil {
				t.Fatalf("dead-letter stream: %v", err)
			}
			eventually(t, "a dead letter", func() bool { return messageCount(t, dead) == 1 })
			msg, err := dead.GetLastMsgForSubject(testContext(t), events.DeadLetterSubject(testStream, "fragile"))
			if err != nil {
				t.Fatalf("read dead letter: %v", err)
			}
			if got := msg.Header.Get(events.HeaderOriginalSubject); got != "things.thing.created" {
				t.Errorf("original subject header = %q", got)
			}
			if got := msg.Header.Get(events.HeaderError); !strings.Contains(got, tt.wantError) {
				t.Errorf("error header = %q, want it to mention %q", got, tt.wantError)
			}
			if got := msg.Header.Get(events.HeaderNumDelivered); got != fmt.Sprint(max(tt.wantCalls, 1)) {
				t.Errorf("delivered header = %q, want %d", got, max(tt.wantCalls, 1))
			}

			// Terminated: nothing left to deliver, and the handler saw it
			// exactly as often as allowed.
			cons, err := e.js.Consumer(testContext(t), testStream, "fragile")
			if err != nil {
				t.Fatalf("consumer: %v", err)
			}
			eventually(t, "message terminated", func() bool {
				info, err := cons.Info(testContext(t))
				return err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.NumRedelivered == 0
			})
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Fatalf("handler called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestConsumeSurvivesNATSRestart(t *testing.T) {
	e := setup(t)
	got := make(chan string, 10)
	e.consume(t, events.ConsumerConfig{Stream: testStream, Durable: "steadfast", Logger: debugLogger(t)},
		func(_ context.Context, ev *eventsv1.Envelope) error {
			got <- ev.GetAggregateId()
			return nil
		})

	e.publishEvent(t, "before")
	waitFor(t, got, "before")

	if err := e.nats.Restart(); err != nil {
		t.Fatalf("restart nats: %v", err)
	}
	// The client reconnects on its own; publishing works again once it has.
	ev, err := events.NewEnvelope("things.thing.created", "system:test", "thing", "after", 1, wrapperspb.String("after"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := proto.Marshal(ev)
	eventually(t, "publish after restart", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return e.pub.Publish(ctx, ev.GetType(), ev.GetEventId(), data) == nil
	})
	waitFor(t, got, "after")
}

func waitFor(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case id := <-got:
		if id != want {
			t.Fatalf("handled %q, want %q", id, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("event %q not handled within 20s", want)
	}
}

func TestConsumeRejectsInvalidConfig(t *testing.T) {
	e := setup(t)
	err := events.Consume(testContext(t), e.js, events.ConsumerConfig{Stream: testStream}, func(context.Context, *eventsv1.Envelope) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "durable") {
		t.Fatalf("Consume without durable = %v, want an error about it", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		cfg  interface{ Validate() error }
		want []string // each must appear in the one error
	}{
		{"valid stream", events.StreamConfig{Name: "CATALOG", Subjects: []string{"catalog.>"}}, nil},
		{"empty stream", events.StreamConfig{}, []string{"stream name is required", "at least one"}},
		{"bad stream", events.StreamConfig{
			Name: "a.b", Subjects: []string{"", "x y", "a..b"}, Duplicates: -time.Second,
			Replicas: 9, MaxAge: -time.Second,
		}, []string{`"a.b"`, "subjects[0]", "subjects[1]", "subjects[2]", "duplicates window -1s", "replicas 9", "max age -1s"}},
		{"window beyond max age", events.StreamConfig{Name: "S", Subjects: []string{"s.>"}, MaxAge: time.Minute}, []string{"exceeds max age"}},
		{"valid consumer", events.ConsumerConfig{Stream: "CATALOG", Durable: "twinning"}, nil},
		{"empty consumer", events.ConsumerConfig{}, []string{"consumer stream is required", "durable name is required"}},
		{"bad consumer", events.ConsumerConfig{
			Stream: "S*", Durable: "d d", FilterSubjects: []string{""}, MaxDeliver: -1,
			Backoff: []time.Duration{time.Second, 0}, AckWait: time.Second, HandlerTimeout: 2 * time.Second,
		}, []string{`"S*"`, `"d d"`, "filter subjects[0]", "max deliver -1", "backoff[1]", "shorter than ack wait"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want errors")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q\nwant it to mention %q", err, w)
				}
			}
			if got, want := strings.Count(err.Error(), "\n")+1, len(tt.want); got != want {
				t.Errorf("Validate() reported %d problems, want %d:\n%v", got, want, err)
			}
		})
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ev, err := events.NewEnvelope("catalog.practice.published", "member-7", "practice", "p-1", 4, wrapperspb.String("hello"), at)
	if err != nil {
		t.Fatalf("new envelope: %v", err)
	}
	if ev.GetEventId() == "" || ev.GetType() != "catalog.practice.published" || ev.GetAggregateVersion() != 4 || !ev.GetOccurredAt().AsTime().Equal(at) {
		t.Fatalf("envelope = %v", ev)
	}
	other, _ := events.NewEnvelope("catalog.practice.published", "member-7", "practice", "p-1", 4, wrapperspb.String("hello"), at)
	if other.GetEventId() == ev.GetEventId() {
		t.Fatal("two envelopes share an event id")
	}

	var got wrapperspb.StringValue
	if err := events.Unpack(ev, &got); err != nil || got.GetValue() != "hello" {
		t.Fatalf("Unpack = %q, %v; want hello", got.GetValue(), err)
	}
	if err := events.Unpack(ev, &wrapperspb.Int64Value{}); err == nil {
		t.Fatal("Unpack into the wrong type succeeded")
	}

	_, err = events.NewEnvelope("", "", "", "", 0, nil, time.Time{})
	if err == nil || strings.Count(err.Error(), "\n") != 5 {
		t.Fatalf("NewEnvelope with nothing = %v, want six problems", err)
	}
}

func debugLogger(t *testing.T) *slog.Logger {
	var mu sync.Mutex
	var lines []string
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			for _, l := range lines {
				t.Log(l)
			}
			mu.Unlock()
		}
	})
	return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		lines = append(lines, time.Now().Format("15:04:05.000")+" "+string(p))
		mu.Unlock()
		return len(p), nil
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
