package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
)

var quiet = slog.New(slog.DiscardHandler)

// store is one test's database, and the document locks its writers and
// relays take: leases on the embedded FerretDB, nil on MongoDB.
type store struct {
	db    *mongo.Database
	locks *doclock.Locks
}

// stores are the databases a layout test runs on: the embedded FerretDB
// always, and a real MongoDB when GEMELLA_TEST_MONGO_URI is set.
func stores(t *testing.T) map[string]func(t *testing.T) store {
	t.Helper()
	out := map[string]func(t *testing.T) store{
		"ferretdb": func(t *testing.T) store {
			db := connectDB(t, embedded.FerretDBForTest(t).URI(), "outbox")
			// The locks of a service replica: leases that hold across processes.
			return store{db: db, locks: doclock.New(db, doclock.Options{Logger: quiet})}
		},
	}
	if uri := os.Getenv("GEMELLA_TEST_MONGO_URI"); uri != "" {
		out["mongodb"] = func(t *testing.T) store {
			name := fmt.Sprintf("outbox_test_%d", time.Now().UnixNano())
			db := connectDB(t, uri, name)
			t.Cleanup(func() { _ = db.Drop(context.Background()) })
			return store{db: db}
		}
	}
	return out
}

func connectDB(t testing.TB, uri, name string) *mongo.Database {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("connect mongo: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	})
	return client.Database(name)
}

// world is one test's FerretDB database and NATS server with a THINGS
// stream on things.> and the dead-letter stream.
type world struct {
	store
	nats   *embedded.NATS
	js     jetstream.JetStream
	pub    events.Publisher
	stream jetstream.Stream
	dead   jetstream.Stream
	// ferretURI reaches the world's FerretDB, for a client of the test's own.
	ferretURI string
}

func newWorld(t testing.TB) world {
	t.Helper()
	srv := embedded.NATSForTest(t)
	w := newWorldOn(t, srv.URL())
	w.nats = srv
	return w
}

// newWorldOn is a world whose NATS server is at url.
func newWorldOn(t testing.TB, url string) world {
	t.Helper()
	ferret := embedded.FerretDBForTest(t)
	ctx := testContext(t)

	js := connectNATS(t, url)
	stream, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: "THINGS", Subjects: []string{"things.>"}})
	if err != nil {
		t.Fatalf("ensure stream: %v", err)
	}
	dead, err := events.EnsureDeadLetterStream(ctx, js, 1)
	if err != nil {
		t.Fatalf("ensure dead-letter stream: %v", err)
	}
	db := connectDB(t, ferret.URI(), "outbox")
	st := store{db: db, locks: doclock.New(db, doclock.Options{Logger: quiet})}
	return world{store: st, js: js, pub: events.NewJetStreamPublisher(js), stream: stream, dead: dead, ferretURI: ferret.URI()}
}

// natsWithMaxPayload runs a NATS server with JetStream whose max_payload is
// small, so that a poison record need not be megabytes; the embedded
// package's server keeps the default of 1 MB.
func natsWithMaxPayload(t testing.TB, maxPayload int32) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		MaxPayload: maxPayload, NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return srv.ClientURL()
}

// connectNATS is one more client of the server at url, as another replica
// would have.
func connectNATS(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, js, err := events.Connect(testContext(t), url, t.Name(), quiet)
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	return js
}

// things is a prepared outbox collection of w.
func (s store) things(t testing.TB, name string) *mongo.Collection {
	t.Helper()
	coll := s.db.Collection(name)
	if err := outbox.Prepare(testContext(t), coll); err != nil {
		t.Fatalf("prepare %s: %v", name, err)
	}
	return coll
}

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
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
func newRecord(t testing.TB, subject, id string, version int64) outbox.Record {
	t.Helper()
	env, err := events.NewEnvelope(subject, "system:test", "thing", id, version, wrapperspb.String(id), time.Now())
	if err != nil {
		t.Fatalf("new envelope: %v", err)
	}
	rec, err := outbox.NewRecord(env)
	if err != nil {
		t.Fatalf("new record: %v", err)
	}
	return rec
}

func thingRecord(t testing.TB, id string, version int64) outbox.Record {
	return newRecord(t, "things.thing.changed", id, version)
}

// insertThing creates document id as a repository does, with recs.
func insertThing(ctx context.Context, coll *mongo.Collection, id string, recs ...outbox.Record) error {
	_, err := coll.InsertOne(ctx, outbox.Insert(bson.D{
		{Key: "_id", Value: id},
		{Key: "name", Value: "Thing " + id},
		{Key: outbox.VersionField, Value: int64(1)},
	}, recs))
	if err != nil {
		return fmt.Errorf("insert %s: %w", id, err)
	}
	return nil
}

// writeThing stores thing i with version 1 and one or two pending events.
// It returns the event ids.
func writeThing(t *testing.T, coll *mongo.Collection, i int) []string {
	t.Helper()
	id := fmt.Sprintf("thing-%02d", i)
	var recs []outbox.Record
	var ids []string
	for range i%2 + 1 {
		rec := thingRecord(t, id, 1)
		recs = append(recs, rec)
		ids = append(ids, rec.ID)
	}
	if err := insertThing(testContext(t), coll, id, recs...); err != nil {
		t.Fatal(err)
	}
	return ids
}

// errConflict is a version-conditioned write that lost its race.
var errConflict = errors.New("version changed")

// changeThing is an aggregate write as a repository does it: under the
// document lock (the embedded store needs it), read the version, then an
// UpdateOne conditioned on it that sets the aggregate's fields and appends
// recs to the outbox.
func changeThing(ctx context.Context, s store, coll *mongo.Collection, id, name string, recs ...outbox.Record) error {
	defer s.locks.Lock(coll.Name(), id)()
	var cur struct {
		Version int64 `bson:"version"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(outbox.ExcludeFields())).Decode(&cur); err != nil {
		return fmt.Errorf("read %s: %w", id, err)
	}
	res, err := coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: outbox.VersionField, Value: cur.Version}},
		outbox.Update(bson.D{{Key: "name", Value: name}, {Key: outbox.VersionField, Value: cur.Version + 1}}, recs))
	if err != nil {
		return fmt.Errorf("change %s: %w", id, err)
	}
	if res.ModifiedCount != 1 {
		return fmt.Errorf("change %s: %w", id, errConflict)
	}
	return nil
}

// pendingDocs counts the documents of colls that still hold pending events
// or a pending_since.
func pendingDocs(t *testing.T, colls ...*mongo.Collection) int64 {
	t.Helper()
	var n int64
	for _, c := range colls {
		got, err := c.CountDocuments(testContext(t), bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: outbox.Field + ".0", Value: bson.D{{Key: "$exists", Value: true}}}},
			bson.D{{Key: outbox.SinceField, Value: bson.D{{Key: "$exists", Value: true}}}},
		}}})
		if err != nil {
			t.Fatalf("count pending in %s: %v", c.Name(), err)
		}
		n += got
	}
	return n
}

// testTimeout bounds each test's waits; generous, for the race detector on
// a busy machine, never a measure of speed.
const testTimeout = 60 * time.Second

// eventually polls cond until it holds or testTimeout passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streamEventIDs reads every message of stream, checking that each is an
// envelope published with its event id as Nats-Msg-Id.
func streamEventIDs(t *testing.T, stream jetstream.Stream) []string {
	t.Helper()
	ctx := testContext(t)
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
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
	if uint64(len(got)) != info.State.Msgs {
		t.Errorf("read %d messages, stream state says %d", len(got), info.State.Msgs)
	}
	return got
}

// assertExactlyOnce checks that the stream holds one message per wanted
// event id and nothing else, by its state and by reading every message.
func assertExactlyOnce(t *testing.T, stream jetstream.Stream, want []string) {
	t.Helper()
	got := slices.Sorted(slices.Values(streamEventIDs(t, stream)))
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("stream holds %d events, want the %d written exactly once\n got: %s\nwant: %s",
			len(got), len(want), abbreviate(got), abbreviate(want))
	}
}

func abbreviate(ids []string) string {
	if len(ids) > 12 {
		return strings.Join(ids[:12], " ") + fmt.Sprintf(" … (%d more)", len(ids)-12)
	}
	return strings.Join(ids, " ")
}
