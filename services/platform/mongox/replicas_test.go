package mongox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
)

// replicaLocks are the locks a service replica gets from the kit: leases
// on the database where the store needs them, none on MongoDB.
func replicaLocks(cfg config.Mongo, db *mongo.Database) *doclock.Locks {
	switch {
	case !cfg.DocLocks.On():
		return nil
	case !cfg.DocLocks.Leases():
		return &doclock.Locks{} // this test's writers are all in this process
	}
	return doclock.New(db, doclock.Options{})
}

// secondClient connects another client to the same database, as a second
// replica would: its own connection pool, its own locks.
func secondClient(t *testing.T, cfg config.Mongo) *mongo.Database {
	t.Helper()
	client, db, err := mongox.Connect(context.Background(), cfg, "replica-2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return db
}

// Two replicas, each with its own client and its own locks, update one
// document with the same expected version (an etag) at the same moment:
// exactly one succeeds and the other is told the version moved on, in
// every round. On the embedded FerretDB only the leases make this so (its
// update reads, then writes by _id: without them both calls succeed).
func TestTwoReplicasNeverBothWinTheSameVersion(t *testing.T) {
	const rounds = 30
	for _, server := range mongoxtest.Servers(t) {
		t.Run(server.Name, func(t *testing.T) {
			db1, cfg := server.Database(t)
			db2 := secondClient(t, cfg)
			replicas := []*mongox.AggregateStore[item, itemDoc]{
				mongox.NewAggregateStore(db1.Collection("items"), items, mongox.StoreOptions{Locks: replicaLocks(cfg, db1)}),
				mongox.NewAggregateStore(db2.Collection("items"), items, mongox.StoreOptions{Locks: replicaLocks(cfg, db2)}),
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			for round := range rounds {
				id := fmt.Sprintf("r%d", round)
				if err := replicas[0].Create(ctx, newItem(id, "race "+id, "c")); err != nil {
					t.Fatal(err)
				}
				const expected = 1 // the etag both callers send
				start := make(chan struct{})
				errs := make([]error, len(replicas))
				var wg sync.WaitGroup
				for i, r := range replicas {
					wg.Go(func() {
						<-start
						_, errs[i] = r.Update(ctx, id, func(it *item) error {
							if it.Version != expected {
								return apperr.Aborted("item %s is at version %d, not %d", id, it.Version, expected)
							}
							it.Note = fmt.Sprintf("replica %d", i)
							return nil
						})
					})
				}
				close(start)
				wg.Wait()
				won, refused := 0, 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case apperr.KindOf(err) == apperr.KindAborted:
						refused++
					default:
						t.Fatalf("round %d: %v", round, err)
					}
				}
				stored, err := replicas[1].Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if won != 1 || refused != 1 || stored.Version != expected+1 {
					t.Fatalf("round %d: %d updates succeeded and %d were refused, stored version %d; want 1, 1, %d",
						round, won, refused, stored.Version, expected+1)
				}
			}
		})
	}
}
