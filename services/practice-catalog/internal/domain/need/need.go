// Package need is the aggregate of an administration's request for help
// ("cerco"): a problem it wants solved, with its life open → matched → closed.
package need

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
)

// Status is where a need is in its life. The zero value is not a status.
type Status struct{ s string }

var (
	// Open needs are looking for a practice.
	Open = Status{"open"}
	// Matched needs have a twinning that started from them.
	Matched = Status{"matched"}
	// Closed needs look for nothing any more.
	Closed = Status{"closed"}
)

// Statuses lists every status.
var Statuses = []Status{Open, Matched, Closed}

func (s Status) String() string { return s.s }

// IsZero reports an unset status.
func (s Status) IsZero() bool { return s.s == "" }

// ParseStatus returns the status named s, or false.
func ParseStatus(s string) (Status, bool) {
	for _, st := range Statuses {
		if st.s == s {
			return st, true
		}
	}
	return Status{}, false
}

// Territory is where the need is felt.
type Territory = organization.Territory

// DefaultLanguage is the language of a need that names none.
const DefaultLanguage = "it"

// Details are the fields the requesting organisation writes.
type Details struct {
	OrganizationID string
	Title          string
	Problem        string
	Themes         []string
	Sectors        []string
	Territory      Territory
	// DesiredStart is when the requester would like to start, YYYY-MM-DD.
	DesiredStart string
	// Language is the ISO 639-1 code of the text; it decides the search analysis.
	Language string
}

// Need is the aggregate.
type Need struct {
	ID string
	Details
	Status Status
	// MatchedTwinningID is the twinning that started from the need.
	MatchedTwinningID string
	// Released are the twinnings that started from the need and were
	// cancelled or deleted, newest last, at most maxReleased: an event of
	// theirs delivered late never matches the need again.
	Released  []string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version increases with every write; the etag is derived from it.
	Version int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

const (
	EventOpened  EventType = "catalog.need.opened"
	EventMatched EventType = "catalog.need.matched"
	EventClosed  EventType = "catalog.need.closed"
	// EventReopened: the twinning that matched the need was cancelled or
	// deleted; the need is open again.
	EventReopened EventType = "catalog.need.reopened"
)

// maxReleased bounds Need.Released.
const maxReleased = 20

// Change is a domain event not yet published.
type Change struct {
	Type   EventType
	Actor  string
	At     time.Time
	Reason string
}

func (d *Details) normalise() {
	d.Title = strings.TrimSpace(d.Title)
	d.Problem = strings.TrimSpace(d.Problem)
	if d.Language == "" {
		d.Language = DefaultLanguage
	}
}

// CheckNew reports what New would refuse in the details of a new need,
// without building it.
func CheckNew(d Details) error {
	d.normalise()
	return d.Validate()
}

// Validate checks every field and reports all problems at once.
func (d Details) Validate() error {
	var v apperr.Violations
	if d.OrganizationID == "" {
		v.Add("organization_id", "is required: the organisation that asks")
	} else {
		validate.ID(&v, "organization_id", d.OrganizationID)
	}
	validate.Text(&v, "title", d.Title, true, 200)
	validate.Text(&v, "problem", d.Problem, true, 10000)
	validate.Labels(&v, "themes", d.Themes, 20, 80)
	validate.Labels(&v, "sectors", d.Sectors, 20, 80)
	validate.TerritoryCode(&v, "territory.code", d.Territory.Code)
	validate.Text(&v, "territory.name", d.Territory.Name, d.Territory.Code != "", 120)
	validate.Date(&v, "desired_start", d.DesiredStart, false)
	validate.Language(&v, "language", d.Language)
	return v.Err()
}

// New opens a need after validating it.
func New(id string, d Details, actor string, now time.Time) (*Need, error) {
	d.normalise()
	if err := d.Validate(); err != nil {
		return nil, err
	}
	n := &Need{ID: id, Details: d, Status: Open, CreatedAt: now, UpdatedAt: now}
	n.record(Change{Type: EventOpened, Actor: actor, At: now})
	return n, nil
}

// ErrIllegalMove is the FailedPrecondition error for a change the status refuses.
func ErrIllegalMove(id string, s Status, what string) error {
	return apperr.FailedPrecondition("need %s is %s: it cannot be %s", id, s, what).WithMove("needs/"+id, s.String(), what)
}

// Edit replaces the details of an open need. The requesting organisation
// cannot change: a need belongs to the organisation that asked.
func (n *Need) Edit(d Details, now time.Time) error {
	if n.Status != Open {
		return ErrIllegalMove(n.ID, n.Status, "edited (only an open need can)")
	}
	d.normalise()
	if err := d.Validate(); err != nil {
		return err
	}
	if d.OrganizationID != n.OrganizationID {
		return apperr.Invalid("organization_id", "cannot change: the need belongs to the organisation that asked")
	}
	n.Details = d
	n.UpdatedAt = now
	return nil
}

// Match records the twinning that started from the need. It reports false,
// changing nothing, when that twinning is already recorded (an event
// delivered twice); a need matched by another twinning, or closed, refuses.
func (n *Need) Match(twinningID, actor string, now time.Time) (bool, error) {
	if twinningID == "" {
		return false, apperr.Invalid("twinning_id", "is required")
	}
	switch {
	case n.Status == Matched && n.MatchedTwinningID == twinningID, slices.Contains(n.Released, twinningID):
		return false, nil
	case n.Status != Open:
		return false, ErrIllegalMove(n.ID, n.Status, "matched by twinning "+twinningID)
	}
	n.Status = Matched
	n.MatchedTwinningID = twinningID
	n.UpdatedAt = now
	n.record(Change{Type: EventMatched, Actor: actor, At: now})
	return true, nil
}

// Release is what a cancelled or deleted twinning says: the need it
// started from is open again, and that twinning never matches it again.
// It reports false, changing nothing, when the need is not matched by that
// twinning (closed, matched by another, or released already).
func (n *Need) Release(twinningID, actor string, now time.Time) bool {
	if twinningID == "" || n.Status != Matched || n.MatchedTwinningID != twinningID {
		return false
	}
	n.Status = Open
	n.MatchedTwinningID = ""
	n.Released = append(n.Released, twinningID)
	if len(n.Released) > maxReleased {
		n.Released = slices.Clone(n.Released[len(n.Released)-maxReleased:])
	}
	n.UpdatedAt = now
	n.record(Change{Type: EventReopened, Actor: actor, At: now})
	return true
}

// Close ends an open or matched need.
func (n *Need) Close(actor, reason string, now time.Time) error {
	if n.Status == Closed {
		return ErrIllegalMove(n.ID, n.Status, "closed again")
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, false, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	n.Status = Closed
	n.UpdatedAt = now
	n.record(Change{Type: EventClosed, Actor: actor, At: now, Reason: strings.TrimSpace(reason)})
	return nil
}

// Etag is the opaque version tag sent to clients.
func (n *Need) Etag() string { return organization.Etag(n.Version) }

// CheckEtag refuses a write based on an older version; empty skips the check.
func (n *Need) CheckEtag(etag string) error {
	return organization.CheckEtag("need", n.ID, n.Version, etag)
}

func (n *Need) record(c Change) { n.changes = append(n.changes, c) }

// Changes returns and forgets the events recorded since the last call.
func (n *Need) Changes() []Change {
	c := n.changes
	n.changes = nil
	return c
}

// PeekChanges returns the pending events without forgetting them.
func (n *Need) PeekChanges() []Change { return n.changes }

// SortKey orders needs newest first by creation, then id.
func (n *Need) SortKey() string {
	return n.CreatedAt.UTC().Format("20060102T150405.000000000") + "\x00" + n.ID
}

// Filter selects needs in List; zero fields do not filter.
type Filter struct {
	Status         Status
	OrganizationID string
	Theme          string
	Sector         string
	TerritoryCode  string
}

// Hash identifies the filter in page tokens.
func (f Filter) Hash() uint32 {
	return paging.FilterHash("need", f.Status.String(), f.OrganizationID, f.Theme, f.Sector, f.TerritoryCode)
}

// Matches reports whether n passes the filter; the in-memory repository
// and tests use it.
func (f Filter) Matches(n *Need) bool {
	return (f.Status.IsZero() || n.Status == f.Status) &&
		(f.OrganizationID == "" || n.OrganizationID == f.OrganizationID) &&
		(f.Theme == "" || contains(n.Themes, f.Theme)) &&
		(f.Sector == "" || contains(n.Sectors, f.Sector)) &&
		(f.TerritoryCode == "" || n.Territory.Code == f.TerritoryCode)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ErrNotFound builds the NotFound error for id.
func ErrNotFound(id string) error {
	return apperr.NotFound("need %q not found", id).WithReason(apperr.ReasonNeedNotFound)
}

// Repository stores needs.
type Repository interface {
	// Create stores a new need; AlreadyExists if the id is taken.
	Create(ctx context.Context, n *Need) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Need, error)
	// Update loads, applies fn, and saves atomically with a version check;
	// fn may run more than once.
	Update(ctx context.Context, id string, fn func(n *Need) error) (*Need, error)
	// List returns up to limit needs after the cursor, newest first.
	List(ctx context.Context, f Filter, after *paging.Cursor, limit int) ([]*Need, error)
}
