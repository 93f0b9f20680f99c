package outbox_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
)

// A writer that names the document it wrote gets its events published
// without a sweep: on the embedded FerretDB a sweep reads whole
// collections. What nobody named waits for a sweep (Notify, or the
// periodic one), and a collection the relay does not serve falls back to
// a sweep.
func TestRelayPublishesANamedDocumentWithoutSweeping(t *testing.T) {
	w := newWorld(t)
	practices, needs := w.things(t, "practices"), w.things(t, "needs")
	relay := outbox.NewRelay(outbox.RelayConfig{SweepInterval: time.Hour, Logger: quiet, Locks: w.locks}, w.pub, practices, needs)
	runRelay(t, relay)
	// The first pass of Run is a sweep: let it find nothing.
	time.Sleep(200 * time.Millisecond)

	named := writeThing(t, practices, 1)   // two events
	unnamed := writeThing(t, practices, 2) // one event, nobody tells the relay
	relay.NotifyDocument("practices", "thing-01")
	eventually(t, "the named document's events", func() bool { return relay.Stats().Published >= uint64(len(named)) })
	// Give a sweep, were there one, the time to publish the other too.
	time.Sleep(500 * time.Millisecond)
	got := streamEventIDs(t, w.stream)
	if !sameIDs(got, named) {
		t.Fatalf("after NotifyDocument the stream holds %v, want only the named document's %v", got, named)
	}
	if doc := readOutbox(t, practices, "thing-01"); len(doc.Pending) != 0 || doc.Since != nil {
		t.Fatalf("the named document is not cleared: %+v", doc)
	}
	if doc := readOutbox(t, practices, "thing-02"); len(doc.Pending) != 1 {
		t.Fatalf("the unnamed document was touched: %+v", doc)
	}

	// A name the relay does not serve sweeps: thing-02 goes too.
	relay.NotifyDocument("elsewhere", "thing-02")
	want := append(slices.Clone(named), unnamed...)
	eventually(t, "the sweep", func() bool { return pendingDocs(t, practices, needs) == 0 })
	assertExactlyOnce(t, w.stream, want)

	// Named documents in two collections, and one named twice.
	more := writeThing(t, needs, 3)
	more = append(more, writeThing(t, practices, 4)...)
	relay.NotifyDocument("needs", "thing-03")
	relay.NotifyDocument("practices", "thing-04")
	relay.NotifyDocument("practices", "thing-04")
	want = append(want, more...)
	eventually(t, "both named documents", func() bool { return pendingDocs(t, practices, needs) == 0 })
	assertExactlyOnce(t, w.stream, want)
	if s := relay.Stats(); s.Failures != 0 || s.Refused != 0 {
		t.Errorf("stats = %+v, want no failures or refusals", s)
	}
}

func sameIDs(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(id string) bool { return !slices.Contains(b, id) })
}

// A writer that knows what the outbox holds after its write hands the
// records over (NotifyPending): the relay publishes exactly them, in
// order, and clears the document as if it had read it (the array empty,
// pending_since gone), so that no sweep finds it again.
func TestRelayPublishesHandedRecordsAndClearsThem(t *testing.T) {
	w := newWorld(t)
	practices := w.things(t, "practices")
	relay := outbox.NewRelay(outbox.RelayConfig{SweepInterval: time.Hour, Logger: quiet, Locks: w.locks}, w.pub, practices)
	runRelay(t, relay)
	time.Sleep(200 * time.Millisecond) // the first pass, a sweep, finds nothing

	recs := []outbox.Record{thingRecord(t, "thing-01", 1), thingRecord(t, "thing-01", 1)}
	if err := insertThing(testContext(t), practices, "thing-01", recs...); err != nil {
		t.Fatal(err)
	}
	raws, err := outbox.RawRecords(recs)
	if err != nil {
		t.Fatal(err)
	}
	relay.NotifyPending("practices", "thing-01", raws)
	eventually(t, "the handed records", func() bool { return pendingDocs(t, practices) == 0 })
	assertExactlyOnce(t, w.stream, []string{recs[0].ID, recs[1].ID})
	if doc := readOutbox(t, practices, "thing-01"); len(doc.Pending) != 0 || doc.Since != nil {
		t.Fatalf("the document is not cleared: %+v", doc)
	}
}

// A handed record may be encoded otherwise than the store keeps it (its
// fields in another order): the relay still clears the stored one, so
// that nothing stays in the array unseen by the sweep, to be published
// again once the stream's duplicate window has passed.
func TestRelayClearsHandedRecordsEncodedOtherwise(t *testing.T) {
	w := newWorld(t)
	practices := w.things(t, "practices")
	relay := outbox.NewRelay(outbox.RelayConfig{SweepInterval: time.Hour, Logger: quiet, Locks: w.locks}, w.pub, practices)
	runRelay(t, relay)
	time.Sleep(200 * time.Millisecond) // the first pass, a sweep, finds nothing

	rec := thingRecord(t, "thing-01", 1)
	if err := insertThing(testContext(t), practices, "thing-01", rec); err != nil {
		t.Fatal(err)
	}
	reordered, err := bson.Marshal(bson.D{{Key: "subject", Value: rec.Subject}, {Key: "data", Value: rec.Data}, {Key: "id", Value: rec.ID}})
	if err != nil {
		t.Fatal(err)
	}
	relay.NotifyPending("practices", "thing-01", []bson.Raw{reordered})
	eventually(t, "the handed record", func() bool { return relay.Stats().Published >= 1 })
	eventually(t, "the document cleared", func() bool {
		doc := readOutbox(t, practices, "thing-01")
		return len(doc.Pending) == 0 && doc.Since == nil
	})
	assertExactlyOnce(t, w.stream, []string{rec.ID})
}

// With the in-process locks, a writer stamps its release of the
// document's lock (doclock.Locks.Held) when it hands the records over:
// when nobody held the lock since, the relay clears the outbox without
// reading the document first, one update and no find.
func TestRelayClearsAWrittenDocumentWithoutReadingIt(t *testing.T) {
	w := newWorld(t)
	w.things(t, "practices")
	var finds, updates atomic.Int64
	client, err := mongo.Connect(options.Client().ApplyURI(w.ferretURI).SetMonitor(&event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			switch e.CommandName {
			case "find":
				finds.Add(1)
			case "update":
				updates.Add(1)
			}
		}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	practices := client.Database(w.db.Name()).Collection("practices")
	locks := &doclock.Locks{}
	relay := outbox.NewRelay(outbox.RelayConfig{SweepInterval: time.Hour, Logger: quiet, Locks: locks}, w.pub, practices)
	runRelay(t, relay)
	time.Sleep(200 * time.Millisecond) // the first pass, a sweep, finds nothing

	rec, written := writeLocked(t, locks, practices, "thing-01")
	finds.Store(0)
	updates.Store(0)
	relay.NotifyWritten("practices", "thing-01", rec, written)
	eventually(t, "the document cleared", func() bool {
		doc := readOutbox(t, w.things(t, "practices"), "thing-01")
		return len(doc.Pending) == 0 && doc.Since == nil
	})
	if finds.Load() != 0 || updates.Load() != 1 {
		t.Fatalf("the relay read the document %d times and updated it %d times, want 0 and 1", finds.Load(), updates.Load())
	}
	assertExactlyOnce(t, w.stream, []string{recordID(t, rec[0])})
}

// When another writer held the document's lock after the handoff (and
// appended an event), the writer's stamp is stale: the relay reads the
// document, clears only what it published, and the other event stays
// pending for the relay to find.
func TestRelayReadsAWrittenDocumentChangedSince(t *testing.T) {
	w := newWorld(t)
	practices := w.things(t, "practices")
	locks := &doclock.Locks{}
	relay := outbox.NewRelay(outbox.RelayConfig{SweepInterval: time.Hour, Logger: quiet, Locks: locks}, w.pub, practices)
	runRelay(t, relay)
	time.Sleep(200 * time.Millisecond) // the first pass, a sweep, finds nothing

	handed, written := writeLocked(t, locks, practices, "thing-01")
	later := thingRecord(t, "thing-01", 2)
	release, err := locks.Acquire(testContext(t), "practices", "thing-01")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := practices.UpdateOne(testContext(t), bson.D{{Key: "_id", Value: "thing-01"}},
		bson.D{{Key: "$push", Value: bson.D{{Key: outbox.Field, Value: later}}}}); err != nil {
		t.Fatal(err)
	}
	release()
	relay.NotifyWritten("practices", "thing-01", handed, written)
	eventually(t, "the handed record published", func() bool { return relay.Stats().Published >= 1 })
	eventually(t, "the handed record cleared", func() bool { return len(readOutbox(t, practices, "thing-01").Pending) == 1 })
	doc := readOutbox(t, practices, "thing-01")
	if got := doc.Pending[0].ID; got != later.ID || doc.Since == nil {
		t.Fatalf("after the clear the outbox holds %s (pending_since %v), want the later event %s still pending", got, doc.Since, later.ID)
	}
}

// writeLocked inserts a thing with one pending record under its lock, as
// a store's write does, and returns the record as stored and the stamp of
// the lock's release.
func writeLocked(t *testing.T, locks *doclock.Locks, coll *mongo.Collection, id string) ([]bson.Raw, doclock.Stamp) {
	t.Helper()
	rec := thingRecord(t, id, 1)
	release, err := locks.Acquire(testContext(t), coll.Name(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := insertThing(testContext(t), coll, id, rec); err != nil {
		t.Fatal(err)
	}
	raws, err := outbox.RawRecords([]outbox.Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	return raws, locks.Held(coll.Name(), id)
}

func recordID(t *testing.T, raw bson.Raw) string {
	t.Helper()
	id, ok := raw.Lookup("id").StringValueOK()
	if !ok {
		t.Fatalf("a pending record without an id: %v", raw)
	}
	return id
}
