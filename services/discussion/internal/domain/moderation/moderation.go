// Package moderation is the moderation log: one entry per decision on a
// post, by a moderator (hidden, restored, reports dismissed) or by the
// members' reports (hidden pending review). Entries are never changed.
package moderation

import (
	"context"
	"fmt"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// Action is what was decided.
type Action string

const (
	Hidden           Action = "hidden"
	Restored         Action = "restored"
	ReportsDismissed Action = "reports_dismissed"
	// HiddenByReports: the members' reports reached the threshold.
	HiddenByReports Action = "hidden_by_reports"
)

// ParseAction returns the action named s, or false.
func ParseAction(s string) (Action, bool) {
	for _, a := range []Action{Hidden, Restored, ReportsDismissed, HiddenByReports} {
		if string(a) == s {
			return a, true
		}
	}
	return "", false
}

// Entry is one decision on a post.
type Entry struct {
	// ID is the post's id and the version its decision wrote, so that
	// writing the entry of one decision twice stores it once.
	ID       string
	PostID   string
	ThreadID string
	Action   Action
	// ByID and ByName are the moderator's id and display name; empty for
	// HiddenByReports.
	ByID, ByName string
	Reason       string
	At           time.Time
	Version      int64
}

// EntryID is the id of the entry of the decision that brought a post to
// version.
func EntryID(postID string, version int64) string {
	return fmt.Sprintf("%s@%d", postID, version)
}

// SortKey orders entries newest first, then id.
func (e *Entry) SortKey() string {
	return e.At.UTC().Format("20060102T150405.000000000") + "\x00" + e.ID
}

// ListHash identifies the log in page tokens.
var ListHash = paging.FilterHash("moderation-log")

// ErrNotFound is the NotFound error of an entry id.
func ErrNotFound(id string) error {
	return apperr.NotFound("moderation log entry %q not found", id)
}

// Repository stores the log.
type Repository interface {
	// Create stores an entry; AlreadyExists if its id is taken.
	Create(ctx context.Context, e *Entry) error
	// List returns up to limit entries after the cursor, newest first.
	List(ctx context.Context, after *paging.Cursor, limit int) ([]*Entry, error)
}
