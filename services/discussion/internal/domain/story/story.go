// Package story is the aggregate of a member's first-person account of a
// transfer, tied to a twinning or a practice. A moderator publishes or
// rejects it before anyone else reads it: pending → published | rejected.
package story

import (
	"context"
	"strings"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// Status is where a story is in its life.
type Status struct{ s string }

var (
	Pending   = Status{"pending"}
	Published = Status{"published"}
	Rejected  = Status{"rejected"}
)

func (s Status) String() string { return s.s }

// IsZero reports an unset status.
func (s Status) IsZero() bool { return s.s == "" }

// ParseStatus returns the status named s, or false.
func ParseStatus(s string) (Status, bool) {
	for _, st := range []Status{Pending, Published, Rejected} {
		if st.s == s {
			return st, true
		}
	}
	return Status{}, false
}

// Limits of what people write.
const (
	MaxTitleLength = 200
	MaxBodyLength  = 40000
)

// Details are what the author writes.
type Details struct {
	Title string
	// Body is Markdown, first person.
	Body string
	// Exactly one of the two.
	TwinningID string
	PracticeID string
}

// Validate checks every field and reports all problems at once.
func (d Details) Validate() error {
	var v apperr.Violations
	validate.Line(&v, "title", d.Title, true, MaxTitleLength)
	validate.Text(&v, "body", d.Body, true, MaxBodyLength)
	switch {
	case d.TwinningID == "" && d.PracticeID == "":
		v.Add("twinning_id", "or practice_id is required: a story tells of a twinning or a practice")
	case d.TwinningID != "" && d.PracticeID != "":
		v.Add("practice_id", "must be empty when twinning_id is set: a story is about one of them")
	}
	validate.ID(&v, "twinning_id", d.TwinningID, false)
	validate.ID(&v, "practice_id", d.PracticeID, false)
	return v.Err()
}

// Story is the aggregate.
type Story struct {
	ID string
	Details
	AuthorID       string
	AuthorName     string
	Status         Status
	DecisionReason string
	DecidedBy      string
	CreatedAt      time.Time
	DecidedAt      time.Time
	PublishedAt    time.Time
	Version        int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

// EventPublished is published when a moderator publishes a story.
const EventPublished EventType = "discussion.story.published"

// Change is a domain event not yet published.
type Change struct {
	Type  EventType
	Actor string
	At    time.Time
}

// New submits a story for moderation.
func New(id string, d Details, authorID, authorName string, now time.Time) (*Story, error) {
	d.Title = strings.TrimSpace(d.Title)
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &Story{ID: id, Details: d, AuthorID: authorID, AuthorName: authorName, Status: Pending, CreatedAt: now}, nil
}

func (s *Story) checkPending() error {
	if s.Status != Pending {
		return apperr.FailedPrecondition("story %s is already %s", s.ID, s.Status)
	}
	return nil
}

// Publish makes a pending story public.
func (s *Story) Publish(moderatorID, reason string, now time.Time) error {
	if err := s.checkPending(); err != nil {
		return err
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, false, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	s.Status, s.DecidedBy, s.DecidedAt, s.PublishedAt = Published, moderatorID, now, now
	s.DecisionReason = strings.TrimSpace(reason)
	s.changes = append(s.changes, Change{Type: EventPublished, Actor: moderatorID, At: now})
	return nil
}

// Reject refuses a pending story; the author is told why.
func (s *Story) Reject(moderatorID, reason string, now time.Time) error {
	if err := s.checkPending(); err != nil {
		return err
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, true, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	s.Status, s.DecidedBy, s.DecidedAt = Rejected, moderatorID, now
	s.DecisionReason = strings.TrimSpace(reason)
	return nil
}

// Changes returns and forgets the events recorded since the last call.
func (s *Story) Changes() []Change {
	c := s.changes
	s.changes = nil
	return c
}

// SortKey orders stories newest first: published ones by publication,
// the others by submission.
func (s *Story) SortKey() string {
	at := s.CreatedAt
	if s.Status == Published {
		at = s.PublishedAt
	}
	return at.UTC().Format("20060102T150405.000000000") + "\x00" + s.ID
}

// Filter selects stories in List.
type Filter struct {
	// Status is required: the repository lists one status at a time.
	Status     Status
	TwinningID string
	PracticeID string
}

// Hash identifies the filter in page tokens.
func (f Filter) Hash() uint32 {
	return paging.FilterHash("story", f.Status.String(), f.TwinningID, f.PracticeID)
}

// ErrNotFound is the NotFound error for a story id.
func ErrNotFound(id string) error {
	return apperr.NotFound("story %q not found", id).WithReason(apperr.ReasonStoryNotFound)
}

// Repository stores stories.
type Repository interface {
	// Create stores a new story; AlreadyExists if the id is taken.
	Create(ctx context.Context, s *Story) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Story, error)
	// Update loads, applies fn, and saves atomically; fn may run more than once.
	Update(ctx context.Context, id string, fn func(s *Story) error) (*Story, error)
	// List returns up to limit stories after the cursor, newest first.
	List(ctx context.Context, f Filter, after *paging.Cursor, limit int) ([]*Story, error)
}
