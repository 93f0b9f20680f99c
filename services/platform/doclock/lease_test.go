package doclock_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/embedded"
)

var databases atomic.Int64

// replicaDBs connects n clients to one fresh database of one embedded
// FerretDB, as n replicas of a service would.
func replicaDBs(t testing.TB, n int) []*mongo.Database {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the embedded FerretDB")
	}
	uri := embedded.FerretDBForTest(t).URI()
	name := fmt.Sprintf("doclock_%d", databases.Add(1))
	out := make([]*mongo.Database, n)
	for i := range out {
		client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(20 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
		out[i] = client.Database(name)
	}
	return out
}

// clock is a test clock that only moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A read-modify-write of one FerretDB document by many goroutines of two
// replicas, each replica with its own locks, loses no update: the leases
// exclude across processes what the in-process half cannot.
func TestLeasesSerialiseWritersOfTwoReplicas(t *testing.T) {
	dbs := replicaDBs(t, 2)
	ctx := t.Context()
	if _, err := dbs[0].Collection("counters").InsertOne(ctx, bson.D{{Key: "_id", Value: "c1"}, {Key: "n", Value: int64(0)}}); err != nil {
		t.Fatal(err)
	}
	const perReplica = 12
	var wg sync.WaitGroup
	errs := make(chan error, 2*perReplica)
	for _, db := range dbs {
		locks := doclock.New(db, doclock.Options{})
		coll := db.Collection("counters")
		for range perReplica {
			wg.Go(func() {
				release, err := locks.Acquire(ctx, "counters", "c1")
				if err != nil {
					errs <- err
					return
				}
				defer release()
				var doc struct {
					N int64 `bson:"n"`
				}
				if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "c1"}}).Decode(&doc); err != nil {
					errs <- err
					return
				}
				if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "c1"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: doc.N + 1}}}}); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var doc struct {
		N int64 `bson:"n"`
	}
	if err := dbs[1].Collection("counters").FindOne(ctx, bson.D{{Key: "_id", Value: "c1"}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.N != 2*perReplica {
		t.Fatalf("counter %d after %d locked increments: updates were lost", doc.N, 2*perReplica)
	}
	if n, err := dbs[0].Collection(doclock.DefaultCollection).CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Fatalf("%d leases left after every release (err %v), want 0", n, err)
	}
}

// A holder that never releases (it crashed) holds the key until its lease
// expires, and then the next writer takes it over. The crashed holder's
// late release, should it come, deletes nothing of the new holder's.
func TestAnExpiredLeaseIsTakenOver(t *testing.T) {
	dbs := replicaDBs(t, 3)
	ctx := t.Context()
	const ttl = time.Minute
	clk := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	crashed := doclock.New(dbs[0], doclock.Options{TTL: ttl, Now: clk.Now})
	next := doclock.New(dbs[1], doclock.Options{TTL: ttl, Now: clk.Now})
	third := doclock.New(dbs[2], doclock.Options{TTL: ttl, Now: clk.Now})

	lateRelease, err := crashed.Acquire(ctx, "practices", "p1")
	if err != nil {
		t.Fatal(err)
	}
	// Other documents are not held up.
	other, err := next.Acquire(ctx, "practices", "p2")
	if err != nil {
		t.Fatal(err)
	}
	other()

	// Before the lease expires, the key stays held.
	clk.Add(ttl - time.Second)
	waitCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = next.Acquire(waitCtx, "practices", "p1")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire of a held key before its lease expired: %v, want a deadline exceeded", err)
	}

	// Past it, the next writer takes the key over.
	clk.Add(2 * time.Second)
	release, err := next.Acquire(ctx, "practices", "p1")
	if err != nil {
		t.Fatalf("acquire past the crashed holder's lease: %v", err)
	}
	lateRelease()
	waitCtx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = third.Acquire(waitCtx, "practices", "p1")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after the crashed holder's late release, a third writer got the key (%v): the new lease was deleted", err)
	}
	release()
	again, err := third.Acquire(ctx, "practices", "p1")
	if err != nil {
		t.Fatalf("acquire after the release: %v", err)
	}
	again()
}

// BenchmarkLock is what the lock costs a write on the embedded FerretDB:
// in-process only (one replica), and with the lease that holds across
// replicas (an insert and a delete by _id), uncontended.
func BenchmarkLock(b *testing.B) {
	db := replicaDBs(b, 1)[0]
	ctx := context.Background()
	for _, bc := range []struct {
		name  string
		locks *doclock.Locks
	}{
		{"in-process", &doclock.Locks{}},
		{"lease", doclock.New(db, doclock.Options{})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				release, err := bc.locks.Acquire(ctx, "items", fmt.Sprint(i%16))
				if err != nil {
					b.Fatal(err)
				}
				release()
			}
		})
	}
}

// With the store away, Acquire fails within the caller's deadline (the
// write it guards could not happen either) and holds nothing after: the
// process's other writers of the document are not blocked.
func TestAcquireFailsWhileTheStoreIsAway(t *testing.T) {
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:1").SetServerSelectionTimeout(200 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	locks := doclock.New(client.Database("away"), doclock.Options{})
	for range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := locks.Acquire(ctx, "practices", "p1")
		cancel()
		if err == nil {
			t.Fatal("acquired a lease on a store that is not there")
		}
	}
}
