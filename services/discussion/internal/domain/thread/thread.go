// Package thread is the aggregate of a discussion: on a twinning, on a
// practice, or on the general board. It keeps its own counters (posts,
// participants, last activity) so that a list of threads is one query.
package thread

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// Scope is what a thread belongs to.
type Scope struct{ s string }

var (
	General  = Scope{"general"}
	Twinning = Scope{"twinning"}
	Practice = Scope{"practice"}
)

// Scopes lists every scope.
var Scopes = []Scope{General, Twinning, Practice}

func (s Scope) String() string { return s.s }

// IsZero reports an unset scope.
func (s Scope) IsZero() bool { return s.s == "" }

// ParseScope returns the scope named s, or false.
func ParseScope(s string) (Scope, bool) {
	for _, sc := range Scopes {
		if sc.s == s {
			return sc, true
		}
	}
	return Scope{}, false
}

// Limits of what people write.
const (
	MaxTitleLength = 300
	MaxBodyLength  = 20000
	// recentPostsKept bounds the post ids a thread remembers having
	// counted, which makes counting a retried post a no-op.
	recentPostsKept = 100
)

// Details are what the author of a thread writes.
type Details struct {
	Scope   Scope
	ScopeID string
	Title   string
	// Body is Markdown as written; it is rendered to safe HTML when shown.
	Body string
}

// Validate checks every field and reports all problems at once.
func (d Details) Validate() error {
	var v apperr.Violations
	switch d.Scope {
	case General:
		if d.ScopeID != "" {
			v.Add("scope_id", "must be empty for the general board")
		}
	case Twinning, Practice:
		validate.ID(&v, "scope_id", d.ScopeID, true)
	default:
		v.Add("scope", "is required: one of SCOPE_GENERAL, SCOPE_TWINNING, SCOPE_PRACTICE")
	}
	validate.Line(&v, "title", d.Title, true, MaxTitleLength)
	validate.Text(&v, "body", d.Body, false, MaxBodyLength)
	return v.Err()
}

// Thread is the aggregate.
type Thread struct {
	ID string
	Details
	// AuthorID is empty for a thread the platform opened itself.
	AuthorID   string
	AuthorName string
	PostCount  int
	// ParticipantCount is len(Participants), kept apart so that a list can
	// leave the ids out.
	ParticipantCount int
	// Participants are the distinct members who wrote in the thread, its
	// author included.
	Participants   []string
	CreatedAt      time.Time
	LastActivityAt time.Time
	// CountedPosts are the latest posts counted, newest last.
	CountedPosts []string
	Version      int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

// Opened is published when a thread is created.
const Opened EventType = "discussion.thread.opened"

// Change is a domain event not yet published.
type Change struct {
	Type  EventType
	Actor string
	At    time.Time
}

// New opens a thread. An empty authorID is the platform itself.
func New(id string, d Details, authorID, authorName, actor string, now time.Time) (*Thread, error) {
	d.Title = strings.TrimSpace(d.Title)
	if err := d.Validate(); err != nil {
		return nil, err
	}
	t := &Thread{ID: id, Details: d, AuthorID: authorID, AuthorName: authorName, CreatedAt: now, LastActivityAt: now}
	if authorID != "" {
		t.Participants = []string{authorID}
		t.ParticipantCount = 1
	}
	t.changes = append(t.changes, Change{Type: Opened, Actor: actor, At: now})
	return t, nil
}

// HasCounted reports whether the post was already counted.
func (t *Thread) HasCounted(postID string) bool { return slices.Contains(t.CountedPosts, postID) }

// CountPost adds a post to the counters once: counting it again (a
// retried request) changes nothing and returns false.
func (t *Thread) CountPost(postID, authorID string, at time.Time) bool {
	if t.HasCounted(postID) {
		return false
	}
	t.PostCount++
	if authorID != "" && !slices.Contains(t.Participants, authorID) {
		t.Participants = append(t.Participants, authorID)
		t.ParticipantCount = len(t.Participants)
	}
	if at.After(t.LastActivityAt) {
		t.LastActivityAt = at
	}
	t.CountedPosts = append(t.CountedPosts, postID)
	if over := len(t.CountedPosts) - recentPostsKept; over > 0 {
		t.CountedPosts = slices.Clone(t.CountedPosts[over:])
	}
	return true
}

// Changes returns and forgets the events recorded since the last call.
func (t *Thread) Changes() []Change {
	c := t.changes
	t.changes = nil
	return c
}

// SortKey orders threads by last activity, newest first, then id.
func (t *Thread) SortKey() string {
	return t.LastActivityAt.UTC().Format("20060102T150405.000000000") + "\x00" + t.ID
}

// Filter selects threads in List; zero fields do not filter.
type Filter struct {
	Scope   Scope
	ScopeID string
}

// Hash identifies the filter in page tokens.
func (f Filter) Hash() uint32 { return paging.FilterHash("thread", f.Scope.String(), f.ScopeID) }

// ErrNotFound is the NotFound error for a thread id.
func ErrNotFound(id string) error {
	return apperr.NotFound("thread %q not found", id).WithReason(apperr.ReasonThreadNotFound)
}

// Repository stores threads.
type Repository interface {
	// Create stores a new thread; AlreadyExists if the id is taken.
	Create(ctx context.Context, t *Thread) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Thread, error)
	// Update loads, applies fn, and saves atomically; fn may run more than once.
	Update(ctx context.Context, id string, fn func(t *Thread) error) (*Thread, error)
	// List returns up to limit threads after the cursor, by last activity,
	// newest first. Listed threads carry no Participants or CountedPosts
	// (ParticipantCount is there).
	List(ctx context.Context, f Filter, after *paging.Cursor, limit int) ([]*Thread, error)
}
