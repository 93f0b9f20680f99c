// Package offer is the aggregate of an organisation's offer to teach one of
// its published practices ("offro"), open until the organisation closes it.
package offer

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
)

// Status is where an offer is in its life. The zero value is not a status.
type Status struct{ s string }

var (
	Open   = Status{"open"}
	Closed = Status{"closed"}
)

// Statuses lists every status.
var Statuses = []Status{Open, Closed}

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

// MaxCapacity bounds how many twinnings one offer may promise to support
// at once: beyond it the number says nothing a coordinator could plan on.
const MaxCapacity = 50

var modelCode = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,2}$`)

// Terms are the fields the offering organisation writes.
type Terms struct {
	OrganizationID string
	PracticeID     string
	// ModelCodes are the models offered; empty means all of them.
	ModelCodes []string
	// Capacity is how many twinnings it can support at once.
	Capacity  int
	Languages []string
	// Conditions are what the offering side asks of the receiving one.
	Conditions string
}

// Offer is the aggregate.
type Offer struct {
	ID string
	Terms
	Status Status
	// PracticeTitle is the practice's title when the offer was made, so a
	// list of offers reads without loading every practice.
	PracticeTitle string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Version       int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

const (
	EventOpened EventType = "catalog.offer.opened"
	EventClosed EventType = "catalog.offer.closed"
)

// Change is a domain event not yet published.
type Change struct {
	Type   EventType
	Actor  string
	At     time.Time
	Reason string
}

// Validate checks every field and reports all problems at once.
func (t Terms) Validate() error {
	var v apperr.Violations
	if t.OrganizationID == "" {
		v.Add("organization_id", "is required: the organisation that offers")
	} else {
		validate.ID(&v, "organization_id", t.OrganizationID)
	}
	if t.PracticeID == "" {
		v.Add("practice_id", "is required: the practice offered")
	} else {
		validate.ID(&v, "practice_id", t.PracticeID)
	}
	if len(t.ModelCodes) > 26 {
		v.Add("model_codes", "must have at most 26 entries")
	}
	seen := map[string]bool{}
	for i, c := range t.ModelCodes {
		f := validate.Index("model_codes", i)
		switch {
		case !modelCode.MatchString(c):
			v.Add(f, "must be a model code: a capital letter followed by up to two capital letters or digits, e.g. A")
		case seen[c]:
			v.Add(f, "is a duplicate")
		}
		seen[c] = true
	}
	if t.Capacity < 1 || t.Capacity > MaxCapacity {
		v.Addf("capacity", "must be between 1 and %d twinnings at once, got %d", MaxCapacity, t.Capacity)
	}
	langs := map[string]bool{}
	for i, l := range t.Languages {
		f := validate.Index("languages", i)
		validate.Language(&v, f, l)
		if langs[l] {
			v.Add(f, "is a duplicate")
		}
		langs[l] = true
	}
	validate.Text(&v, "conditions", t.Conditions, false, 4000)
	return v.Err()
}

// New opens an offer after validating its terms. Whether the practice
// exists, is published, belongs to the organisation and has the models is
// for the caller to check: the aggregate does not see practices.
func New(id string, t Terms, practiceTitle, actor string, now time.Time) (*Offer, error) {
	t.Conditions = strings.TrimSpace(t.Conditions)
	if err := t.Validate(); err != nil {
		return nil, err
	}
	o := &Offer{ID: id, Terms: t, Status: Open, PracticeTitle: practiceTitle, CreatedAt: now, UpdatedAt: now}
	o.record(Change{Type: EventOpened, Actor: actor, At: now})
	return o, nil
}

// Close withdraws an open offer.
func (o *Offer) Close(actor, reason string, now time.Time) error {
	if o.Status != Open {
		return apperr.FailedPrecondition("offer %s is %s: only an open offer can be closed", o.ID, o.Status).
			WithMove("offers/"+o.ID, o.Status.String(), "close")
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, false, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	o.Status = Closed
	o.UpdatedAt = now
	o.record(Change{Type: EventClosed, Actor: actor, At: now, Reason: strings.TrimSpace(reason)})
	return nil
}

// Offers reports whether the offer covers the model with code: an offer
// that names no model covers them all.
func (o *Offer) Offers(code string) bool {
	if len(o.ModelCodes) == 0 {
		return true
	}
	for _, c := range o.ModelCodes {
		if c == code {
			return true
		}
	}
	return false
}

// Etag is the opaque version tag sent to clients.
func (o *Offer) Etag() string { return organization.Etag(o.Version) }

// CheckEtag refuses a write based on an older version; empty skips the check.
func (o *Offer) CheckEtag(etag string) error {
	return organization.CheckEtag("offer", o.ID, o.Version, etag)
}

func (o *Offer) record(c Change) { o.changes = append(o.changes, c) }

// Changes returns and forgets the events recorded since the last call.
func (o *Offer) Changes() []Change {
	c := o.changes
	o.changes = nil
	return c
}

// PeekChanges returns the pending events without forgetting them.
func (o *Offer) PeekChanges() []Change { return o.changes }

// SortKey orders offers newest first by creation, then id.
func (o *Offer) SortKey() string {
	return o.CreatedAt.UTC().Format("20060102T150405.000000000") + "\x00" + o.ID
}

// Filter selects offers in List; zero fields do not filter.
type Filter struct {
	Status         Status
	OrganizationID string
	PracticeID     string
}

// Hash identifies the filter in page tokens.
func (f Filter) Hash() uint32 {
	return paging.FilterHash("offer", f.Status.String(), f.OrganizationID, f.PracticeID)
}

// Matches reports whether o passes the filter.
func (f Filter) Matches(o *Offer) bool {
	return (f.Status.IsZero() || o.Status == f.Status) &&
		(f.OrganizationID == "" || o.OrganizationID == f.OrganizationID) &&
		(f.PracticeID == "" || o.PracticeID == f.PracticeID)
}

// ErrNotFound builds the NotFound error for id.
func ErrNotFound(id string) error {
	return apperr.NotFound("offer %q not found", id).WithReason(apperr.ReasonOfferNotFound)
}

// Repository stores offers.
type Repository interface {
	// Create stores a new offer; AlreadyExists if the id is taken.
	Create(ctx context.Context, o *Offer) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Offer, error)
	// Update loads, applies fn, and saves atomically with a version check;
	// fn may run more than once.
	Update(ctx context.Context, id string, fn func(o *Offer) error) (*Offer, error)
	// List returns up to limit offers after the cursor, newest first.
	List(ctx context.Context, f Filter, after *paging.Cursor, limit int) ([]*Offer, error)
	// OpenForPractices returns the open offers on any of the practices,
	// in one query: matching asks it for a page of candidates at once.
	OpenForPractices(ctx context.Context, practiceIDs []string) ([]*Offer, error)
}
