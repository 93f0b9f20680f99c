package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
)

var quiet = slog.New(slog.DiscardHandler)

// world is one test's FerretDB database and NATS server with a THINGS
// stream on things.>.
type world struct {
	nats   *embedded.NATS
	db     *mongo.Database
	js     jetstream.JetStream
	pub    events.Publisher
	stream jetstream.Stream
}

func newWorld(t *testing.T) world {
	t.Helper()
	ferret := embedded.FerretDBForTest(t)
	srv := embedded.NATSForTest(t)
	ctx := testContext(t)

	client, err := mongo.Connect(options.Client().ApplyURI(ferret.URI()))
	if err != nil {
		t.Fatalf("connect mongo: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	})

	nc, js, err := events.Connect(ctx, srv.URL(), t.Name(), quiet)
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	stream, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: "THINGS", Subjects: []string{"things.>"}})
	if err != nil {
		t.Fatalf("ensure stream: %v", err)
	}
	return world{nats: srv, db: client.Database("outbox"), js: js, pub: events.NewJetStreamPublisher(js), stream: stream}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runRelay runs relay until the test ends.
func runRelay(t *testing.T, relay *outbox.Relay) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
}

// newRecord makes an outbox record for an event about thing id.
func newRecord(t *testing.T, id string, version int64) outbox.Record {
	t.Helper()
	env, err := events.NewEnvelope("things.thing.changed", "system:test", "thing", id, version, wrapperspb.String(id), time.Now())
	if err != nil {
		t.Fatalf("new envelope: %v", err)
	}
	rec, err := outbox.NewRecord(env)
	if err != nil {
		t.Fatalf("new record: %v", err)
	}
	return rec
}

// writeThing stores thing i as an aggregate write would: the document with
// version 1 and one or two pending events. It returns the event ids.
func writeThing(t *testing.T, coll *mongo.Collection, i int) []string {
	t.Helper()
	id := fmt.Sprintf("thing-%02d", i)
	var recs []outbox.Record
	var ids []string
	for range i%2 + 1 {
		rec := newRecord(t, id, 1)
		recs = append(recs, rec)
		ids = append(ids, rec.ID)
	}
	_, err := coll.InsertOne(testContext(t), bson.D{
		{Key: "_id", Value: id},
		{Key: "name", Value: "Thing " + id},
		{Key: outbox.VersionField, Value: int64(1)},
		{Key: outbox.Field, Value: recs},
	})
	if err != nil {
		t.Fatalf("insert %s: %v", id, err)
	}
	return ids
}

// changeThing is a concurrent aggregate write: it bumps the version and
// appends one more event, keeping the pending ones.
func changeThing(ctx context.Context, coll *mongo.Collection, rec outbox.Record, id string) error {
	res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$inc", Value: bson.D{{Key: outbox.VersionField, Value: 1}}},
		{Key: "$push", Value: bson.D{{Key: outbox.Field, Value: rec}}},
	})
	if err != nil {
		return fmt.Errorf("change %s: %w", id, err)
	}
	if res.ModifiedCount != 1 {
		return fmt.Errorf("change %s: modified %d documents", id, res.ModifiedCount)
	}
	return nil
}

// pendingDocs counts the documents of colls that still hold pending events.
func pendingDocs(t *testing.T, colls ...*mongo.Collection) int64 {
	t.Helper()
	var n int64
	for _, c := range colls {
		got, err := c.CountDocuments(testContext(t), bson.D{{Key: outbox.Field + ".0", Value: bson.D{{Key: "$exists", Value: true}}}})
		if err != nil {
			t.Fatalf("count pending in %s: %v", c.Name(), err)
		}
		n += got
	}
	return n
}

// eventually polls cond until it holds or 30s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertExactlyOnce checks that the stream holds one message per wanted
// event id and nothing else, by its state and by reading every message.
func assertExactlyOnce(t *testing.T, stream jetstream.Stream, want []string) {
	t.Helper()
	ctx := testContext(t)
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if info.State.Msgs != uint64(len(want)) {
		t.Errorf("stream holds %d messages, want %d (one per event)", info.State.Msgs, len(want))
	}

	var got []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data, &env); err != nil {
			t.Fatalf("message %d is no envelope: %v", seq, err)
		}
		if id := msg.Header.Get(jetstream.MsgIDHeader); id != env.GetEventId() {
			t.Errorf("message %d: Nats-Msg-Id %q, envelope event id %q", seq, id, env.GetEventId())
		}
		got = append(got, env.GetEventId())
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("stream event ids differ from the written ones\n got: %v\nwant: %v", got, want)
	}
}

func TestRelayPublishesEveryEventExactlyOnce(t *testing.T) {
	w := newWorld(t)
	practices, needs := w.db.Collection("practices"), w.db.Collection("needs")
	// A batch smaller than the work makes the relay loop within one wake-up.
	relay := outbox.NewRelay(outbox.RelayConfig{BatchSize: 7, SweepInterval: time.Hour, Logger: quiet}, w.pub, practices, needs)
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
	if s := relay.Stats(); s.Failures != 0 || s.Dropped != 0 {
		t.Errorf("stats = %+v, want no failures or drops", s)
	}

	// The aggregate itself is untouched by the relay.
	var doc struct {
		Name    string          `bson:"name"`
		Version int64           `bson:"version"`
		Pending []outbox.Record `bson:"pending_events"`
	}
	if err := practices.FindOne(testContext(t), bson.D{{Key: "_id", Value: "thing-01"}}).Decode(&doc); err != nil {
		t.Fatalf("read thing-01: %v", err)
	}
	if doc.Name != "Thing thing-01" || doc.Version != 1 || len(doc.Pending) != 0 {
		t.Errorf("thing-01 after relay = %+v, want name and version kept, no pending events", doc)
	}
}

func TestRelayCatchesUpAfterNATSRestart(t *testing.T) {
	w := newWorld(t)
	things := w.db.Collection("things")
	relay := outbox.NewRelay(outbox.RelayConfig{
		SweepInterval: 50 * time.Millisecond, PublishTimeout: 200 * time.Millisecond, Logger: quiet,
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

func TestRelayRepublishesWhenAggregateChangesMidPass(t *testing.T) {
	w := newWorld(t)
	things := w.db.Collection("things")
	pub := &interferingPublisher{Publisher: w.pub, beforeFor: map[string]func(context.Context) error{}}
	relay := outbox.NewRelay(outbox.RelayConfig{Logger: quiet}, pub, things)

	var want []string
	changed := 0
	for i := range 20 {
		ids := writeThing(t, things, i)
		want = append(want, ids...)
		if i%2 == 0 {
			id := fmt.Sprintf("thing-%02d", i)
			extra := newRecord(t, id, 2)
			want = append(want, extra.ID)
			pub.beforeFor[ids[0]] = func(ctx context.Context) error { return changeThing(ctx, things, extra, id) }
			changed++
		}
	}

	ctx := testContext(t)
	first, err := relay.RelayOnce(ctx)
	if err != nil {
		t.Fatalf("first pass: %v", err)
	}
	if got := relay.Stats().Conflicts; got != uint64(changed) {
		t.Fatalf("first pass: %d conflicts, want %d", got, changed)
	}
	if got := pendingDocs(t, things); got != int64(changed) {
		t.Fatalf("after first pass %d documents pending, want the %d changed ones", got, changed)
	}

	second, err := relay.RelayOnce(ctx)
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	// Each changed document publishes its old event again plus the new one.
	if wantSecond := 2 * changed; second != wantSecond {
		t.Errorf("second pass published %d, want %d", second, wantSecond)
	}
	if got := pendingDocs(t, things); got != 0 {
		t.Fatalf("after second pass %d documents pending, want 0", got)
	}
	if total := first + second; total <= len(want) {
		t.Errorf("published %d in all, want more than the %d events (some twice)", total, len(want))
	}
	assertExactlyOnce(t, w.stream, want)
}

func TestRelayKeepsEventsWhilePublishingFails(t *testing.T) {
	w := newWorld(t)
	things := w.db.Collection("things")
	want := writeThing(t, things, 1)
	down := failingPublisher{err: errors.New("nats: no servers available")}

	relay := outbox.NewRelay(outbox.RelayConfig{Logger: quiet}, down, things)
	n, err := relay.RelayOnce(testContext(t))
	if err == nil || n != 0 {
		t.Fatalf("RelayOnce with a failing publisher = %d, %v; want 0 and an error", n, err)
	}
	if !errors.Is(err, down.err) {
		t.Errorf("error %v does not wrap the publisher's", err)
	}
	if s := relay.Stats(); s.Failures != 1 || s.Published != 0 {
		t.Errorf("stats = %+v, want one failure, nothing published", s)
	}
	if got := pendingDocs(t, things); got != 1 {
		t.Fatalf("%d documents pending after a failed pass, want 1", got)
	}

	relay = outbox.NewRelay(outbox.RelayConfig{Logger: quiet}, w.pub, things)
	if _, err := relay.RelayOnce(testContext(t)); err != nil {
		t.Fatalf("RelayOnce: %v", err)
	}
	assertExactlyOnce(t, w.stream, want)
}

type failingPublisher struct{ err error }

func (p failingPublisher) Publish(context.Context, string, string, []byte) error { return p.err }

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
	if rec.ID != env.GetEventId() || rec.Subject != "things.thing.created" {
		t.Fatalf("record = %+v, want event id and type", rec)
	}
	if _, err := outbox.NewRecord(&eventsv1.Envelope{}); err == nil {
		t.Fatal("NewRecord of an empty envelope succeeded")
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
