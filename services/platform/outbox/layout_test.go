package outbox_test

import (
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/outbox"
)

// outboxOf is what a document holds of the outbox.
type outboxOf struct {
	Version int64           `bson:"version"`
	Name    string          `bson:"name"`
	Pending []outbox.Record `bson:"pending_events"`
	Since   *time.Time      `bson:"pending_since"`
	Raw     bson.Raw        `bson:"-"`
}

func readOutbox(t *testing.T, coll *mongo.Collection, id string) outboxOf {
	t.Helper()
	raw, err := coll.FindOne(testContext(t), bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	var doc outboxOf
	if err := bson.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("decode %s: %v", id, err)
	}
	doc.Raw = raw
	return doc
}

func ids(recs []outbox.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// TestLayoutOperators checks each operator the writers' helpers use on the
// store itself, since FerretDB v1 lacks some.
func TestLayoutOperators(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			coll := s.things(t, "layout")
			ctx := testContext(t)

			// A document created without events has an empty array, no since.
			if err := insertThing(ctx, coll, "quiet"); err != nil {
				t.Fatal(err)
			}
			doc := readOutbox(t, coll, "quiet")
			if v := doc.Raw.Lookup(outbox.Field); v.Type != bson.TypeArray {
				t.Fatalf("new document without events: %s is %s, want an (empty) array", outbox.Field, v.Type)
			}
			if doc.Since != nil {
				t.Fatalf("new document without events has %s %v", outbox.SinceField, doc.Since)
			}

			// The first change with an event pushes it and sets since ($min on
			// a missing field).
			before := time.Now().Add(-time.Second)
			r1 := thingRecord(t, "quiet", 2)
			if err := changeThing(ctx, s, coll, "quiet", "renamed", r1); err != nil {
				t.Fatal(err)
			}
			doc = readOutbox(t, coll, "quiet")
			if doc.Name != "renamed" || doc.Version != 2 || len(doc.Pending) != 1 || doc.Pending[0].ID != r1.ID || string(doc.Pending[0].Data) != string(r1.Data) {
				t.Fatalf("after a change: %+v, want name, version 2 and the one record", doc)
			}
			if doc.Since == nil || doc.Since.Before(before) {
				t.Fatalf("after a change: %s = %v, want about now", outbox.SinceField, doc.Since)
			}
			since := *doc.Since

			// A later change appends after it and keeps the older since.
			time.Sleep(5 * time.Millisecond) // so that "now" is later than since
			r2, r3 := thingRecord(t, "quiet", 3), thingRecord(t, "quiet", 3)
			if err := changeThing(ctx, s, coll, "quiet", "again", r2, r3); err != nil {
				t.Fatal(err)
			}
			doc = readOutbox(t, coll, "quiet")
			if got, want := ids(doc.Pending), []string{r1.ID, r2.ID, r3.ID}; !slices.Equal(got, want) {
				t.Fatalf("pending after two changes = %v, want %v (appended, oldest first)", got, want)
			}
			if !doc.Since.Equal(since) {
				t.Fatalf("%s moved from %v to %v; $min must keep the older", outbox.SinceField, since, doc.Since)
			}

			// A change without events leaves the outbox alone.
			if err := changeThing(ctx, s, coll, "quiet", "no events"); err != nil {
				t.Fatal(err)
			}
			if doc = readOutbox(t, coll, "quiet"); len(doc.Pending) != 3 || doc.Version != 4 {
				t.Fatalf("after a change without events: %+v, want 3 pending and version 4", doc)
			}

			// A stale version writes nothing.
			res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "quiet"}, {Key: outbox.VersionField, Value: int64(1)}},
				outbox.Update(bson.D{{Key: "name", Value: "stale"}}, []outbox.Record{thingRecord(t, "quiet", 2)}))
			if err != nil || res.MatchedCount != 0 {
				t.Fatalf("stale update = %+v, %v; want no match", res, err)
			}
		})
	}
}

func TestPrepareMigratesOlderDocuments(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			coll := s.db.Collection("legacy")
			ctx := testContext(t)
			rec := thingRecord(t, "old-pending", 1)
			if _, err := coll.InsertMany(ctx, []any{
				bson.D{{Key: "_id", Value: "old-null"}, {Key: outbox.Field, Value: nil}},
				bson.D{{Key: "_id", Value: "old-missing"}},
				bson.D{{Key: "_id", Value: "old-pending"}, {Key: outbox.Field, Value: []outbox.Record{rec}}},
			}); err != nil {
				t.Fatal(err)
			}
			for range 2 { // and a second time changes nothing
				if err := outbox.Prepare(ctx, coll); err != nil {
					t.Fatalf("Prepare: %v", err)
				}
			}
			for _, id := range []string{"old-null", "old-missing"} {
				doc := readOutbox(t, coll, id)
				if v := doc.Raw.Lookup(outbox.Field); v.Type != bson.TypeArray || doc.Since != nil {
					t.Errorf("%s after Prepare: %s is %s, since %v; want an empty array, no since", id, outbox.Field, v.Type, doc.Since)
				}
			}
			if doc := readOutbox(t, coll, "old-pending"); doc.Since == nil || len(doc.Pending) != 1 {
				t.Errorf("old-pending after Prepare: %+v, want its record and a %s", doc, outbox.SinceField)
			}

			specs, err := coll.Indexes().ListSpecifications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, spec := range specs {
				if spec.Name == outbox.IndexName {
					found = true
					if got := spec.KeysDocument.String(); got != `{"pending_since": {"$numberInt":"1"}}` {
						t.Errorf("sweep index keys = %s", got)
					}
				}
			}
			if !found {
				t.Errorf("no index %q among %+v", outbox.IndexName, specs)
			}

			// A pushed update works on every migrated document.
			for _, id := range []string{"old-null", "old-missing", "old-pending"} {
				if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, outbox.UpdateOps([]outbox.Record{thingRecord(t, id, 2)})); err != nil {
					t.Errorf("push to %s after Prepare: %v", id, err)
				}
			}
		})
	}
}

func TestWriterHelpersNeverSetTheOutbox(t *testing.T) {
	rec := outbox.Record{ID: "e1", Subject: "things.thing.changed"}
	set := bson.D{
		{Key: "_id", Value: "x"}, {Key: "name", Value: "n"}, {Key: outbox.VersionField, Value: int64(2)},
		{Key: outbox.Field, Value: []outbox.Record{{ID: "old"}}}, {Key: outbox.SinceField, Value: time.Now()},
	}
	update := outbox.Update(set, []outbox.Record{rec})
	keys := map[string]bson.D{}
	for _, e := range update {
		keys[e.Key], _ = e.Value.(bson.D)
	}
	if len(update) != 3 || keys["$set"] == nil || keys["$push"] == nil || keys["$min"] == nil {
		t.Fatalf("Update = %v, want $set, $push and $min", update)
	}
	for _, e := range keys["$set"] {
		if e.Key == "_id" || outbox.IsField(e.Key) {
			t.Errorf("Update sets %s", e.Key)
		}
	}
	if len(keys["$set"]) != 2 {
		t.Errorf("$set = %v, want name and version", keys["$set"])
	}
	if got := outbox.Update(bson.D{{Key: "name", Value: "n"}}, nil); len(got) != 1 {
		t.Errorf("Update without records = %v, want $set alone", got)
	}
	if got := outbox.UpdateOps(nil); len(got) != 0 {
		t.Errorf("UpdateOps(nil) = %v, want nothing", got)
	}

	ins := outbox.Insert(set, nil)
	var pending, since int
	for _, e := range ins {
		switch e.Key {
		case outbox.Field:
			pending++
			if recs, ok := e.Value.([]outbox.Record); !ok || recs == nil || len(recs) != 0 {
				t.Errorf("Insert without records: %s = %#v, want an empty, non-nil slice", e.Key, e.Value)
			}
		case outbox.SinceField:
			since++
		}
	}
	if pending != 1 || since != 0 {
		t.Errorf("Insert without records = %v, want one empty %s and no %s", ins, outbox.Field, outbox.SinceField)
	}
	if len(set) != 5 {
		t.Errorf("Insert or Update changed the caller's document: %v", set)
	}
}
