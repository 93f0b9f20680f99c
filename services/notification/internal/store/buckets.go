package store

// Follower buckets: who follows a thing, in documents read by their exact
// _id, for the fan-out.
//
// # Why
//
// The embedded FerretDB (v1, SQLite) uses an index only for a filter that
// is exactly {_id: value}; anything else, a range or $in on _id too, reads
// the whole collection. Reading the 10,000 followers of a twinning from
// the follows collection was a scan of every follow on the platform (1.8 s
// for 11,000 follows), and grew with each one. The follows collection
// stays the source of truth of a member's own list (GET /v1/me/follows);
// the fan-out reads the buckets.
//
// # Layout (collection follower_buckets)
//
//	head   {_id: "<kind>/<target>",   open: n}
//	bucket {_id: "<kind>/<target>/i", f: {<member>: <followed at>, …}}  for i in 0..n
//
// (the target is path-escaped, so that no target's id makes another's
// head or bucket id). A follow sets f.<member> in the open bucket, or,
// when that one holds BucketSize entries already, moves the head on
// ($max) and sets it in the next; an unfollow unsets f.<member> in every
// bucket that has it. Both are single-document updates by _id: atomic on
// MongoDB, and on the embedded FerretDB, whose updates read, change in Go
// and write back, held under the document's doclock, so that two members
// following at once both stay. The size is soft: on MongoDB two followers
// racing for the last place both get in.
//
// A follow looks for the member in every bucket first; still, two
// follows of one member racing as the open bucket fills up may put them
// in two: readers keep one entry per member (the later follow's), an
// unfollow takes every one away.
//
// # Backfill
//
// Follows older than the buckets are put in by BackfillFollowerBuckets,
// once (a claim with a lease in follower_backfill; a second replica waits,
// or takes over a claim whose holder stopped; running it twice does no
// harm). Until it is done, FollowersFrom reads the follows collection as
// before.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
)

// Collections of the buckets and of their backfill's claim.
const (
	FollowerBucketsCollection  = "follower_buckets"
	FollowerBackfillCollection = "follower_backfill"
)

// BucketSize is how many followers a bucket holds: with ids of 36
// characters a bucket stays about 25 KB.
const BucketSize = 500

// backfillID is the one document of FollowerBackfillCollection.
const backfillID = "follower_buckets"

// Follower is one entry of a bucket.
type Follower struct {
	MemberID string
	At       time.Time
}

type bucketHead struct {
	Open int `bson:"open"`
}

type bucketDoc struct {
	F map[string]time.Time `bson:"f"`
}

// buckets are the follower buckets of one store, with the locks their
// writes take (nil on MongoDB: nothing to take).
type buckets struct {
	coll     *mongo.Collection
	claims   *mongo.Collection
	follows  *mongo.Collection
	locks    *doclock.Locks
	size     int
	ready    atomic.Bool
	leaseTTL time.Duration
	now      func() time.Time
	// afterRead, when set, runs after the backfill's first read (tests).
	afterRead func()
}

func newBuckets(db *mongo.Database, locks *doclock.Locks) *buckets {
	return &buckets{coll: db.Collection(FollowerBucketsCollection), claims: db.Collection(FollowerBackfillCollection),
		follows: db.Collection(FollowsCollection), locks: locks, size: BucketSize, leaseTTL: time.Minute, now: time.Now}
}

func headID(kind, target string) string { return kind + "/" + url.PathEscape(target) }

func bucketID(kind, target string, i int) string { return headID(kind, target) + "/" + strconv.Itoa(i) }

// fieldKey makes a member id a field name: no dot (a path) and no dollar
// (an operator) are left in it.
var fieldEscaper = strings.NewReplacer("%", "%25", ".", "%2E", "$", "%24")

func fieldKey(memberID string) string {
	if memberID == "" {
		return "%"
	}
	return fieldEscaper.Replace(memberID)
}

func memberOf(key string) string {
	if key == "%" {
		return ""
	}
	m, err := url.PathUnescape(key)
	if err != nil {
		return key
	}
	return m
}

// update applies one update to document id, under its lock.
func (b *buckets) update(ctx context.Context, coll *mongo.Collection, filter bson.D, id string, upd bson.D, upsert bool) (*mongo.UpdateResult, error) {
	release, err := b.locks.Acquire(ctx, coll.Name(), id)
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := coll.UpdateOne(ctx, filter, upd, options.UpdateOne().SetUpsert(upsert))
	if upsert && err != nil && mongox.IsDuplicateKey(err) {
		// Two upserts of a new document on MongoDB: the second finds it now.
		res, err = coll.UpdateOne(ctx, filter, upd, options.UpdateOne().SetUpsert(upsert))
	}
	return res, err
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func (b *buckets) head(ctx context.Context, kind, target string) (int, error) {
	var h bucketHead
	err := b.coll.FindOne(ctx, byID(headID(kind, target))).Decode(&h)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("followers of %s %s: %w", kind, target, err)
	}
	return h.Open, nil
}

func (b *buckets) bucket(ctx context.Context, kind, target string, i int) (map[string]time.Time, error) {
	var d bucketDoc
	err := b.coll.FindOne(ctx, byID(bucketID(kind, target, i))).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("followers of %s %s: %w", kind, target, err)
	}
	return d.F, nil
}

// sameTime compares two instants as the store keeps them (milliseconds).
func sameTime(a, b time.Time) bool { return a.UnixMilli() == b.UnixMilli() }

// add puts fs among the followers of kind/target, leaving out who is in
// a bucket already with the same time.
func (b *buckets) add(ctx context.Context, kind, target string, fs []Follower) error {
	open, err := b.head(ctx, kind, target)
	if err != nil {
		return err
	}
	if open > 0 {
		known := map[string]time.Time{}
		for i := 0; i < open; i++ {
			f, err := b.bucket(ctx, kind, target, i)
			if err != nil {
				return err
			}
			for k, at := range f {
				known[k] = at
			}
		}
		fs = slices.DeleteFunc(slices.Clone(fs), func(f Follower) bool {
			at, ok := known[fieldKey(f.MemberID)]
			return ok && sameTime(at, f.At)
		})
	}
	for len(fs) > 0 {
		have, err := b.bucket(ctx, kind, target, open)
		if err != nil {
			return err
		}
		set := bson.D{}
		room := b.size - len(have)
		rest := fs[:0:0]
		for _, f := range fs {
			k := fieldKey(f.MemberID)
			at, in := have[k]
			switch {
			case in && sameTime(at, f.At):
			case in || room > 0:
				if !in {
					room--
				}
				set = append(set, bson.E{Key: "f." + k, Value: f.At})
			default:
				rest = append(rest, f)
			}
		}
		if len(set) > 0 {
			id := bucketID(kind, target, open)
			if _, err := b.update(ctx, b.coll, byID(id), id, bson.D{{Key: "$set", Value: set}}, true); err != nil {
				return fmt.Errorf("follow %s %s: %w", kind, target, err)
			}
		}
		if len(rest) == 0 {
			return nil
		}
		// The open bucket is full: the next one is.
		hid := headID(kind, target)
		if _, err := b.update(ctx, b.coll, byID(hid), hid, bson.D{{Key: "$max", Value: bson.D{{Key: "open", Value: open + 1}}}}, true); err != nil {
			return fmt.Errorf("follow %s %s: %w", kind, target, err)
		}
		if open, err = b.head(ctx, kind, target); err != nil {
			return err
		}
		fs = rest
	}
	return nil
}

// remove takes memberID out of every bucket of kind/target; with at set,
// only an entry of that time (a follow made since is kept).
func (b *buckets) remove(ctx context.Context, kind, target, memberID string, at *time.Time) error {
	open, err := b.head(ctx, kind, target)
	if err != nil {
		return err
	}
	k := fieldKey(memberID)
	for i := 0; i <= open; i++ {
		have, err := b.bucket(ctx, kind, target, i)
		if err != nil {
			return err
		}
		v, in := have[k]
		if !in || (at != nil && !sameTime(v, *at)) {
			continue
		}
		id := bucketID(kind, target, i)
		filter := byID(id)
		if at != nil {
			// Rare (the backfill's last pass): a filter on more than the id
			// reads the whole collection on the embedded store.
			filter = append(filter, bson.E{Key: "f." + k, Value: *at})
		}
		if _, err := b.update(ctx, b.coll, filter, id, bson.D{{Key: "$unset", Value: bson.D{{Key: "f." + k, Value: ""}}}}, false); err != nil {
			return fmt.Errorf("unfollow %s %s: %w", kind, target, err)
		}
	}
	return nil
}

// followers are the members who followed kind/target by since, after
// after, in member id order.
func (b *buckets) followers(ctx context.Context, kind, target string, since time.Time, after string) ([]string, error) {
	open, err := b.head(ctx, kind, target)
	if err != nil {
		return nil, err
	}
	latest := map[string]time.Time{}
	for i := 0; i <= open; i++ {
		have, err := b.bucket(ctx, kind, target, i)
		if err != nil {
			return nil, err
		}
		for k, at := range have {
			// A member in two buckets counts from the later follow.
			if old, ok := latest[k]; !ok || at.After(old) {
				latest[k] = at
			}
		}
	}
	sinceMs := since.UnixMilli()
	out := make([]string, 0, len(latest))
	for k, at := range latest {
		if m := memberOf(k); m > after && at.UnixMilli() <= sinceMs {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out, nil
}

// isReady reports a finished backfill; once seen, it stays.
func (b *buckets) isReady(ctx context.Context) (bool, error) {
	if b.ready.Load() {
		return true, nil
	}
	var c backfillClaim
	err := b.claims.FindOne(ctx, byID(backfillID)).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("follower buckets: %w", err)
	}
	if c.Done {
		b.ready.Store(true)
	}
	return c.Done, nil
}

type backfillClaim struct {
	Done       bool      `bson:"done"`
	Holder     string    `bson:"holder"`
	LeaseUntil time.Time `bson:"lease_until"`
}

// claim takes the backfill for holder until until, if nobody else holds
// it; false when another does.
func (b *buckets) claim(ctx context.Context, holder string, until time.Time) (bool, error) {
	_, err := b.claims.InsertOne(ctx, bson.D{{Key: "_id", Value: backfillID}, {Key: "done", Value: false}, {Key: "holder", Value: ""}, {Key: "lease_until", Value: time.Time{}}})
	if err != nil && !mongox.IsDuplicateKey(err) {
		return false, fmt.Errorf("claim the follower backfill: %w", err)
	}
	res, err := b.update(ctx, b.claims, bson.D{{Key: "_id", Value: backfillID}, {Key: "done", Value: false}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "lease_until", Value: bson.D{{Key: "$lt", Value: b.now()}}}}, bson.D{{Key: "holder", Value: holder}}}}},
		backfillID, bson.D{{Key: "$set", Value: bson.D{{Key: "holder", Value: holder}, {Key: "lease_until", Value: until}}}}, false)
	if err != nil {
		return false, fmt.Errorf("claim the follower backfill: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

func (b *buckets) finish(ctx context.Context, holder string) error {
	_, err := b.update(ctx, b.claims, bson.D{{Key: "_id", Value: backfillID}, {Key: "holder", Value: holder}}, backfillID,
		bson.D{{Key: "$set", Value: bson.D{{Key: "done", Value: true}}}}, false)
	if err != nil {
		return fmt.Errorf("finish the follower backfill: %w", err)
	}
	return nil
}

type followRow struct {
	ID        string    `bson:"_id"`
	MemberID  string    `bson:"member_id"`
	Kind      string    `bson:"kind"`
	TargetID  string    `bson:"target_id"`
	CreatedAt time.Time `bson:"created_at"`
}

// allFollows reads every follow: one scan.
func (b *buckets) allFollows(ctx context.Context) ([]followRow, error) {
	cur, err := b.follows.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{
		{Key: "member_id", Value: 1}, {Key: "kind", Value: 1}, {Key: "target_id", Value: 1}, {Key: "created_at", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("read the follows: %w", err)
	}
	var rows []followRow
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("read the follows: %w", err)
	}
	return rows, nil
}

// errBackfillHeld says that another replica runs the backfill.
var errBackfillHeld = errors.New("another replica fills the follower buckets")

// backfill fills the buckets from the follows, once: see the package
// comment above. It answers errBackfillHeld while another holder's claim
// lasts.
func (b *buckets) backfill(ctx context.Context, holder string) error {
	if ok, err := b.isReady(ctx); err != nil || ok {
		return err
	}
	renewAt := time.Time{}
	renew := func() error {
		if b.now().Before(renewAt) {
			return nil
		}
		ok, err := b.claim(ctx, holder, b.now().Add(b.leaseTTL))
		if err != nil {
			return err
		}
		if !ok {
			if ready, err := b.isReady(ctx); err != nil || ready {
				return err
			}
			return errBackfillHeld
		}
		renewAt = b.now().Add(b.leaseTTL / 3)
		return nil
	}
	if err := renew(); err != nil {
		return err
	}
	if b.ready.Load() {
		return nil
	}
	first, err := b.allFollows(ctx)
	if err != nil {
		return err
	}
	if b.afterRead != nil {
		b.afterRead()
	}
	type target struct{ kind, id string }
	groups := map[target][]Follower{}
	var order []target
	for _, r := range first {
		t := target{r.Kind, r.TargetID}
		if _, ok := groups[t]; !ok {
			order = append(order, t)
		}
		groups[t] = append(groups[t], Follower{MemberID: r.MemberID, At: r.CreatedAt})
	}
	for _, t := range order {
		if err := renew(); err != nil {
			return err
		}
		if err := b.add(ctx, t.kind, t.id, groups[t]); err != nil {
			return err
		}
	}
	// A member who unfollowed while the above ran may have been put back
	// by it: the follows read again say who is gone, and their entries of
	// then are taken out (a follow made since has another time and stays).
	// An unfollow in the meantime also takes the member out once more
	// after deleting the follow (Store.RemoveFollower's caller).
	second, err := b.allFollows(ctx)
	if err != nil {
		return err
	}
	now := map[string]time.Time{}
	for _, r := range second {
		now[r.ID] = r.CreatedAt
	}
	for _, r := range first {
		if at, ok := now[r.ID]; ok && sameTime(at, r.CreatedAt) {
			continue
		}
		if err := renew(); err != nil {
			return err
		}
		at := r.CreatedAt
		if err := b.remove(ctx, r.Kind, r.TargetID, r.MemberID, &at); err != nil {
			return err
		}
	}
	if err := b.finish(ctx, holder); err != nil {
		return err
	}
	b.ready.Store(true)
	return nil
}
