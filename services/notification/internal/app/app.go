// Package app is the notification service's application: a member's
// follows, notifications and preferences (the calls of members), and the
// fan-out of the other services' events into notifications (the calls of
// the consumers). Who may do what is simple: every member call is the
// caller's own, and needs a session.
package app

import (
	"context"
	"github.com/google/uuid"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/notification/internal/store"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
)

// Follow kinds, as the REST paths name them.
const (
	KindTwinning     = "twinning"
	KindPractice     = "practice"
	KindThread       = "thread"
	KindOrganization = "organization"
)

// Kinds are the kinds a member may follow.
var Kinds = []string{KindTwinning, KindPractice, KindThread, KindOrganization}

// E-mail frequencies.
const (
	FrequencyImmediate = "immediate"
	FrequencyDaily     = "daily"
	FrequencyWeekly    = "weekly"
	FrequencyNever     = "never"
)

// Languages the messages are written in; the first is the default.
var Languages = []string{"it", "en"}

// Options tune the application.
type Options struct {
	// EmailDelay is how long an immediate e-mail waits before it goes, so
	// that a burst of notifications makes one message and a post hidden
	// at once is never mailed.
	EmailDelay time.Duration
	// ProfileRefresh is how often a member's address and name are read
	// again from their profile when they call.
	ProfileRefresh time.Duration
	// DefaultFrequency is the e-mail frequency of a member who chose none.
	DefaultFrequency string
	// Mailing says that a mailer runs: notifications wait for it.
	Mailing bool
	// InlineFanOut is how long the consumer's handler itself notifies an
	// event's followers before it leaves the rest to the fan-out worker;
	// 0 is no limit.
	InlineFanOut time.Duration
}

// Profiles reads a member's own profile with their token (the e-mail is
// shown to the member only), and public profiles.
type Profiles interface {
	MyProfile(ctx context.Context) (*discussionv1.Member, error)
	Member(ctx context.Context, id string) (*discussionv1.Member, error)
}

// App is the application.
type App struct {
	store    *store.Store
	peers    Peers
	profiles Profiles
	opts     Options
	log      *slog.Logger
	now      func() time.Time
}

// New builds the application.
func New(s *store.Store, peers Peers, opts Options, logger *slog.Logger) *App {
	if opts.ProfileRefresh <= 0 {
		opts.ProfileRefresh = 10 * time.Minute
	}
	if opts.DefaultFrequency == "" {
		opts.DefaultFrequency = FrequencyImmediate
	}
	return &App{store: s, peers: peers, profiles: peers, opts: opts, log: logger, now: time.Now}
}

// Store is the application's store, for the mailer.
func (a *App) Store() *store.Store { return a.store }

// requireMember refuses a caller without a session, before anything
// else is looked at: a visitor learns nothing from a 400.
func requireMember(ctx context.Context) error {
	if !auth.CallerFrom(ctx).IsMember() {
		return apperr.Unauthenticated("log in first: this needs a session token")
	}
	return nil
}

// member is the calling member, known to the directory with what their
// token says (name, verified organisations) and, every ProfileRefresh,
// their address from their own profile.
func (a *App) member(ctx context.Context) (*store.Member, error) {
	if err := requireMember(ctx); err != nil {
		return nil, err
	}
	c := auth.CallerFrom(ctx)
	now := a.now()
	stale := func(m *store.Member) bool {
		return m.Email == "" || now.Sub(m.ProfileAt) >= a.opts.ProfileRefresh ||
			(c.DisplayName != "" && m.DisplayName != c.DisplayName) || !slices.Equal(m.Organizations, c.Organizations)
	}
	if m, err := a.store.Members.Get(ctx, c.MemberID); err == nil && !stale(m) {
		return m, nil // nothing new: no write on every call
	}
	m, err := a.store.Members.Upsert(ctx, c.MemberID, func() *store.Member { return &store.Member{ID: c.MemberID} }, func(m *store.Member) error {
		if c.DisplayName != "" {
			m.DisplayName, m.NameKey = c.DisplayName, NameKey(c.DisplayName)
		}
		m.Organizations = append([]string(nil), c.Organizations...)
		if now.Sub(m.ProfileAt) >= a.opts.ProfileRefresh || m.Email == "" {
			if p, err := a.profiles.MyProfile(ctx); err != nil {
				a.log.Warn("read the caller's profile", "member", c.MemberID, "err", err)
			} else {
				m.Email, m.ProfileAt = p.GetEmail(), now
			}
		}
		return nil
	})
	return m, err
}

// NameKey folds a display name for @mention lookups.
func NameKey(name string) string { return strings.ToLower(strings.Join(strings.Fields(name), " ")) }

func checkFollow(kind, id string) error {
	var v apperr.Violations
	switch {
	case kind == "":
		v.Add("kind", "is required")
	case !contains(Kinds, kind):
		v.Add("kind", "must be one of twinning, practice, thread, organization")
	}
	if id == "" {
		v.Add("id", "is required")
	} else if len(id) > 200 {
		v.Add("id", "must be at most 200 characters")
	}
	return v.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// PutFollow follows kind/id for the caller, once its owning service says
// it exists; again, nothing changes (an automatic follow becomes the
// member's own).
func (a *App) PutFollow(ctx context.Context, kind, id string) (*store.Follow, error) {
	if err := requireMember(ctx); err != nil {
		return nil, err
	}
	if err := checkFollow(kind, id); err != nil {
		return nil, err
	}
	m, err := a.member(ctx)
	if err != nil {
		return nil, err
	}
	// Only what exists, and the member may see, can be followed; nothing
	// is stored otherwise.
	if id, err = a.peers.target(ctx, kind, id); err != nil {
		return nil, err
	}
	return a.follow(ctx, m.ID, kind, id, false, a.now())
}

// follow makes memberID follow kind/id since now; an automatic follow
// dates from the event that caused it.
func (a *App) follow(ctx context.Context, memberID, kind, id string, automatic bool, now time.Time) (*store.Follow, error) {
	fid := store.FollowID(memberID, kind, id)
	f, err := a.store.Follows.Upsert(ctx, fid, func() *store.Follow {
		return &store.Follow{ID: fid, MemberID: memberID, Kind: kind, TargetID: id, Automatic: automatic, CreatedAt: now,
			SortKey: store.SeqOf(now, fid)}
	}, func(f *store.Follow) error {
		if !automatic {
			f.Automatic = false
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Then among the followers the fan-out reads, every time: a follow
	// whose bucket write failed is put there by the next.
	if err := a.store.AddFollower(ctx, kind, id, memberID, f.CreatedAt); err != nil {
		return nil, err
	}
	return f, nil
}

// GetFollow is the caller's follow of kind/id, or NotFound.
func (a *App) GetFollow(ctx context.Context, kind, id string) (*store.Follow, error) {
	if err := requireMember(ctx); err != nil {
		return nil, err
	}
	if err := checkFollow(kind, id); err != nil {
		return nil, err
	}
	m, err := a.member(ctx)
	if err != nil {
		return nil, err
	}
	f, err := a.store.Follows.Get(ctx, store.FollowID(m.ID, kind, id))
	if apperr.KindOf(err) == apperr.KindNotFound && byCode(kind, id) {
		// PUT takes a twinning's code and follows its id: so does GET.
		if known, rerr := a.peers.target(ctx, kind, id); rerr == nil && known != id {
			return a.store.Follows.Get(ctx, store.FollowID(m.ID, kind, known))
		}
	}
	return f, err
}

// DeleteFollow stops following.
func (a *App) DeleteFollow(ctx context.Context, kind, id string) error {
	if err := requireMember(ctx); err != nil {
		return err
	}
	if err := checkFollow(kind, id); err != nil {
		return err
	}
	m, err := a.member(ctx)
	if err != nil {
		return err
	}
	if err := a.store.DeleteFollow(ctx, m.ID, kind, id); err != nil {
		return err
	}
	if byCode(kind, id) {
		// PUT takes a twinning's code and follows its id: so does DELETE.
		// The code is looked up only to find that id; when the twinning
		// service does not answer, what was named is unfollowed all the same.
		if known, err := a.peers.target(ctx, kind, id); err == nil && known != id {
			return a.store.DeleteFollow(ctx, m.ID, kind, known)
		}
	}
	return nil
}

// byCode reports a twinning named by its code, not its id (ids are
// UUIDs): only then do GET and DELETE ask the twinning service which id
// it is, so that a page asking whether its member follows a twinning by
// id costs no call to that service.
func byCode(kind, id string) bool {
	_, err := uuid.Parse(id)
	return kind == KindTwinning && err != nil
}

// Page is one page of a list.
type Page[T any] struct {
	Items []*T
	Next  string
}

func listPage[T any](ctx context.Context, s *mongox.AggregateStore[T, T], filter bson.D, filterHash uint32, size int32, token string,
	key func(*T) (string, string)) (Page[T], error) {
	n, err := paging.Size(size)
	if err != nil {
		return Page[T]{}, err
	}
	after, err := paging.Decode(token, filterHash)
	if err != nil {
		return Page[T]{}, err
	}
	items, err := s.Find(ctx, filter, mongox.Page{After: after, Limit: n + 1})
	if err != nil {
		return Page[T]{}, err
	}
	var next string
	if len(items) > n {
		items = items[:n]
		k, id := key(items[n-1])
		next = paging.Encode(paging.Cursor{Key: k, ID: id}, filterHash)
	}
	return Page[T]{Items: items, Next: next}, nil
}

// ListFollows lists the caller's follows, newest first.
func (a *App) ListFollows(ctx context.Context, size int32, token string) (Page[store.Follow], error) {
	m, err := a.member(ctx)
	if err != nil {
		return Page[store.Follow]{}, err
	}
	return listPage(ctx, a.store.Follows, bson.D{{Key: "member_id", Value: m.ID}}, paging.FilterHash("follows", m.ID), size, token,
		func(f *store.Follow) (string, string) { return f.SortKey, f.ID })
}

// Notifications is a page of notifications; Language is the member's
// preference (their e-mails'), for a reader who says none of their own.
type Notifications struct {
	Page[store.Notification]
	Unread   int
	Language string
}

// ListNotifications lists the caller's notifications, unread first.
func (a *App) ListNotifications(ctx context.Context, size int32, token string, unreadOnly bool) (Notifications, error) {
	if err := requireMember(ctx); err != nil {
		return Notifications{}, err
	}
	m, err := a.member(ctx)
	if err != nil {
		return Notifications{}, err
	}
	filter := bson.D{{Key: "member_id", Value: m.ID}}
	if unreadOnly {
		filter = append(filter, bson.E{Key: "read", Value: false})
	}
	p, err := listPage(ctx, a.store.Notifications, filter, paging.FilterHash("notifications", m.ID, boolString(unreadOnly)), size, token,
		func(n *store.Notification) (string, string) { return n.SortKey, n.ID })
	if err != nil {
		return Notifications{}, err
	}
	unread, err := a.store.Unread(ctx, m.ID)
	if err != nil {
		return Notifications{}, err
	}
	return Notifications{Page: p, Unread: unread, Language: languageOf(m)}, nil
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// maxMarkAll bounds one MarkRead of everything; the answer's count says
// what is left.
const maxMarkAll = 1000

// MarkRead marks the caller's notifications ids (or all) read and returns
// how many stay unread.
func (a *App) MarkRead(ctx context.Context, ids []string, all bool) (int, error) {
	if err := requireMember(ctx); err != nil {
		return 0, err
	}
	var v apperr.Violations
	switch {
	case all && len(ids) > 0:
		v.Add("ids", "must be empty when all is true")
	case !all && len(ids) == 0:
		v.Add("ids", "name at least one notification, or set all")
	case len(ids) > 100:
		v.Add("ids", "at most 100 at a time")
	}
	for i, id := range ids {
		if id == "" {
			v.Add("ids["+itoa(i)+"]", "must not be empty")
		}
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	m, err := a.member(ctx)
	if err != nil {
		return 0, err
	}
	if all {
		unread, err := a.store.Notifications.Find(ctx, bson.D{{Key: "member_id", Value: m.ID}, {Key: "read", Value: false}}, mongox.Page{Limit: maxMarkAll})
		if err != nil {
			return 0, err
		}
		for _, n := range unread {
			ids = append(ids, n.ID)
		}
	}
	for _, id := range ids {
		_, err := a.store.Notifications.Update(ctx, id, func(n *store.Notification) error {
			if n.MemberID != m.ID {
				return apperr.NotFound("notification %s not found", id)
			}
			n.Read, n.SortKey = true, store.SortKeyOf(true, n.Seq)
			return nil
		})
		if err != nil && !(all && apperr.KindOf(err) == apperr.KindNotFound) {
			return 0, err
		}
	}
	return a.store.Unread(ctx, m.ID)
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// Preferences are a member's choices.
type Preferences struct {
	Frequency string
	Language  string
	Email     string
}

func languageOf(m *store.Member) string {
	if contains(Languages, m.Language) {
		return m.Language
	}
	return Languages[0]
}

func (a *App) frequencyOf(m *store.Member) string {
	if m.Frequency != "" {
		return m.Frequency
	}
	return a.opts.DefaultFrequency
}

func (a *App) preferences(m *store.Member) Preferences {
	return Preferences{Frequency: a.frequencyOf(m), Language: languageOf(m), Email: m.Email}
}

// GetPreferences are the caller's.
func (a *App) GetPreferences(ctx context.Context) (Preferences, error) {
	m, err := a.member(ctx)
	if err != nil {
		return Preferences{}, err
	}
	return a.preferences(m), nil
}

// UpdatePreferences sets what is given: frequency and language, each
// kept when empty.
func (a *App) UpdatePreferences(ctx context.Context, frequency, language string) (Preferences, error) {
	if err := requireMember(ctx); err != nil {
		return Preferences{}, err
	}
	var v apperr.Violations
	if frequency != "" && !contains([]string{FrequencyImmediate, FrequencyDaily, FrequencyWeekly, FrequencyNever}, frequency) {
		v.Add("preferences.email", "must be EMAIL_FREQUENCY_IMMEDIATE, _DAILY, _WEEKLY or _NEVER")
	}
	if language != "" && !contains(Languages, language) {
		v.Add("preferences.language", "must be it or en")
	}
	if err := v.Err(); err != nil {
		return Preferences{}, err
	}
	m, err := a.member(ctx)
	if err != nil {
		return Preferences{}, err
	}
	m, err = a.store.Members.Update(ctx, m.ID, func(m *store.Member) error {
		if frequency != "" {
			m.Frequency = frequency
		}
		if language != "" {
			m.Language = language
		}
		return nil
	})
	if err != nil {
		return Preferences{}, err
	}
	return a.preferences(m), nil
}

// Unsubscribe turns e-mail off for memberID (whose signed token the
// caller showed).
func (a *App) Unsubscribe(ctx context.Context, memberID string) error {
	_, err := a.store.Members.Upsert(ctx, memberID, func() *store.Member { return &store.Member{ID: memberID} }, func(m *store.Member) error {
		m.Frequency = FrequencyNever
		return nil
	})
	return err
}

// Watch is what a live stream of the caller's notifications needs: who
// they are and where the stream starts.
type Watch struct {
	MemberID string
	Language string
	After    string
}

// StartWatch checks the caller and the cursor; an empty cursor starts
// after the newest notification.
func (a *App) StartWatch(ctx context.Context, after string) (Watch, error) {
	if err := requireMember(ctx); err != nil {
		return Watch{}, err
	}
	if len(after) > 200 {
		return Watch{}, apperr.Invalid("after_cursor", "is not a cursor this service issued")
	}
	m, err := a.member(ctx)
	if err != nil {
		return Watch{}, err
	}
	if after == "" {
		if after, err = a.store.LastSeq(ctx, m.ID); err != nil {
			return Watch{}, err
		}
	}
	return Watch{MemberID: m.ID, Language: languageOf(m), After: after}, nil
}

// Next are the notifications after w.After, and the unread count.
func (a *App) Next(ctx context.Context, w *Watch) ([]store.Notification, int, error) {
	ns, err := a.store.After(ctx, w.MemberID, w.After, 100)
	if err != nil {
		return nil, 0, err
	}
	if len(ns) > 0 {
		w.After = ns[len(ns)-1].Seq
	}
	unread, err := a.store.Unread(ctx, w.MemberID)
	return ns, unread, err
}
