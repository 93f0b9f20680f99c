// Package fanoutbench measures the notification service's fan-out for
// `make bench` (h): one twinning event for a twinning followed by n
// members, from the handler's start to the last notification stored, next
// to the same n notification documents inserted plainly (InsertMany in the
// same batches, into a collection with the same indexes) in the same run,
// on the embedded FerretDB. Each size is measured in Rounds rounds, the two
// taking turns to go first; the ratio is the median of the rounds'. The consumer's delivery before the handler is
// not in it: (d) measures that path.
package fanoutbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
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

// Rounds is how many times each size is measured, the fan-out and the
// plain inserts taking turns to go first, so that a burst of load on the
// shared machine falls on one round, not on one side.
var Rounds = 5

// Round is one fan-out and one plain insert of the same documents, one
// after the other.
type Round struct{ FanOut, Plain time.Duration }

// Ratio is FanOut over Plain.
func (r Round) Ratio() float64 { return float64(r.FanOut) / float64(r.Plain) }

// Result is one size's figures.
type Result struct {
	Followers int
	// FanOut is the handler's time, Plain the plain inserts', the median
	// of the rounds each.
	FanOut, Plain time.Duration
	Rounds        []Round
	// Stored is the fewest notifications a round's event stored.
	Stored int64
}

// Ratio is the median of the rounds' ratios (each of two figures taken
// under the same load); the goal is at most 2.
func (r Result) Ratio() float64 {
	rs := make([]float64, len(r.Rounds))
	for i, x := range r.Rounds {
		rs[i] = x.Ratio()
	}
	slices.Sort(rs)
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
}

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
	fmt.Fprintf(w, "%d rounds a size, fan-out and plain taking turns to go first; times are the medians, the ratio the median of the rounds' ratios\n", Rounds)
	for i, n := range sizes {
		r, err := measure(ctx, db, st, n, fmt.Sprintf("tw-%d", i), quiet)
		if err != nil {
			return fmt.Errorf("%d followers: %w", n, err)
		}
		rounds := make([]string, len(r.Rounds))
		for i, x := range r.Rounds {
			rounds[i] = fmt.Sprintf("%.2f", x.Ratio())
		}
		fmt.Fprintf(w, "%6d followers: fan-out %8.0f ms (%6.0f notifications/s), plain inserts %8.0f ms; ratio %.2f (goal ≤ 2; rounds %s)  stored %d\n",
			r.Followers, ms(r.FanOut), float64(r.Followers)/r.FanOut.Seconds(), ms(r.Plain), r.Ratio(), strings.Join(rounds, " "), r.Stored)
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

	// The plain inserts go to a collection of their own with the same
	// indexes, which grows round by round as the notifications do.
	plainDB := db.Client().Database(db.Name() + "_plain_" + twinningID)
	if err := store.EnsureIndexes(ctx, plainDB); err != nil {
		return Result{}, err
	}
	scratch := plainDB.Collection(store.NotificationsCollection)
	var last []bson.D // the documents of the latest fan-out
	fanOut := func() (time.Duration, error) {
		env, err := events.NewEnvelope("twinning.twinning.activated", "system:bench", "twinning", twinningID, 3,
			&eventsv1.TwinningChanged{Change: &twinningv1.StatusChange{To: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE, Time: timestamppb.Now()}}, time.Now())
		if err != nil {
			return 0, err
		}
		start := time.Now()
		if err := application.HandleEvent(ctx, env); err != nil {
			return 0, err
		}
		took := time.Since(start)
		cur, err := st.Notifications.Collection().Find(ctx, bson.D{{Key: "event_id", Value: env.GetEventId()}})
		if err != nil {
			return 0, err
		}
		last = last[:0]
		if err := cur.All(ctx, &last); err != nil {
			return 0, err
		}
		return took, nil
	}
	plainRound := 0
	plain := func() (time.Duration, error) {
		// The latest fan-out's documents, under ids of their own.
		plainRound++
		docs := make([]any, len(last))
		for i, d := range last {
			c := slices.Clone(d)
			for k := range c {
				if c[k].Key == "_id" {
					c[k].Value = store.NotificationID(fmt.Sprintf("plain-%d", plainRound), fmt.Sprint(i))
				}
			}
			docs[i] = c
		}
		start := time.Now()
		for b := 0; b < len(docs); b += 500 {
			if _, err := scratch.InsertMany(ctx, docs[b:min(b+500, len(docs))], options.InsertMany().SetOrdered(false)); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}

	// Rounds alternate which goes first; the first round's fan-out makes
	// the documents the plain inserts copy.
	res := Result{Followers: n, Stored: int64(n)}
	for r := range Rounds {
		steps := []func() (time.Duration, error){fanOut, plain}
		if r%2 == 1 {
			steps[0], steps[1] = plain, fanOut
		}
		var took [2]time.Duration
		for i, step := range steps {
			d, err := step()
			if err != nil {
				return Result{}, err
			}
			took[i] = d
		}
		if r%2 == 1 {
			took[0], took[1] = took[1], took[0]
		}
		res.Rounds = append(res.Rounds, Round{FanOut: took[0], Plain: took[1]})
		res.Stored = min(res.Stored, int64(len(last)))
	}
	res.FanOut = median(res.Rounds, func(r Round) time.Duration { return r.FanOut })
	res.Plain = median(res.Rounds, func(r Round) time.Duration { return r.Plain })
	return res, nil
}

// median is the middle of the rounds' figures.
func median(rounds []Round, of func(Round) time.Duration) time.Duration {
	ds := make([]time.Duration, len(rounds))
	for i, r := range rounds {
		ds[i] = of(r)
	}
	slices.Sort(ds)
	if len(ds)%2 == 1 {
		return ds[len(ds)/2]
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
}
