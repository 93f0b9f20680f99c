package adapters

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/mongox"
)

// expiryFixture is one database on the embedded FerretDB, with expired and
// live log-in records and sessions written through the repositories.
type expiryFixture struct {
	uri, database string
	db            *mongo.Database
	locks         *doclock.Locks
	now           time.Time
	live          map[string][]string // collection → ids that must stay
	expired       int
}

func newExpiryFixture(t *testing.T, expiredSessions, liveSessions, expiredAttempts, liveAttempts int) *expiryFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the embedded FerretDB")
	}
	f := embedded.FerretDBForTest(t)
	fx := &expiryFixture{uri: f.URI(), database: "expiry", now: t0.Add(30 * 24 * time.Hour), locks: &doclock.Locks{}, live: map[string][]string{}}
	fx.db = connect(t, fx.uri).Database(fx.database)
	ctx := context.Background()
	if err := EnsureIndexes(ctx, fx.db); err != nil {
		t.Fatal(err)
	}
	repos := NewMongoRepositories(fx.db, mongox.StoreOptions{Locks: fx.locks})
	sessions, logins := repos.Sessions, repos.Logins
	maxAge := 12 * time.Hour
	for i := range expiredSessions + liveSessions {
		started := fx.now.Add(-maxAge - time.Duration(i+1)*time.Minute) // expired
		if i >= expiredSessions {
			started = fx.now.Add(-time.Duration(i) * time.Minute) // within its maximum age
		}
		s, err := session.New(fmt.Sprintf("s%02d", i), "m1", started, maxAge)
		if err != nil {
			t.Fatal(err)
		}
		if err := sessions.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		if i >= expiredSessions {
			fx.live[SessionsCollection] = append(fx.live[SessionsCollection], s.ID)
		}
	}
	p := login.DefaultPolicy()
	for i := range expiredAttempts + liveAttempts {
		at := fx.now.Add(-p.Window - time.Duration(i+1)*time.Minute)
		if i >= expiredAttempts {
			at = fx.now.Add(-time.Duration(i) * time.Second)
		}
		key := login.EmailKey(fmt.Sprintf("a%02d@example.it", i))
		if _, err := logins.Update(ctx, key, func(a *login.Attempts) error { return a.Begin(p, at) }); err != nil {
			t.Fatal(err)
		}
		if i >= expiredAttempts {
			fx.live[LoginAttemptsCollection] = append(fx.live[LoginAttemptsCollection], key)
		}
	}
	fx.expired = expiredSessions + expiredAttempts
	return fx
}

func connect(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(20 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

// remaining lists the ids left in each expiring collection.
func (fx *expiryFixture) remaining(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range ExpiringCollections {
		cur, err := fx.db.Collection(name).Find(context.Background(), bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		var docs []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(context.Background(), &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			out[name] = append(out[name], d.ID)
		}
	}
	return out
}

func (fx *expiryFixture) checkOnlyLiveRemain(t *testing.T) {
	t.Helper()
	got := fx.remaining(t)
	for _, name := range ExpiringCollections {
		if !slices.Equal(got[name], fx.live[name]) {
			t.Errorf("%s after the sweep: %v, want the live ones %v", name, got[name], fx.live[name])
		}
	}
}

// FerretDB v1 has no TTL indexes: the sweep is needed there, on an index.
func TestFerretDBHasNoTTLIndexesSoTheSweepIsNeeded(t *testing.T) {
	fx := newExpiryFixture(t, 0, 0, 0, 0)
	ctx := context.Background()
	needed, err := NewSweeper(fx.db, fx.locks).Needed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(needed, ExpiringCollections) {
		t.Fatalf("collections to sweep on FerretDB = %v, want %v", needed, ExpiringCollections)
	}
	for _, name := range ExpiringCollections {
		specs, err := fx.db.Collection(name).Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range specs {
			var keys bson.D
			if err := bson.Unmarshal(s.KeysDocument, &keys); err != nil {
				t.Fatal(err)
			}
			found = found || (len(keys) == 1 && keys[0].Key == expireField)
		}
		if !found {
			t.Errorf("%s has no index on %s for the sweep: %+v", name, expireField, specs)
		}
	}
}

// Two replicas sweep at once, in small batches: every expired record is
// deleted exactly once between them, and every live one stays.
func TestConcurrentSweepsDeleteExpiredRecordsOnly(t *testing.T) {
	fx := newExpiryFixture(t, 7, 3, 5, 2)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i := range 2 {
		// Each replica has its own client and its own document locks.
		sw := NewSweeper(connect(t, fx.uri).Database(fx.database), &doclock.Locks{})
		sw.Batch = 2
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = sw.Sweep(context.Background(), fx.now, ExpiringCollections...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	if counts[0]+counts[1] != fx.expired {
		t.Errorf("the replicas deleted %d + %d records, want %d in all", counts[0], counts[1], fx.expired)
	}
	fx.checkOnlyLiveRemain(t)
	again, err := NewSweeper(fx.db, fx.locks).Sweep(context.Background(), fx.now, ExpiringCollections...)
	if err != nil || again != 0 {
		t.Fatalf("a second sweep deleted %d (%v), want 0", again, err)
	}
}

// Run sweeps by itself on FerretDB and stops with its context.
func TestSweeperRunsUntilStopped(t *testing.T) {
	fx := newExpiryFixture(t, 3, 1, 2, 1)
	sw := NewSweeper(fx.db, fx.locks)
	sw.Now = func() time.Time { return fx.now }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.Run(ctx, 20*time.Millisecond, nil) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := fx.remaining(t)
		if len(got[SessionsCollection])+len(got[LoginAttemptsCollection]) == len(fx.live[SessionsCollection])+len(fx.live[LoginAttemptsCollection]) {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("Run has not swept within 30s: %v left", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after its context ended, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	fx.checkOnlyLiveRemain(t)
}
