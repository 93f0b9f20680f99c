package outbox_test

import (
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

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
