// Package store keeps the notification service's collections on
// mongox.AggregateStore: members (what the service knows of each member:
// name, verified organisations, address, preferences), follows,
// notifications with their e-mail state and fan-out jobs; and, beside
// them, the follower buckets the fan-out reads (buckets.go). Writes of many notifications at
// once (a fan-out) go through InsertMany with deterministic ids, so that a
// redelivered event inserts nothing twice.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/mongox"
)

// Collections of the service's database.
const (
	MembersCollection       = "members"
	FollowsCollection       = "follows"
	NotificationsCollection = "notifications"
	FanOutsCollection       = "fanouts"
)

// Template is what every notification of one event says.
type Template struct {
	EventID     string `bson:"event_id"`
	EventType   string `bson:"event_type"`
	SubjectKind string `bson:"subject_kind"`
	SubjectID   string `bson:"subject_id"`
	SourceID    string `bson:"source_id,omitempty"`
	Title       string `bson:"title"`
	ActorName   string `bson:"actor_name,omitempty"`
	Detail      string `bson:"detail,omitempty"`
	Link        string `bson:"link"`
	// ModelCode and ModelTitle name the model a transfer's notification
	// is about (empty for the others, and for those stored before).
	ModelCode  string `bson:"model_code,omitempty"`
	ModelTitle string `bson:"model_title,omitempty"`
}

// Source is one follower set an event reaches.
type Source struct {
	Kind     string `bson:"kind"`
	TargetID string `bson:"target_id"`
	Reason   string `bson:"reason"`
}

// FanOut is the job of notifying an event's followers, page by page; its
// id is the event's. Next and After are where it stands (the source, the
// last member id done in it); a replica holds it until LeaseUntil.
type FanOut struct {
	ID       string    `bson:"_id"`
	Template Template  `bson:"template"`
	Since    time.Time `bson:"since"`
	Sources  []Source  `bson:"sources"`
	Exclude  []string  `bson:"exclude,omitempty"`
	Next     int       `bson:"next"`
	After    string    `bson:"after"`
	Done     bool      `bson:"done"`
	// LeaseUntil and Holder say which replica works on it, until when.
	LeaseUntil time.Time `bson:"lease_until"`
	Holder     string    `bson:"holder,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	Version    int64     `bson:"version"`
}

// Member is what the service knows of a member.
type Member struct {
	ID          string `bson:"_id"`
	DisplayName string `bson:"display_name"`
	// NameKey is the display name folded for @mention lookups.
	NameKey       string   `bson:"name_key"`
	Organizations []string `bson:"organizations,omitempty"`
	// Email is the member's own address, read from their profile with
	// their token when they use this service; empty until then.
	Email string `bson:"email,omitempty"`
	// Language is it or en.
	Language string `bson:"language,omitempty"`
	// Frequency is immediate, daily, weekly or never.
	Frequency string    `bson:"frequency,omitempty"`
	ProfileAt time.Time `bson:"profile_at,omitempty"`
	// DigestAt is when the last digest was sent.
	DigestAt time.Time `bson:"digest_at,omitempty"`
	Version  int64     `bson:"version"`
}

// Follow is one member following one thing.
type Follow struct {
	ID        string    `bson:"_id"`
	MemberID  string    `bson:"member_id"`
	Kind      string    `bson:"kind"`
	TargetID  string    `bson:"target_id"`
	Automatic bool      `bson:"automatic"`
	CreatedAt time.Time `bson:"created_at"`
	SortKey   string    `bson:"sort_key"`
	Version   int64     `bson:"version"`
}

// Notification is one thing one member is told.
type Notification struct {
	ID       string `bson:"_id"`
	MemberID string `bson:"member_id"`
	Reason   string `bson:"reason"`
	EventID  string `bson:"event_id"`
	// EventType is the event's subject.
	EventType   string `bson:"event_type"`
	SubjectKind string `bson:"subject_kind"`
	SubjectID   string `bson:"subject_id"`
	// SourceID is the post that caused it, if any: hiding the post takes
	// its notifications back.
	SourceID  string `bson:"source_id,omitempty"`
	Title     string `bson:"title"`
	ActorName string `bson:"actor_name,omitempty"`
	Detail    string `bson:"detail,omitempty"`
	Link      string `bson:"link"`
	// ModelCode and ModelTitle: as in Template.
	ModelCode  string    `bson:"model_code,omitempty"`
	ModelTitle string    `bson:"model_title,omitempty"`
	Read       bool      `bson:"read"`
	CreatedAt  time.Time `bson:"created_at"`
	// Seq orders a member's notifications as they were stored (the
	// cursor of WatchNotifications); SortKey lists unread first.
	Seq     string `bson:"seq"`
	SortKey string `bson:"sort_key"`
	Email   Email  `bson:"email"`
	Version int64  `bson:"version"`
}

// Email is where a notification's e-mail stands.
type Email struct {
	// State: none, pending, digest, sending, sent, failed, unknown, skipped.
	State    string    `bson:"state"`
	DueAt    time.Time `bson:"due_at,omitempty"`
	Attempts int       `bson:"attempts,omitempty"`
	// Batch is the idempotency key of the message it went out in.
	Batch        string    `bson:"batch,omitempty"`
	ClaimedUntil time.Time `bson:"claimed_until,omitempty"`
	Error        string    `bson:"error,omitempty"`
	SentAt       time.Time `bson:"sent_at,omitempty"`
}

// E-mail states.
const (
	EmailNone    = "none"
	EmailPending = "pending"
	EmailDigest  = "digest"
	EmailSending = "sending"
	EmailSent    = "sent"
	EmailFailed  = "failed"
	EmailUnknown = "unknown"
	EmailSkipped = "skipped"
)

// NotificationID is the deterministic id of the notification an event
// makes for a member: the same event delivered again, by any replica,
// makes the same id, which the store keeps once.
func NotificationID(eventID, memberID string) string {
	sum := sha256.Sum256([]byte("notification\x00" + eventID + "\x00" + memberID))
	return hex.EncodeToString(sum[:16])
}

// FollowID is the id of a member's follow of one thing.
func FollowID(memberID, kind, targetID string) string {
	sum := sha256.Sum256([]byte("follow\x00" + memberID + "\x00" + kind + "\x00" + targetID))
	return hex.EncodeToString(sum[:16])
}

// SeqOf is the stream position of a notification stored at t.
func SeqOf(t time.Time, id string) string { return fmt.Sprintf("%019d-%s", t.UnixNano(), id) }

// SortKeyOf lists unread notifications before read ones, newest first.
func SortKeyOf(read bool, seq string) string {
	if read {
		return "0|" + seq
	}
	return "1|" + seq
}

func same[T any](p *T) T { return *p }

func ptr[T any](v *T) *T { c := *v; return &c }

var (
	memberAggregate = mongox.Aggregate[Member, Member]{
		Name: "member", ToDoc: same[Member], ToDomain: ptr[Member],
		Version:  func(m *Member) *int64 { return &m.Version },
		NotFound: func(id string) error { return apperr.NotFound("member %s is not known here", id) },
	}
	followAggregate = mongox.Aggregate[Follow, Follow]{
		Name: "follow", ToDoc: same[Follow], ToDomain: ptr[Follow],
		Version:  func(f *Follow) *int64 { return &f.Version },
		NotFound: func(string) error { return apperr.NotFound("you do not follow this") },
	}
	notificationAggregate = mongox.Aggregate[Notification, Notification]{
		Name: "notification", ToDoc: same[Notification], ToDomain: ptr[Notification],
		Version:  func(n *Notification) *int64 { return &n.Version },
		NotFound: func(id string) error { return apperr.NotFound("notification %s not found", id) },
	}
)

// Store is the service's database.
type Store struct {
	Members       *mongox.AggregateStore[Member, Member]
	Follows       *mongox.AggregateStore[Follow, Follow]
	Notifications *mongox.AggregateStore[Notification, Notification]
	FanOuts       *mongox.AggregateStore[FanOut, FanOut]
	// buckets are who follows what, for the fan-out (buckets.go).
	buckets *buckets
}

var fanOutAggregate = mongox.Aggregate[FanOut, FanOut]{
	Name: "fan-out", ToDoc: same[FanOut], ToDomain: ptr[FanOut],
	Version:  func(f *FanOut) *int64 { return &f.Version },
	NotFound: func(id string) error { return apperr.NotFound("fan-out %s not found", id) },
}

// New keeps the collections of db.
func New(db *mongo.Database, opts mongox.StoreOptions) *Store {
	return &Store{
		Members:       mongox.NewAggregateStore(db.Collection(MembersCollection), memberAggregate, opts),
		Follows:       mongox.NewAggregateStore(db.Collection(FollowsCollection), followAggregate, opts),
		Notifications: mongox.NewAggregateStore(db.Collection(NotificationsCollection), notificationAggregate, opts),
		FanOuts:       mongox.NewAggregateStore(db.Collection(FanOutsCollection), fanOutAggregate, opts),
		buckets:       newBuckets(db, opts.Locks),
	}
}

// EnsureIndexes creates the indexes the queries below need.
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	idx := func(keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongo.IndexModel{Keys: d}
	}
	return errors.Join(
		mongox.EnsureIndexes(ctx, db.Collection(MembersCollection), idx("name_key"), idx("organizations")),
		mongox.EnsureIndexes(ctx, db.Collection(FollowsCollection), idx("member_id", "sort_key"), idx("kind", "target_id", "member_id")),
		mongox.EnsureIndexes(ctx, db.Collection(FanOutsCollection), idx("done", "lease_until")),
		mongox.EnsureIndexes(ctx, db.Collection(NotificationsCollection),
			idx("member_id", "sort_key"), idx("member_id", "seq"), idx("member_id", "read"),
			idx("email.state", "email.due_at"), idx("member_id", "email.state"), idx("source_id")),
	)
}

// InsertNotifications stores ns, in batches; those whose id exists already
// (an event handled before) are skipped. It returns how many were new.
func (s *Store) InsertNotifications(ctx context.Context, ns []Notification) (int, error) {
	const batch = 500
	coll := s.Notifications.Collection()
	inserted := 0
	for start := 0; start < len(ns); start += batch {
		docs := make([]any, 0, batch)
		for i := start; i < min(start+batch, len(ns)); i++ {
			n := ns[i]
			n.Version = 1
			docs = append(docs, n)
		}
		res, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		if res != nil {
			inserted += len(res.InsertedIDs)
		}
		if err != nil && !onlyDuplicates(err) {
			return inserted, fmt.Errorf("store notifications: %w", err)
		}
	}
	return inserted, nil
}

// onlyDuplicates reports a bulk write whose every failure is a taken id.
func onlyDuplicates(err error) bool {
	var bulk mongo.BulkWriteException
	if errors.As(err, &bulk) {
		if bulk.WriteConcernError != nil {
			return false
		}
		for _, we := range bulk.WriteErrors {
			if we.Code != 11000 && !mongox.IsDuplicateKey(we) {
				return false
			}
		}
		return true
	}
	return mongox.IsDuplicateKey(err)
}

// followersChunk bounds the member ids one query of the follows
// collection reads and holds, before the buckets are filled. The embedded
// store serves a filter on anything but an exact _id by scanning the
// whole collection, so every chunk costs a full scan: 50,000 ids are a
// few MB.
const followersChunk = 50000

// AddFollower puts memberID, who follows kind/targetID since at, among
// the followers the fan-out reads; again, nothing changes (it reads the
// target's buckets, a few by their ids, and writes nothing). The follow
// itself is kept in Follows first.
func (s *Store) AddFollower(ctx context.Context, kind, targetID, memberID string, at time.Time) error {
	return s.buckets.add(ctx, kind, targetID, []Follower{{MemberID: memberID, At: at}})
}

// AddFollowers puts many followers of kind/targetID in at once, leaving
// out who is there already: for the backfill and for seeding a bench.
func (s *Store) AddFollowers(ctx context.Context, kind, targetID string, fs []Follower) error {
	return s.buckets.add(ctx, kind, targetID, fs)
}

// DeleteFollow stops memberID following kind/targetID: out of the
// buckets first, then the follow (a failure in between leaves a follow
// the member sees and deletes again, never one they hear of without
// seeing it), and, while the backfill runs, out of the buckets once more
// (it may have put them back from the follow it read before).
func (s *Store) DeleteFollow(ctx context.Context, memberID, kind, targetID string) error {
	ready, err := s.buckets.isReady(ctx)
	if err != nil {
		return err
	}
	if err := s.buckets.remove(ctx, kind, targetID, memberID, nil); err != nil {
		return err
	}
	if err := s.Follows.Delete(ctx, FollowID(memberID, kind, targetID)); err != nil {
		return err
	}
	if !ready {
		return s.buckets.remove(ctx, kind, targetID, memberID, nil)
	}
	return nil
}

// BackfillFollowerBuckets fills the follower buckets from the follows
// made before them, once for the database: a replica that finds another
// at it answers ErrBackfillHeld (try again later: the claim expires if
// its holder stopped); when done, or done before, nil.
func (s *Store) BackfillFollowerBuckets(ctx context.Context, holder string) error {
	return s.buckets.backfill(ctx, holder)
}

// ErrBackfillHeld says that another replica fills the follower buckets.
var ErrBackfillHeld = errBackfillHeld

// FollowersFrom hands page, in pages of size, the members in member id
// order after after who followed kind/targetID by since (an event's time:
// who follows later does not hear of it, also when it is delivered
// again). It reads the follower buckets by their ids; until they are
// filled, the follows collection, in chunks, each with its own short
// query, so that no cursor stays open while page writes (the embedded
// store's SQLite slows every write while a read is open).
func (s *Store) FollowersFrom(ctx context.Context, kind, targetID string, since time.Time, after string, size int, page func([]string) error) error {
	ready, err := s.buckets.isReady(ctx)
	if err != nil {
		return err
	}
	if ready {
		members, err := s.buckets.followers(ctx, kind, targetID, since, after)
		if err != nil {
			return err
		}
		return pages(members, size, page)
	}
	for {
		cur, err := s.Follows.Collection().Find(ctx, bson.D{{Key: "kind", Value: kind}, {Key: "target_id", Value: targetID},
			{Key: "member_id", Value: bson.D{{Key: "$gt", Value: after}}}, {Key: "created_at", Value: bson.D{{Key: "$lte", Value: since}}}},
			options.Find().SetProjection(bson.D{{Key: "member_id", Value: 1}}).SetSort(bson.D{{Key: "member_id", Value: 1}}).SetLimit(followersChunk))
		if err != nil {
			return fmt.Errorf("followers of %s %s: %w", kind, targetID, err)
		}
		var docs []struct {
			MemberID string `bson:"member_id"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return fmt.Errorf("followers of %s %s: %w", kind, targetID, err)
		}
		members := make([]string, len(docs))
		for i, d := range docs {
			members[i] = d.MemberID
		}
		if err := pages(members, size, page); err != nil {
			return err
		}
		if len(docs) < followersChunk {
			return nil
		}
		after = docs[len(docs)-1].MemberID
	}
}

// pages hands members to page, size at a time.
func pages(members []string, size int, page func([]string) error) error {
	for start := 0; start < len(members); start += size {
		if err := page(members[start:min(start+size, len(members))]); err != nil {
			return err
		}
	}
	return nil
}

// ClaimFanOut takes job id for holder until until, if nobody holds it;
// false when another replica does or it is done.
func (s *Store) ClaimFanOut(ctx context.Context, id, holder string, now, until time.Time) (bool, error) {
	res, err := s.FanOuts.Collection().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "done", Value: false}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "lease_until", Value: bson.D{{Key: "$lt", Value: now}}}}, bson.D{{Key: "holder", Value: holder}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lease_until", Value: until}, {Key: "holder", Value: holder}}}, {Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}}})
	if err != nil {
		return false, fmt.Errorf("claim fan-out %s: %w", id, err)
	}
	return res.ModifiedCount == 1, nil
}

// Checkpoint records a held job's progress and renews its lease.
func (s *Store) Checkpoint(ctx context.Context, id, holder string, next int, after string, done bool, until time.Time) error {
	_, err := s.FanOuts.Collection().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "holder", Value: holder}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "next", Value: next}, {Key: "after", Value: after}, {Key: "done", Value: done}, {Key: "lease_until", Value: until}}},
			{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}}})
	if err != nil {
		return fmt.Errorf("checkpoint fan-out %s: %w", id, err)
	}
	return nil
}

// OpenFanOuts are jobs not done whose lease has run out, oldest first.
func (s *Store) OpenFanOuts(ctx context.Context, now time.Time, limit int) ([]string, error) {
	cur, err := s.FanOuts.Collection().Find(ctx, bson.D{{Key: "done", Value: false}, {Key: "lease_until", Value: bson.D{{Key: "$lt", Value: now}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("open fan-outs: %w", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out, nil
}

// MembersOf calls fn with the members known to hold a verified
// affiliation with one of orgs.
func (s *Store) MembersOf(ctx context.Context, orgs []string, fn func(memberID string)) error {
	if len(orgs) == 0 {
		return nil
	}
	cur, err := s.Members.Collection().Find(ctx, bson.D{{Key: "organizations", Value: bson.D{{Key: "$in", Value: orgs}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return fmt.Errorf("members of %v: %w", orgs, err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			ID string `bson:"_id"`
		}
		if err := cur.Decode(&d); err != nil {
			return err
		}
		fn(d.ID)
	}
	return cur.Err()
}

// MembersNamed are the members whose folded display name is key.
func (s *Store) MembersNamed(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	cur, err := s.Members.Collection().Find(ctx, bson.D{{Key: "name_key", Value: bson.D{{Key: "$in", Value: keys}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "name_key", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("members by name: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			ID      string `bson:"_id"`
			NameKey string `bson:"name_key"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		out[d.NameKey] = d.ID
	}
	return out, cur.Err()
}

// Unread counts a member's unread notifications.
func (s *Store) Unread(ctx context.Context, memberID string) (int, error) {
	n, err := s.Notifications.Collection().CountDocuments(ctx, bson.D{{Key: "member_id", Value: memberID}, {Key: "read", Value: false}})
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return int(n), nil
}

// After lists a member's notifications stored after seq, oldest first.
func (s *Store) After(ctx context.Context, memberID, seq string, limit int) ([]Notification, error) {
	cur, err := s.Notifications.Collection().Find(ctx,
		bson.D{{Key: "member_id", Value: memberID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: seq}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("notifications after %s: %w", seq, err)
	}
	var out []Notification
	return out, cur.All(ctx, &out)
}

// LastSeq is the position of a member's newest notification, "" for none.
func (s *Store) LastSeq(ctx context.Context, memberID string) (string, error) {
	var d struct {
		Seq string `bson:"seq"`
	}
	err := s.Notifications.Collection().FindOne(ctx, bson.D{{Key: "member_id", Value: memberID}},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).SetProjection(bson.D{{Key: "seq", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	return d.Seq, err
}

// DeleteBySource takes back every notification a post caused.
func (s *Store) DeleteBySource(ctx context.Context, sourceID string) (int, error) {
	res, err := s.Notifications.Collection().DeleteMany(ctx, bson.D{{Key: "source_id", Value: sourceID}})
	if err != nil {
		return 0, fmt.Errorf("take back notifications of %s: %w", sourceID, err)
	}
	return int(res.DeletedCount), nil
}

// Due are notifications whose e-mail is in state at due time, oldest
// first.
func (s *Store) Due(ctx context.Context, state string, now time.Time, limit int) ([]Notification, error) {
	cur, err := s.Notifications.Collection().Find(ctx,
		bson.D{{Key: "email.state", Value: state}, {Key: "email.due_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "email.due_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("due e-mails: %w", err)
	}
	var out []Notification
	return out, cur.All(ctx, &out)
}

// SetEmail moves a notification's e-mail from state from to e; false when
// it was no longer in from (another replica took it).
func (s *Store) SetEmail(ctx context.Context, id, from string, e Email) (bool, error) {
	res, err := s.Notifications.Collection().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "email.state", Value: from}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "email", Value: e}}}, {Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}}})
	if err != nil {
		return false, fmt.Errorf("e-mail state of %s: %w", id, err)
	}
	return res.ModifiedCount == 1, nil
}

// StaleClaims are notifications left in sending past their claim: a
// replica died between taking and recording them.
func (s *Store) StaleClaims(ctx context.Context, now time.Time, limit int) ([]Notification, error) {
	cur, err := s.Notifications.Collection().Find(ctx,
		bson.D{{Key: "email.state", Value: EmailSending}, {Key: "email.claimed_until", Value: bson.D{{Key: "$lt", Value: now}}}},
		options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("stale e-mail claims: %w", err)
	}
	var out []Notification
	return out, cur.All(ctx, &out)
}

// OfMemberInState are a member's notifications whose e-mail is in state,
// oldest first: everything a digest gathers.
func (s *Store) OfMemberInState(ctx context.Context, memberID, state string, limit int) ([]Notification, error) {
	cur, err := s.Notifications.Collection().Find(ctx,
		bson.D{{Key: "member_id", Value: memberID}, {Key: "email.state", Value: state}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("notifications of %s in %s: %w", memberID, state, err)
	}
	var out []Notification
	return out, cur.All(ctx, &out)
}
