// Package fanoutbench measures the notification service's fan-out for
// `make bench` (h): one twinning event for a twinning followed by n
// members, from the handler's start to the last notification stored, next
// to the same n notification documents inserted plainly (InsertMany in the
// same batches, into a collection with the same indexes) in the same run,
// on the embedded FerretDB. The consumer's delivery before the handler is
// not in it: (d) measures that path.
package fanoutbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/notification/internal/app"
	"github.com/gemella/gemella/services/notification/internal/store"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/mongox"
)

// Sizes are the follower counts of a default run.
var Sizes = []int{1000, 10000}

// Result is one size's figures.
type Result struct {
	Followers int
	// FanOut is the handler's time; Plain the plain inserts'.
	FanOut, Plain time.Duration
	Stored        int64
}

// Ratio is FanOut over Plain; the goal is at most 2.
func (r Result) Ratio() float64 { return float64(r.FanOut) / float64(r.Plain) }

// twinningPeer answers GetTwinning with one active twinning.
type twinningPeer struct {
	twinningv1.TwinningServiceClient
	tw *twinningv1.Twinning
}

func (p twinningPeer) GetTwinning(context.Context, *twinningv1.GetTwinningRequest, ...grpc.CallOption) (*twinningv1.Twinning, error) {
	return p.tw, nil
}

// Run measures every size and writes the figures to w.
func Run(ctx context.Context, w io.Writer, sizes []int) error {
	dir, err := os.MkdirTemp("", "gemella-fanoutbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	fdb, err := embedded.StartFerretDB(ctx, embedded.FerretDBOptions{Dir: dir, Logger: quiet})
	if err != nil {
		return err
	}
	defer fdb.Stop()
	client, db, err := mongox.Connect(ctx, config.Mongo{URI: fdb.URI(), Database: "fanoutbench", Timeout: time.Minute}, "fanoutbench")
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	if err := store.EnsureIndexes(ctx, db); err != nil {
		return err
	}
	st := store.New(db, mongox.StoreOptions{})
	// A database made after the follower buckets: nothing to backfill.
	if err := st.BackfillFollowerBuckets(ctx, "fanoutbench"); err != nil {
		return err
	}
	fmt.Fprintf(w, "one twinning event, n followers, embedded FerretDB (SQLite); plain = the same documents by InsertMany in batches of 500 into a collection with the same indexes\n")
	for i, n := range sizes {
		r, err := measure(ctx, db, st, n, fmt.Sprintf("tw-%d", i), quiet)
		if err != nil {
			return fmt.Errorf("%d followers: %w", n, err)
		}
		fmt.Fprintf(w, "%6d followers: fan-out %8.0f ms (%6.0f notifications/s), plain inserts %8.0f ms; ratio %.2f (goal ≤ 2)  stored %d\n",
			r.Followers, ms(r.FanOut), float64(r.Followers)/r.FanOut.Seconds(), ms(r.Plain), r.Ratio(), r.Stored)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func measure(ctx context.Context, db *mongo.Database, st *store.Store, n int, twinningID string, logger *slog.Logger) (Result, error) {
	// n members follow the twinning since an hour ago: their follows, and
	// their entries in the follower buckets, which a follow writes too.
	since := time.Now().Add(-time.Hour)
	follows := make([]any, n)
	entries := make([]store.Follower, n)
	for i := range n {
		member := fmt.Sprintf("m-%s-%06d", twinningID, i)
		id := store.FollowID(member, app.KindTwinning, twinningID)
		follows[i] = store.Follow{ID: id, MemberID: member, Kind: app.KindTwinning, TargetID: twinningID, CreatedAt: since, SortKey: store.SeqOf(since, id), Version: 1}
		entries[i] = store.Follower{MemberID: member, At: since}
	}
	for start := 0; start < n; start += 1000 {
		if _, err := st.Follows.Collection().InsertMany(ctx, follows[start:min(start+1000, n)]); err != nil {
			return Result{}, fmt.Errorf("seed follows: %w", err)
		}
	}
	if err := st.AddFollowers(ctx, app.KindTwinning, twinningID, entries); err != nil {
		return Result{}, fmt.Errorf("seed follower buckets: %w", err)
	}
	tw := &twinningv1.Twinning{Id: twinningID, Code: twinningID, Title: "Gemellaggio " + twinningID, Status: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE}
	application := app.New(st, app.Peers{Twinning: twinningPeer{tw: tw}}, app.Options{Mailing: true, EmailDelay: time.Minute}, logger)
	env, err := events.NewEnvelope("twinning.twinning.activated", "system:bench", "twinning", twinningID, 3,
		&eventsv1.TwinningChanged{Change: &twinningv1.StatusChange{To: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE, Time: timestamppb.Now()}}, time.Now())
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	if err := application.HandleEvent(ctx, env); err != nil {
		return Result{}, err
	}
	fanOut := time.Since(start)
	stored, err := st.Notifications.Collection().CountDocuments(ctx, bson.D{{Key: "event_id", Value: env.GetEventId()}})
	if err != nil {
		return Result{}, err
	}

	// The same documents, plainly.
	plainDB := db.Client().Database(db.Name() + "_plain_" + twinningID)
	if err := store.EnsureIndexes(ctx, plainDB); err != nil {
		return Result{}, err
	}
	scratch := plainDB.Collection(store.NotificationsCollection)
	cur, err := st.Notifications.Collection().Find(ctx, bson.D{{Key: "event_id", Value: env.GetEventId()}})
	if err != nil {
		return Result{}, err
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil {
		return Result{}, err
	}
	batch := make([]any, 0, 500)
	start = time.Now()
	for i, d := range docs {
		batch = append(batch, d)
		if len(batch) == 500 || i == len(docs)-1 {
			if _, err := scratch.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false)); err != nil {
				return Result{}, err
			}
			batch = batch[:0]
		}
	}
	plain := time.Since(start)
	return Result{Followers: n, FanOut: fanOut, Plain: plain, Stored: stored}, nil
}
