package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/notification/internal/store"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/mongox"
)

// TestFanOutResumesWhereAReplicaStopped: a job another replica held and
// left half done (a page inserted but not checkpointed) is taken once its
// lease runs out and finished: exactly one notification per follower, none
// for the excluded author; a job held by a live replica is left alone.
func TestFanOutResumesWhereAReplicaStopped(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := startStore(t)
	a := New(st, Peers{}, Options{}, quiet)

	const n = 1234
	since := time.Now().Add(-time.Hour)
	follows := make([]any, n)
	for i := range n {
		m := fmt.Sprintf("m%05d", i)
		id := store.FollowID(m, KindTwinning, "tw")
		follows[i] = store.Follow{ID: id, MemberID: m, Kind: KindTwinning, TargetID: "tw", CreatedAt: since, SortKey: id, Version: 1}
	}
	if _, err := st.Follows.Collection().InsertMany(ctx, follows); err != nil {
		t.Fatal(err)
	}
	// Follows made before the buckets: the start-up backfill puts them in.
	if err := a.BackfillFollowers(ctx); err != nil {
		t.Fatal(err)
	}
	tpl := store.Template{EventID: "ev-1", EventType: "twinning.twinning.activated", SubjectKind: KindTwinning, SubjectID: "tw", Title: "Tos.Ca.", Link: "/twinnings/tw"}
	// The replica that died had checkpointed 500 members and inserted 700.
	job := &store.FanOut{ID: "ev-1", Template: tpl, Since: time.Now(), Sources: []store.Source{{Kind: KindTwinning, TargetID: "tw", Reason: ReasonTwinningState}},
		Exclude: []string{"m00007"}, After: "m00499", Holder: "dead", LeaseUntil: time.Now().Add(-time.Second), CreatedAt: time.Now()}
	if err := st.FanOuts.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	var done []store.Notification
	for i := range 700 {
		if i != 7 {
			done = append(done, a.notification(tpl, fmt.Sprintf("m%05d", i), ReasonTwinningState, time.Now()))
		}
	}
	if _, err := st.InsertNotifications(ctx, done); err != nil {
		t.Fatal(err)
	}

	live := &store.FanOut{ID: "ev-2", Template: tpl, Since: time.Now(), Sources: job.Sources, Holder: "alive", LeaseUntil: time.Now().Add(time.Minute), CreatedAt: time.Now()}
	if err := st.FanOuts.Create(ctx, live); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- a.RunFanOuts(wctx, 20*time.Millisecond) }()
	deadline := time.Now().Add(time.Minute)
	for {
		j, err := st.FanOuts.Get(ctx, "ev-1")
		if err != nil {
			t.Fatal(err)
		}
		if j.Done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job never finished: %+v", j)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	count := func(filter bson.D) int64 {
		c, err := st.Notifications.Collection().CountDocuments(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := count(bson.D{{Key: "event_id", Value: "ev-1"}}); got != n-1 {
		t.Errorf("%d notifications, want %d: one per follower but the author", got, n-1)
	}
	if got := count(bson.D{{Key: "member_id", Value: "m00007"}}); got != 0 {
		t.Errorf("the excluded member got %d", got)
	}
	if j, _ := st.FanOuts.Get(ctx, "ev-2"); j.Done || j.Holder != "alive" {
		t.Errorf("a job a live replica holds was taken: %+v", j)
	}
}

// startStore is a store on a fresh embedded FerretDB.
func startStore(t *testing.T) *store.Store {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the embedded FerretDB")
	}
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fdb, err := embedded.StartFerretDB(ctx, embedded.FerretDBOptions{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fdb.Stop)
	client, db, err := mongox.Connect(ctx, config.Mongo{URI: fdb.URI(), Database: "app_test", Timeout: time.Minute}, "app-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	if err := store.EnsureIndexes(ctx, db); err != nil {
		t.Fatal(err)
	}
	return store.New(db, mongox.StoreOptions{})
}
