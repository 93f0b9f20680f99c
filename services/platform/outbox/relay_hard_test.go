package outbox_test

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
)

// TestRelaySweepsOldestFirstInBoundedBatches: the sweep follows
// pending_since, oldest first, BatchSize documents at a time.
func TestRelaySweepsOldestFirstInBoundedBatches(t *testing.T) {
	w := newWorld(t)
	things := w.things(t, "things")
	ctx := testContext(t)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Written newest first, so that neither _id nor insertion order is the
	// oldest-first order.
	var byAge []string
	for i := range 5 {
		id := fmt.Sprintf("thing-%d", i)
		rec := thingRecord(t, id, 1)
		byAge = append([]string{rec.ID}, byAge...)
		if _, err := things.InsertOne(ctx, bson.D{
			{Key: "_id", Value: id}, {Key: outbox.VersionField, Value: int64(1)},
			{Key: outbox.Field, Value: []outbox.Record{rec}},
			{Key: outbox.SinceField, Value: t0.Add(-time.Duration(i) * time.Minute)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	relay := outbox.NewRelay(outbox.RelayConfig{BatchSize: 2, Logger: quiet, Locks: w.locks}, w.pub, things)
	for pass, want := range [][]string{byAge[:2], byAge[:4], byAge} {
		n, err := relay.RelayOnce(ctx)
		if err != nil || n > 2 {
			t.Fatalf("pass %d = %d, %v; want at most one batch of 2, no error", pass, n, err)
		}
		if got := streamEventIDs(t, w.stream); !slices.Equal(got, want) {
			t.Fatalf("after pass %d the stream holds %v, want the oldest first: %v", pass, got, want)
		}
	}
}

// TestRelayClearsADocumentThatKeepsChanging: writers append to one document
// without pause while the relay publishes; its records are cleared as they
// go, so each is published once, and the list empties when writes stop.
func TestRelayClearsADocumentThatKeepsChanging(t *testing.T) {
	w := newWorld(t)
	things := w.things(t, "things")
	relay := outbox.NewRelay(outbox.RelayConfig{SweepInterval: 20 * time.Millisecond, Logger: quiet, Locks: w.locks}, w.pub, things)
	ctx := testContext(t)

	first := thingRecord(t, "busy", 1)
	if err := insertThing(ctx, things, "busy", first); err != nil {
		t.Fatal(err)
	}
	runRelay(t, relay)

	var (
		mu      sync.Mutex
		want    = []string{first.ID}
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		errs    = make(chan error, 2)
		written int
	)
	for writer := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec := thingRecord(t, "busy", int64(i))
				if err := changeThing(ctx, w.store, things, "busy", fmt.Sprintf("writer %d change %d", writer, i), rec); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				want = append(want, rec.ID)
				written++
				mu.Unlock()
				relay.Notify()
			}
		}()
	}

	// Keep writing until the relay has published a good part of the events
	// while the document kept changing; meanwhile watch its pending list get
	// shorter, which it does only when a clear succeeds between writes.
	shrank, last := 0, 0
	eventually(t, "the relay to publish 100 events of the busy document while it is written", func() bool {
		select {
		case err := <-errs:
			t.Fatalf("writer: %v", err)
		default:
		}
		n := len(readOutbox(t, things, "busy").Pending)
		if n < last {
			shrank++
		}
		last = n
		mu.Lock()
		defer mu.Unlock()
		return written >= 150 && relay.Stats().Published >= 100
	})
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	relay.Notify()

	eventually(t, "the busy document to have nothing pending", func() bool { return pendingDocs(t, things) == 0 })
	assertExactlyOnce(t, w.stream, want)
	// One relay, every clear succeeded although the document had changed:
	// no record was published twice.
	if s := relay.Stats(); s.Published != uint64(len(want)) {
		t.Errorf("relay published %d times for %d events: records were published again", s.Published, len(want))
	}
	if shrank == 0 {
		t.Errorf("the busy document's pending list never got shorter while it was written")
	}
	doc := readOutbox(t, things, "busy")
	if doc.Version != int64(written)+1 || len(doc.Pending) != 0 || doc.Since != nil {
		t.Errorf("busy document after the writes: version %d, %d pending, since %v; want version %d, none, none",
			doc.Version, len(doc.Pending), doc.Since, written+1)
	}
	t.Logf("%d events written to one document; its pending list shrank %d times while written", len(want), shrank)
}

// TestRelayDeadLettersPoisonAmongGoodOnes: records the broker refuses (over
// the server's max payload, over the stream's max message size, on a
// subject no stream takes) are tried MaxAttempts times, then moved to the
// dead-letter stream with their reason and removed, while every good record
// of every document is published; the metrics count them.
func TestRelayDeadLettersPoisonAmongGoodOnes(t *testing.T) {
	const maxPayload = 64 << 10
	w := newWorldOn(t, natsWithMaxPayload(t, maxPayload))
	things := w.things(t, "things")
	ctx := testContext(t)
	if _, err := w.js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "SMALL", Subjects: []string{"small.>"}, Storage: jetstream.FileStorage, MaxMsgSize: 4096,
	}); err != nil {
		t.Fatalf("create stream SMALL: %v", err)
	}

	var want []string
	for i := range 10 {
		want = append(want, writeThing(t, things, i)...)
	}
	// One document's second event is over the server's max payload;
	// the event after it must wait for it, to keep the document's order.
	goodA, goodB := thingRecord(t, "big", 1), thingRecord(t, "big", 3)
	big := thingRecord(t, "big", 2)
	big.Data = bytes.Repeat([]byte{'x'}, maxPayload+1024)
	tooBigForStream := newRecord(t, "small.thing.changed", "small", 1)
	tooBigForStream.Data = bytes.Repeat([]byte{'y'}, 8<<10)
	nowhere := newRecord(t, "nowhere.thing.changed", "nowhere", 1)
	for _, d := range []struct {
		id   string
		recs []outbox.Record
	}{{"big", []outbox.Record{goodA, big, goodB}}, {"small", []outbox.Record{tooBigForStream}}, {"nowhere", []outbox.Record{nowhere}}} {
		if err := insertThing(ctx, things, d.id, d.recs...); err != nil {
			t.Fatal(err)
		}
	}
	want = append(want, goodA.ID, goodB.ID)

	reg := prometheus.NewRegistry()
	relay := outbox.NewRelay(outbox.RelayConfig{
		Service: "test", MaxAttempts: 3, SweepInterval: time.Millisecond,
		// The 1 MB document is slow on the embedded store under the race detector.
		QueryTimeout: testTimeout, DeadLetters: w.js, Registerer: reg, Logger: quiet, Locks: w.locks,
	}, w.pub, things)
	for pass := 1; pass < 3; pass++ {
		if _, err := relay.RelayOnce(testContext(t)); err != nil {
			t.Fatalf("pass %d: %v; refused records must not fail the pass", pass, err)
		}
		if got := streamEventIDs(t, w.stream); len(got) != len(want)-1 || slices.Contains(got, goodB.ID) {
			t.Fatalf("after pass %d the stream holds %d events, want all good ones but the one after the poison (%d)", pass, len(got), len(want)-1)
		}
		if got := pendingDocs(t, things); got != 3 {
			t.Fatalf("after pass %d %d documents pending, want the 3 poisoned ones", pass, got)
		}
		if got := metricValue(t, reg, "gemella_outbox_backlog_documents", nil); got != 3 {
			t.Errorf("after pass %d backlog gauge = %v, want 3", pass, got)
		}
	}
	if info, err := w.dead.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Fatalf("dead letters before the last attempt: %+v, %v; want none", info, err)
	}

	if _, err := relay.RelayOnce(testContext(t)); err != nil {
		t.Fatalf("pass 3: %v", err)
	}
	if got := pendingDocs(t, things); got != 0 {
		t.Fatalf("after the last attempt %d documents pending, want 0", got)
	}
	assertExactlyOnce(t, w.stream, want)
	if got := readOutbox(t, things, "big"); got.Name != "Thing big" || got.Version != 1 {
		t.Errorf("big after dead-lettering = %+v, want the aggregate untouched", got)
	}

	subject := outbox.DeadLetterSubject("outbox", "things")
	if subject != "deadletter.outbox.outbox.things" {
		t.Errorf("DeadLetterSubject = %q", subject)
	}
	for _, c := range []struct {
		rec        outbox.Record
		reason     string
		omitted    bool
		wantData   bool
		stream     string
		doc        string
		attempts   string
		sizeHeader string
	}{
		{rec: big, reason: "maximum payload", omitted: true, doc: "big"},
		{rec: tooBigForStream, reason: "message size exceeds maximum", omitted: true, doc: "small"},
		{rec: nowhere, reason: "no response from stream", wantData: true, doc: "nowhere"},
	} {
		msg := deadLetterOf(t, w, c.rec.ID)
		h := msg.Header
		if msg.Subject != subject {
			t.Errorf("%s dead-lettered on %q, want %q", c.doc, msg.Subject, subject)
		}
		if got := h.Get(events.HeaderOriginalSubject); got != c.rec.Subject {
			t.Errorf("%s: original subject header %q, want %q", c.doc, got, c.rec.Subject)
		}
		if got := h.Get(events.HeaderError); !strings.Contains(got, c.reason) || !strings.Contains(got, "refused 3 times") {
			t.Errorf("%s: reason header %q, want it to say %q and the attempts", c.doc, got, c.reason)
		}
		if got := h.Get(outbox.HeaderPayloadSize); got != strconv.Itoa(len(c.rec.Data)) {
			t.Errorf("%s: size header %q, want %d", c.doc, got, len(c.rec.Data))
		}
		if got := h.Get(outbox.HeaderDocument); got != c.doc {
			t.Errorf("%s: document header %q", c.doc, got)
		}
		if got := h.Get(outbox.HeaderCollection); got != "outbox.things" {
			t.Errorf("%s: collection header %q", c.doc, got)
		}
		if got := h.Get(outbox.HeaderAttempts); got != "3" {
			t.Errorf("%s: attempts header %q, want 3", c.doc, got)
		}
		if omitted := h.Get(outbox.HeaderPayloadOmitted) == "true"; omitted != c.omitted {
			t.Errorf("%s: payload omitted = %v, want %v", c.doc, omitted, c.omitted)
		}
		if c.wantData != bytes.Equal(msg.Data, c.rec.Data) || (!c.wantData && len(msg.Data) != 0) {
			t.Errorf("%s: dead letter carries %d bytes, want the record's data: %v", c.doc, len(msg.Data), c.wantData)
		}
	}

	coll := map[string]string{"service": "test", "collection": "things"}
	for name, want := range map[string]float64{
		"gemella_outbox_dead_lettered_total": 3,
		"gemella_outbox_published_total":     float64(len(want)),
		"gemella_outbox_backlog_documents":   0,
	} {
		if got := metricValue(t, reg, name, coll); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	refused := map[string]string{"service": "test", "collection": "things", "reason": "refused"}
	if got := metricValue(t, reg, "gemella_outbox_publish_failures_total", refused); got != 9 {
		t.Errorf("refused publishes = %v, want 3 records × 3 attempts", got)
	}
	if s := relay.Stats(); s.DeadLettered != 3 || s.Refused != 9 || s.Failures != 0 {
		t.Errorf("stats = %+v, want 3 dead letters, 9 refusals, no failed pass", s)
	}
}

// TestRelayWithoutDeadLettersKeepsPoisonPending: with nowhere to put a
// refused record, the relay keeps it (and says so) and still relays the rest.
func TestRelayWithoutDeadLettersKeepsPoisonPending(t *testing.T) {
	w := newWorld(t)
	things := w.things(t, "things")
	ctx := testContext(t)
	want := writeThing(t, things, 0)
	if err := insertThing(ctx, things, "nowhere", newRecord(t, "nowhere.thing.changed", "nowhere", 1)); err != nil {
		t.Fatal(err)
	}
	want = append(want, writeThing(t, things, 1)...)
	relay := outbox.NewRelay(outbox.RelayConfig{MaxAttempts: 1, SweepInterval: time.Millisecond, Logger: quiet, Locks: w.locks}, w.pub, things)
	for range 2 {
		if _, err := relay.RelayOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	assertExactlyOnce(t, w.stream, want)
	if got := pendingDocs(t, things); got != 1 {
		t.Errorf("%d documents pending, want the poisoned one", got)
	}
	if s := relay.Stats(); s.DeadLettered != 0 || s.Refused != 2 {
		t.Errorf("stats = %+v, want 2 refusals and no dead letter", s)
	}
}

// TestTwoRelaysOnOneDatabase: two replicas' relays sweep the same
// collections while writers create and change documents; neither pass ever
// fails, and every event is on the stream exactly once.
func TestTwoRelaysOnOneDatabase(t *testing.T) {
	w := newWorld(t)
	practices, needs := w.things(t, "practices"), w.things(t, "needs")
	colls := []*mongo.Collection{practices, needs}
	relays := []*outbox.Relay{
		outbox.NewRelay(outbox.RelayConfig{BatchSize: 5, Logger: quiet, Locks: w.locks}, w.pub, colls...),
		// The other replica's locks: its own leases, no lock in common
		// with the writers and the first relay but the lease documents.
		outbox.NewRelay(outbox.RelayConfig{BatchSize: 5, Logger: quiet, Locks: doclock.New(w.db, doclock.Options{Logger: quiet})},
			events.NewJetStreamPublisher(connectNATS(t, w.nats.URL())), colls...),
	}
	ctx := testContext(t)

	var (
		mu        sync.Mutex
		want      []string
		writersWG sync.WaitGroup
		writeErrs = make(chan error, 3)
	)
	record := func(ids ...string) {
		mu.Lock()
		want = append(want, ids...)
		mu.Unlock()
	}
	// One writer creates documents, two keep changing the first ones.
	for i := range 5 {
		record(writeThing(t, practices, i)...)
	}
	writersWG.Add(3)
	go func() {
		defer writersWG.Done()
		for i := 5; i < 25; i++ {
			coll := colls[i%2]
			id := fmt.Sprintf("thing-%02d", i)
			rec := thingRecord(t, id, 1)
			if err := insertThing(ctx, coll, id, rec); err != nil {
				writeErrs <- err
				return
			}
			record(rec.ID)
		}
	}()
	for writer := range 2 {
		go func() {
			defer writersWG.Done()
			for i := range 25 {
				id := fmt.Sprintf("thing-%02d", (i+writer)%5)
				rec := thingRecord(t, id, int64(i))
				if err := changeThing(ctx, w.store, practices, id, "changed", rec); err != nil {
					writeErrs <- err
					return
				}
				record(rec.ID)
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { writersWG.Wait(); close(writersDone) }()

	// Both relays pass back to back until the writers are done and nothing
	// is left; every pass must succeed.
	var relaysWG sync.WaitGroup
	passErrs := make(chan error, len(relays))
	for i, relay := range relays {
		relaysWG.Add(1)
		go func() {
			defer relaysWG.Done()
			for {
				if _, err := relay.RelayOnce(ctx); err != nil {
					passErrs <- fmt.Errorf("relay %d: %w", i, err)
					return
				}
				select {
				case <-writersDone:
					if pendingDocs(t, colls...) == 0 {
						return
					}
				case <-ctx.Done():
					passErrs <- fmt.Errorf("relay %d: %w", i, ctx.Err())
					return
				case <-time.After(5 * time.Millisecond): // leave the writers some of the store
				}
			}
		}()
	}
	relaysWG.Wait()
	close(passErrs)
	for err := range passErrs {
		t.Error(err)
	}
	close(writeErrs)
	for err := range writeErrs {
		t.Fatalf("writer: %v", err)
	}

	assertExactlyOnce(t, w.stream, want)
	s0, s1 := relays[0].Stats(), relays[1].Stats()
	if s0.Published+s1.Published < uint64(len(want)) || s0.Failures+s1.Failures != 0 {
		t.Errorf("stats %+v and %+v: want no failed pass and at least %d publishes", s0, s1, len(want))
	}
	t.Logf("%d events; relay 0 published %d, relay 1 %d (re-publishes dropped by the duplicate window)", len(want), s0.Published, s1.Published)
}

// deadLetterOf finds the dead letter of event id.
func deadLetterOf(t *testing.T, w world, id string) *jetstream.RawStreamMsg {
	t.Helper()
	ctx := testContext(t)
	info, err := w.dead.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		msg, err := w.dead.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get(events.HeaderOriginalMsgID) == id {
			return msg
		}
	}
	t.Fatalf("no dead letter of %s among %d", id, info.State.Msgs)
	return nil
}

// metricValue is the value of the series of name whose labels include
// labels; it fails the test when there is none.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == k && l.GetValue() == v)
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// TestRefusalsCountOncePerSweepInterval: passes that follow each other
// quickly (a draining backlog) do not use up a record's attempts, so a
// short broker hiccup does not dead-letter it.
func TestRefusalsCountOncePerSweepInterval(t *testing.T) {
	w := newWorld(t)
	things := w.things(t, "things")
	ctx := testContext(t)
	if err := insertThing(ctx, things, "nowhere", newRecord(t, "nowhere.thing.changed", "nowhere", 1)); err != nil {
		t.Fatal(err)
	}
	relay := outbox.NewRelay(outbox.RelayConfig{MaxAttempts: 2, SweepInterval: time.Hour, DeadLetters: w.js, Logger: quiet, Locks: w.locks}, w.pub, things)
	for range 3 {
		if _, err := relay.RelayOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s := relay.Stats(); s.Refused != 3 || s.DeadLettered != 0 {
		t.Errorf("stats = %+v, want 3 refusals counted as one attempt, no dead letter", s)
	}
	if got := pendingDocs(t, things); got != 1 {
		t.Errorf("%d documents pending, want the refused one kept", got)
	}
}
