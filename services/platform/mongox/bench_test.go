package mongox_test

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
)

// BenchmarkUpdate compares the store's update ($set of the fields) with the
// whole-document replace the repositories did before, on each server. No
// events: with no relay to clear them, a growing outbox would dominate.
func BenchmarkUpdate(b *testing.B) {
	for _, server := range mongoxtest.Servers(b) {
		db, cfg := server.Database(b)
		s := mongox.NewAggregateStore(db.Collection("items"), items, mongox.StoreOptions{Locks: mongox.DocLocks(cfg)})
		ctx := context.Background()
		if err := s.Create(ctx, newItem("i1", "bench", "c")); err != nil {
			b.Fatal(err)
		}
		b.Run(server.Name+"/store", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := s.Update(ctx, "i1", func(it *item) error { it.Note = fmt.Sprint(i); return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
		if cfg.DocLocks.On() {
			// What a service replica does: its locks hold across replicas
			// (doclock's leases), at an insert and a delete more per write.
			leased := mongox.NewAggregateStore(db.Collection("items"), items, mongox.StoreOptions{Locks: doclock.New(db, doclock.Options{})})
			b.Run(server.Name+"/store, leases", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := leased.Update(ctx, "i1", func(it *item) error { it.Note = fmt.Sprint(i); return nil }); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		replaced := db.Collection("replaced")
		if _, err := replaced.InsertOne(ctx, bson.D{{Key: "_id", Value: "i1"}, {Key: "version", Value: int64(1)}}); err != nil {
			b.Fatal(err)
		}
		b.Run(server.Name+"/replace", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var doc bson.M
				if err := replaced.FindOne(ctx, bson.D{{Key: "_id", Value: "i1"}}).Decode(&doc); err != nil {
					b.Fatal(err)
				}
				v := doc["version"].(int64)
				next := bson.D{{Key: "_id", Value: "i1"}, {Key: "sort_key", Value: "bench\ti1"}, {Key: "name", Value: "bench"}, {Key: "note", Value: fmt.Sprint(i)},
					{Key: "category", Value: "c"}, {Key: "tags", Value: bson.A{}}, {Key: "version", Value: v + 1},
					{Key: "pending_events", Value: bson.A{}}}
				unlock := mongox.DocLocks(cfg).Lock("replaced", "i1")
				_, err := replaced.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "i1"}, {Key: "version", Value: v}}, next)
				unlock()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
