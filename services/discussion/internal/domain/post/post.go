// Package post is the aggregate of one message in a thread, with its
// moderation: the author edits within a window and deletes; members report
// it, once each; enough reports hide it pending review; moderators hide or
// restore it with a reason. Nothing is ever erased.
package post

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// State is whether a post is shown.
type State struct{ s string }

var (
	Visible = State{"visible"}
	// Hidden posts are shown to moderators only.
	Hidden = State{"hidden"}
	// Deleted posts are shown as deleted, without their body.
	Deleted = State{"deleted"}
)

func (s State) String() string { return s.s }

// ParseState returns the state named s, or false.
func ParseState(s string) (State, bool) {
	for _, st := range []State{Visible, Hidden, Deleted} {
		if st.s == s {
			return st, true
		}
	}
	return State{}, false
}

// MaxBodyLength bounds a post's Markdown.
const MaxBodyLength = 20000

// HiddenByReports is the moderator recorded when reports hid a post.
const HiddenByReports = "reports"

// Report is one member's report of a post.
type Report struct {
	MemberID string
	// MemberName is the reporter's display name when they reported.
	MemberName string
	Reason     string
	At         time.Time
}

// Post is the aggregate.
type Post struct {
	ID       string
	ThreadID string
	// ParentID is the post this one replies to, in the same thread.
	ParentID string
	// Scope and ScopeID are the thread's, copied so that events about the
	// post say where it was written.
	Scope      thread.Scope
	ScopeID    string
	AuthorID   string
	AuthorName string
	// Body is Markdown as written.
	Body    string
	State   State
	Reports []Report
	// ReviewedReports is how many of the reports a moderator has dealt
	// with: only later ones count towards hiding the post again.
	ReviewedReports  int
	ModerationReason string
	// ModeratedBy is the moderator's id, or HiddenByReports.
	ModeratedBy string
	// ModeratedAt is when the last decision on the post was taken.
	ModeratedAt time.Time
	CreatedAt   time.Time
	EditedAt    time.Time
	Version     int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

const (
	EventAdded    EventType = "discussion.post.added"
	EventHidden   EventType = "discussion.post.hidden"
	EventRestored EventType = "discussion.post.restored"
	// EventReportsDismissed: a moderator found the reports unfounded; a
	// post that reports had hidden is shown again.
	EventReportsDismissed EventType = "discussion.post.reports_dismissed"
	// EventEdited and EventDeleted: the author changed the body, or took
	// the post away; the search index follows them.
	EventEdited  EventType = "discussion.post.edited"
	EventDeleted EventType = "discussion.post.deleted"
)

// Change is a domain event not yet published.
type Change struct {
	Type   EventType
	Actor  string
	At     time.Time
	Reason string
	// By is the moderator id, or HiddenByReports.
	By string
	// ThreadTitle is the thread's title when the post was written
	// (EventAdded only).
	ThreadTitle string
}

func validateBody(body string) error {
	var v apperr.Violations
	validate.Text(&v, "body", body, true, MaxBodyLength)
	return v.Err()
}

// New writes a post in thread t.
func New(id string, t *thread.Thread, parentID, authorID, authorName, body string, now time.Time) (*Post, error) {
	var v apperr.Violations
	validate.Text(&v, "body", body, true, MaxBodyLength)
	validate.ID(&v, "parent_id", parentID, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if authorID == "" {
		return nil, fmt.Errorf("new post %s: no author", id)
	}
	p := &Post{
		ID: id, ThreadID: t.ID, ParentID: parentID, Scope: t.Scope, ScopeID: t.ScopeID,
		AuthorID: authorID, AuthorName: authorName, Body: body, State: Visible, CreatedAt: now,
	}
	p.record(Change{Type: EventAdded, Actor: authorID, At: now, ThreadTitle: t.Title})
	return p, nil
}

// Edit replaces the body: only the author, only while the post is visible,
// and only within window of writing it.
func (p *Post) Edit(authorID, body string, window time.Duration, now time.Time) error {
	if authorID != p.AuthorID {
		return apperr.PermissionDenied("only the author may edit post %s", p.ID).WithReason(apperr.ReasonNotAuthor)
	}
	if p.State != Visible {
		return apperr.FailedPrecondition("post %s is %s: it can no longer be edited", p.ID, p.State)
	}
	if now.Sub(p.CreatedAt) > window {
		return apperr.FailedPrecondition("post %s can be edited for %s after writing it; that time has passed", p.ID, window).WithReason(apperr.ReasonEditWindowPassed)
	}
	if err := validateBody(body); err != nil {
		return err
	}
	p.Body, p.EditedAt = body, now
	p.record(Change{Type: EventEdited, Actor: authorID, At: now})
	return nil
}

// Delete marks the post deleted by its author; it stays stored. Deleting a
// deleted post changes nothing.
func (p *Post) Delete(authorID string, now time.Time) error {
	if authorID != p.AuthorID {
		return apperr.PermissionDenied("only the author may delete post %s", p.ID).WithReason(apperr.ReasonNotAuthor)
	}
	if p.State == Deleted {
		return nil
	}
	p.State, p.EditedAt = Deleted, now
	p.record(Change{Type: EventDeleted, Actor: authorID, At: now})
	return nil
}

// ReportedBy reports whether the member has reported the post.
func (p *Post) ReportedBy(memberID string) bool {
	return slices.ContainsFunc(p.Reports, func(r Report) bool { return r.MemberID == memberID })
}

// UnreviewedReports is how many reports no moderator has dealt with.
func (p *Post) UnreviewedReports() int { return len(p.Reports) - p.ReviewedReports }

// NeedsReview reports a post a moderator should look at: reported since the
// last decision, and not deleted by its author.
func (p *Post) NeedsReview() bool { return p.UnreviewedReports() > 0 && p.State != Deleted }

// InQueue reports a post moderators should see in their queue: one that
// needs review, or one that is hidden (until a moderator restores it).
func (p *Post) InQueue() bool { return p.NeedsReview() || p.State == Hidden }

// HiddenByReportsNow reports a post that reports hid, with no moderator's
// decision since.
func (p *Post) HiddenByReportsNow() bool {
	return p.State == Hidden && p.ModeratedBy == HiddenByReports
}

// Report records a member's report with its reason; the threshold-th
// report since the last review hides a visible post pending review.
func (p *Post) Report(memberID, memberName, reason string, threshold int, now time.Time) error {
	var v apperr.Violations
	validate.Text(&v, "reason", reason, true, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	switch {
	case memberID == p.AuthorID:
		return apperr.FailedPrecondition("you cannot report your own post").WithReason(apperr.ReasonOwnPostReport)
	case p.State == Deleted:
		return apperr.FailedPrecondition("post %s was deleted by its author", p.ID)
	case p.ReportedBy(memberID):
		return apperr.AlreadyExists("you have already reported post %s", p.ID).WithReason(apperr.ReasonPostAlreadyReported)
	}
	p.Reports = append(p.Reports, Report{MemberID: memberID, MemberName: memberName, Reason: strings.TrimSpace(reason), At: now})
	if p.State == Visible && p.UnreviewedReports() >= threshold {
		p.State = Hidden
		p.ModeratedBy, p.ModeratedAt = HiddenByReports, now
		p.ModerationReason = fmt.Sprintf("hidden pending review: reported by %d members", p.UnreviewedReports())
		p.record(Change{Type: EventHidden, Actor: memberID, At: now, Reason: p.ModerationReason, By: HiddenByReports})
	}
	return nil
}

// Hide is a moderator's decision to hide the post; on a post that reports
// hid, it confirms the hiding. The reports so far count as reviewed.
func (p *Post) Hide(moderatorID, reason string, now time.Time) error {
	if err := p.checkModeration(reason); err != nil {
		return err
	}
	if p.State == Hidden && p.ModeratedBy != HiddenByReports {
		return apperr.FailedPrecondition("post %s is already hidden by a moderator", p.ID)
	}
	p.State = Hidden
	p.moderated(moderatorID, reason, now)
	p.record(Change{Type: EventHidden, Actor: moderatorID, At: now, Reason: p.ModerationReason, By: moderatorID})
	return nil
}

// Restore is a moderator's decision to show a hidden post again. The
// reports so far count as reviewed: it takes new ones to hide it again.
func (p *Post) Restore(moderatorID, reason string, now time.Time) error {
	if err := p.checkModeration(reason); err != nil {
		return err
	}
	if p.State != Hidden {
		return apperr.FailedPrecondition("post %s is %s: only a hidden post can be restored", p.ID, p.State)
	}
	p.State = Visible
	p.moderated(moderatorID, reason, now)
	p.record(Change{Type: EventRestored, Actor: moderatorID, At: now, Reason: p.ModerationReason, By: moderatorID})
	return nil
}

// DismissReports is a moderator's decision that the reports so far are
// unfounded: they count as reviewed, and a post that they hid is shown
// again. A post a moderator hid is restored instead.
func (p *Post) DismissReports(moderatorID, reason string, now time.Time) error {
	if err := p.checkModeration(reason); err != nil {
		return err
	}
	switch {
	case p.State == Hidden && p.ModeratedBy != HiddenByReports:
		return apperr.FailedPrecondition("post %s is hidden by a moderator: restore it instead", p.ID)
	case p.UnreviewedReports() == 0:
		return apperr.FailedPrecondition("post %s has no reports to dismiss", p.ID)
	}
	p.State = Visible
	p.moderated(moderatorID, reason, now)
	p.record(Change{Type: EventReportsDismissed, Actor: moderatorID, At: now, Reason: p.ModerationReason, By: moderatorID})
	return nil
}

func (p *Post) checkModeration(reason string) error {
	var v apperr.Violations
	validate.Text(&v, "reason", reason, true, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	if p.State == Deleted {
		return apperr.FailedPrecondition("post %s was deleted by its author", p.ID)
	}
	return nil
}

func (p *Post) moderated(moderatorID, reason string, now time.Time) {
	p.ModeratedBy, p.ModerationReason, p.ModeratedAt = moderatorID, strings.TrimSpace(reason), now
	p.ReviewedReports = len(p.Reports)
}

// Redacted is the post as a reader who is not a moderator sees it: the body
// of a deleted post is withheld, and the reasons of reports and who made
// them are left out.
func (p *Post) Redacted() *Post {
	c := *p
	c.changes = nil
	c.Reports = make([]Report, len(p.Reports))
	if c.ModeratedBy != HiddenByReports {
		c.ModeratedBy = ""
	}
	if p.State != Visible {
		c.Body = ""
	}
	return &c
}

func (p *Post) record(c Change) { p.changes = append(p.changes, c) }

// Changes returns and forgets the events recorded since the last call.
func (p *Post) Changes() []Change {
	c := p.changes
	p.changes = nil
	return c
}

// SortKey orders posts oldest first, then id.
func (p *Post) SortKey() string {
	return p.CreatedAt.UTC().Format("20060102T150405.000000000") + "\x00" + p.ID
}

// Filter selects posts in List.
type Filter struct {
	ThreadID string
	// IncludeHidden lists hidden posts too: for moderators.
	IncludeHidden bool
}

// Hash identifies the filter in page tokens.
func (f Filter) Hash() uint32 {
	return paging.FilterHash("post", f.ThreadID, fmt.Sprint(f.IncludeHidden))
}

// ReviewHash identifies the moderation list in page tokens.
var ReviewHash = paging.FilterHash("post-queue")

// ErrNotFound is the NotFound error for a post id.
func ErrNotFound(id string) error {
	return apperr.NotFound("post %q not found", id).WithReason(apperr.ReasonPostNotFound)
}

// Repository stores posts.
type Repository interface {
	// Create stores a new post; AlreadyExists if the id is taken.
	Create(ctx context.Context, p *Post) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Post, error)
	// Update loads, applies fn, and saves atomically; fn may run more than once.
	Update(ctx context.Context, id string, fn func(p *Post) error) (*Post, error)
	// List returns up to limit posts of a thread after the cursor, oldest first.
	List(ctx context.Context, f Filter, after *paging.Cursor, limit int) ([]*Post, error)
	// ListNeedingReview returns up to limit posts InQueue (needing review
	// or hidden), oldest first.
	ListNeedingReview(ctx context.Context, after *paging.Cursor, limit int) ([]*Post, error)
}
