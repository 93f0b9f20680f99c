package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
)

// replicas are n stores on one database, each with its own locks as a
// service replica has them (across processes, on the embedded FerretDB;
// none on MongoDB), and buckets of size entries.
func replicas(t *testing.T, srv mongoxtest.Server, n, size int) (*mongo.Database, []*Store) {
	t.Helper()
	db, cfg := srv.Database(t)
	if err := EnsureIndexes(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out []*Store
	for range n {
		var locks *doclock.Locks
		if cfg.DocLocks != config.DocLocksOff && cfg.DocLocks != "" {
			locks = doclock.New(db, doclock.Options{Logger: quiet})
		}
		s := New(db, mongox.StoreOptions{Locks: locks})
		s.buckets.size = size
		out = append(out, s)
	}
	return db, out
}

// markReady says the backfill is done, as on a database made after it.
func markReady(t *testing.T, s *Store) {
	t.Helper()
	if err := s.BackfillFollowerBuckets(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
}

func followersOf(t *testing.T, s *Store, kind, target string, since time.Time, after string) []string {
	t.Helper()
	var got []string
	if err := s.FollowersFrom(context.Background(), kind, target, since, after, 7, func(m []string) error {
		if len(m) > 7 {
			t.Errorf("a page of %d, want at most 7", len(m))
		}
		got = append(got, m...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// entries counts the entries of every bucket of kind/target, and the
// largest bucket.
func entries(t *testing.T, db *mongo.Database, kind, target string) (total, largest int) {
	t.Helper()
	ctx := context.Background()
	var h bucketHead
	_ = db.Collection(FollowerBucketsCollection).FindOne(ctx, byID(headID(kind, target))).Decode(&h)
	for i := 0; i <= h.Open; i++ {
		var d bucketDoc
		if err := db.Collection(FollowerBucketsCollection).FindOne(ctx, byID(bucketID(kind, target, i))).Decode(&d); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			t.Fatal(err)
		}
		total += len(d.F)
		largest = max(largest, len(d.F))
	}
	return total, largest
}

// TestConcurrentFollowsAreAllKept: forty members follow one twinning at
// once through two replicas, with buckets of five (so that the open
// bucket fills up and moves on under them): every one of them is among
// its followers afterwards. On the embedded FerretDB an update reads,
// changes and writes back: without the bucket's lock, two of them writing
// one bucket at once would keep only one.
func TestConcurrentFollowsAreAllKept(t *testing.T) {
	for _, srv := range mongoxtest.Servers(t) {
		t.Run(srv.Name, func(t *testing.T) {
			_, stores := replicas(t, srv, 2, 5)
			markReady(t, stores[0])
			ctx := context.Background()
			at := time.Now().Add(-time.Minute)
			const n = 40
			var wg sync.WaitGroup
			errs := make(chan error, n)
			var want []string
			for i := range n {
				m := fmt.Sprintf("m-%02d", i)
				want = append(want, m)
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- stores[i%2].AddFollower(ctx, "twinning", "tos.ca", m, at)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range stores {
				if got := followersOf(t, s, "twinning", "tos.ca", time.Now(), ""); !slices.Equal(got, want) {
					t.Fatalf("%d followers %v, want the %d who followed", len(got), got, n)
				}
			}
		})
	}
}

// TestFollowerBuckets: followers come in member id order after a cursor,
// only those who followed by the event's time, each once; a bucket holds
// at most its size; an unfollow takes the member out of every bucket
// they are in, and a follow again counts from its new time; ids with
// dots, dollars, percent signs and slashes stay apart and intact.
func TestFollowerBuckets(t *testing.T) {
	for _, srv := range mongoxtest.Servers(t) {
		t.Run(srv.Name, func(t *testing.T) {
			db, stores := replicas(t, srv, 1, 10)
			s := stores[0]
			markReady(t, s)
			ctx := context.Background()
			event := time.Now().Add(-time.Minute)
			var early []Follower
			var want []string
			for i := range 95 {
				m := fmt.Sprintf("m%03d", i)
				early = append(early, Follower{MemberID: m, At: event.Add(-time.Hour)})
				want = append(want, m)
			}
			odd := []string{"a.b", "$x", "50%", "%2E", "x%"}
			for _, m := range odd {
				early = append(early, Follower{MemberID: m, At: event.Add(-time.Hour)})
				want = append(want, m)
			}
			slices.Sort(want)
			if err := s.AddFollowers(ctx, "twinning", "tw/1", early); err != nil {
				t.Fatal(err)
			}
			// Again, and one by one: nothing changes.
			if err := s.AddFollowers(ctx, "twinning", "tw/1", early); err != nil {
				t.Fatal(err)
			}
			for _, f := range early[:20] {
				if err := s.AddFollower(ctx, "twinning", "tw/1", f.MemberID, f.At); err != nil {
					t.Fatal(err)
				}
			}
			// After the event: not told of it.
			if err := s.AddFollower(ctx, "twinning", "tw/1", "late", event.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			// Another target whose id would clash without escaping.
			if err := s.AddFollower(ctx, "twinning", "tw", "other", event.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}

			if got := followersOf(t, s, "twinning", "tw/1", event, ""); !slices.Equal(got, want) {
				t.Fatalf("followers\n%v\nwant\n%v", got, want)
			}
			if got := followersOf(t, s, "twinning", "tw/1", event, "m049"); !slices.Equal(got, want[slices.Index(want, "m049")+1:]) {
				t.Errorf("after m049: %v", got)
			}
			if got := followersOf(t, s, "twinning", "tw", event, ""); !slices.Equal(got, []string{"other"}) {
				t.Errorf("the other target: %v", got)
			}
			total, largest := entries(t, db, "twinning", "tw/1")
			if total != len(early)+1 || largest > 10 {
				t.Errorf("%d entries, the largest bucket %d: want %d entries, buckets of at most 10", total, largest, len(early)+1)
			}

			// m007 in a second bucket too (a follow retried after the
			// first filled up): told once, and gone from both at unfollow.
			id := bucketID("twinning", "tw/1", 10)
			if _, err := s.buckets.update(ctx, s.buckets.coll, byID(id), id, bson.D{{Key: "$set", Value: bson.D{{Key: "f.m007", Value: event.Add(-time.Hour)}}}}, true); err != nil {
				t.Fatal(err)
			}
			if got := followersOf(t, s, "twinning", "tw/1", event, "m006"); len(got) == 0 || got[0] != "m007" || got[1] != "m008" {
				t.Errorf("after m006: %v", got)
			}
			for _, m := range []string{"m007", "a.b"} {
				if err := s.DeleteFollow(ctx, m, "twinning", "tw/1"); err != nil {
					t.Fatal(err)
				}
			}
			gone := slices.DeleteFunc(slices.Clone(want), func(m string) bool { return m == "m007" || m == "a.b" })
			if got := followersOf(t, s, "twinning", "tw/1", event, ""); !slices.Equal(got, gone) {
				t.Errorf("after two unfollowed: %v", got)
			}
			// m007 follows again, after the event: not told of it.
			if err := s.AddFollower(ctx, "twinning", "tw/1", "m007", event.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if got := followersOf(t, s, "twinning", "tw/1", event, ""); slices.Contains(got, "m007") {
				t.Errorf("a member who followed again after the event is told of it")
			}
			if got := followersOf(t, s, "twinning", "tw/1", event.Add(time.Hour), ""); !slices.Contains(got, "m007") || !slices.Contains(got, "late") {
				t.Errorf("a later event: %v", got)
			}
		})
	}
}

// TestBackfillFillsTheBucketsOnce: follows made before the buckets are
// read from the follows collection until the backfill is done, then from
// the buckets: two replicas that start together fill them once between
// them (a claim whose holder stopped is taken over), each follower in
// one bucket; a member who unfollows while it runs is not put back.
func TestBackfillFillsTheBucketsOnce(t *testing.T) {
	for _, srv := range mongoxtest.Servers(t) {
		t.Run(srv.Name, func(t *testing.T) {
			db, stores := replicas(t, srv, 2, 100)
			ctx := context.Background()
			at := time.Now().Add(-time.Hour)
			const n = 1234
			var docs []any
			var want []string
			for i := range n {
				m := fmt.Sprintf("m%05d", i)
				want = append(want, m)
				id := FollowID(m, "twinning", "tw")
				docs = append(docs, Follow{ID: id, MemberID: m, Kind: "twinning", TargetID: "tw", CreatedAt: at, SortKey: id, Version: 1})
			}
			docs = append(docs, Follow{ID: FollowID("m-fan", "organization", "org"), MemberID: "m-fan", Kind: "organization", TargetID: "org", CreatedAt: at, Version: 1})
			if _, err := stores[0].Follows.Collection().InsertMany(ctx, docs); err != nil {
				t.Fatal(err)
			}
			if got := followersOf(t, stores[0], "twinning", "tw", time.Now(), ""); !slices.Equal(got, want) {
				t.Fatalf("before the backfill: %d followers, want %d", len(got), n)
			}
			// A replica that stopped had claimed the backfill; its claim ran out.
			if _, err := db.Collection(FollowerBackfillCollection).InsertOne(ctx, bson.D{{Key: "_id", Value: backfillID}, {Key: "done", Value: false},
				{Key: "holder", Value: "dead"}, {Key: "lease_until", Value: time.Now().Add(-time.Second)}}); err != nil {
				t.Fatal(err)
			}
			// While the first replica fills the buckets, the second, started
			// at the same time, is told to wait, and m00042 unfollows after
			// the first read the follows.
			stores[0].buckets.afterRead = func() {
				if err := stores[1].BackfillFollowerBuckets(ctx, "replica-1"); !errors.Is(err, ErrBackfillHeld) {
					t.Errorf("a second replica's backfill while the first runs: %v, want ErrBackfillHeld", err)
				}
				if err := stores[1].DeleteFollow(ctx, "m00042", "twinning", "tw"); err != nil {
					t.Error(err)
				}
			}
			want = slices.DeleteFunc(want, func(m string) bool { return m == "m00042" })
			if err := stores[0].BackfillFollowerBuckets(ctx, "replica-0"); err != nil {
				t.Fatal(err)
			}
			if err := stores[1].BackfillFollowerBuckets(ctx, "replica-1"); err != nil {
				t.Fatal(err)
			}
			for _, s := range stores {
				if ok, err := s.buckets.isReady(ctx); err != nil || !ok {
					t.Fatalf("not ready after the backfill: %v", err)
				}
			}
			// The follows collection no longer answers: only the buckets do.
			if _, err := stores[0].Follows.Collection().DeleteMany(ctx, bson.D{}); err != nil {
				t.Fatal(err)
			}
			if got := followersOf(t, stores[1], "twinning", "tw", time.Now(), ""); !slices.Equal(got, want) {
				t.Fatalf("after the backfill: %d followers, want %d", len(got), len(want))
			}
			if got := followersOf(t, stores[1], "organization", "org", time.Now(), ""); !slices.Equal(got, []string{"m-fan"}) {
				t.Errorf("the organisation's followers: %v", got)
			}
			if total, largest := entries(t, db, "twinning", "tw"); total != len(want) || largest > 100 {
				t.Errorf("%d entries, the largest bucket %d: want %d, buckets of at most 100", total, largest, len(want))
			}
			if err := stores[1].BackfillFollowerBuckets(ctx, "replica-1"); err != nil {
				t.Errorf("once done, again: %v", err)
			}
		})
	}
}
