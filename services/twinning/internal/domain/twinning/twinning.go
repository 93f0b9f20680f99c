// Package twinning is the aggregate of a twinning: a project that transfers
// models of good practices from offering to receiving administrations, with
// its life draft → proposed → approved → active → completed (cancelled
// before completion, active ↔ suspended), its transfers and its activity log.
package twinning

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
)

// Limits of one twinning. Parties and transfers live in its document;
// activities in its log, of which the document keeps a window (window.go).
const (
	MaxParties    = 20
	MaxTransfers  = 100
	MaxActivities = 500
)

// Objective is the aim of the twinning at one level of government, e.g.
// "regionale" or "comunale".
type Objective struct {
	Level string
	Text  string
}

// Programme is the funding frame, e.g. AGIRE POR 2007-2013, priorities 1, 4, 10.
type Programme struct {
	Name       string
	Priorities []string
}

// Details are the fields an editor writes.
type Details struct {
	Code                      string
	Title                     string
	Summary                   string
	Objectives                []Objective
	ExpectedResults           []string
	Programme                 Programme
	Origin                    Origin
	OriginRef                 string
	OfferingOrganizationIDs   []string
	ReceivingOrganizationIDs  []string
	CoordinatorOrganizationID string
	StartDate                 string
	EndDate                   string
	LiveStreamURL             string
	// TerritoryCodes are the ISTAT/NUTS codes of the parties, for filtering.
	TerritoryCodes []string
}

// Parties lists every organisation the details name, each once: offering,
// receiving, then the coordinator.
func (d *Details) Parties() []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range append(append(append([]string{}, d.OfferingOrganizationIDs...), d.ReceivingOrganizationIDs...), d.CoordinatorOrganizationID) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

var codePattern = regexp.MustCompile(`^[A-Z0-9]+([.-][A-Z0-9]+)*$`)

// NormaliseCode is how codes are stored and looked up: trimmed, upper case.
func NormaliseCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

func (d *Details) normalise() {
	d.Code = NormaliseCode(d.Code)
	d.Title = strings.TrimSpace(d.Title)
	if d.Origin.IsZero() {
		d.Origin = Direct
	}
	for i := range d.Objectives {
		d.Objectives[i].Level = strings.TrimSpace(d.Objectives[i].Level)
	}
}

// CheckNew reports what New would refuse in the details of a new
// twinning, without building it, so that a request missing what it must
// say is a 400 naming the fields before any decision on who may make it.
func CheckNew(d Details) error {
	d.Objectives = slices.Clone(d.Objectives)
	d.normalise()
	return d.Validate()
}

// Validate checks every field and reports all problems at once. A draft
// may be incomplete; what it says must be right.
func (d *Details) Validate() error {
	var v apperr.Violations
	d.validateInto(&v)
	return v.Err()
}

func (d *Details) validateInto(v *apperr.Violations) {
	switch {
	case d.Code == "":
		v.Add("code", "is required")
	case len(d.Code) > 32 || !codePattern.MatchString(d.Code):
		v.Add("code", "must be at most 32 letters and digits, optionally joined by single hyphens or dots, e.g. TOSCA-2012")
	}
	validate.Text(v, "title", d.Title, true, 200)
	validate.Text(v, "summary", d.Summary, false, 4000)
	if len(d.Objectives) > 10 {
		v.Add("objectives", "must have at most 10 entries")
	}
	levels := map[string]bool{}
	for i, o := range d.Objectives {
		f := validate.Index("objectives", i)
		validate.Text(v, f+".level", o.Level, true, 40)
		validate.Text(v, f+".text", o.Text, true, 4000)
		if o.Level != "" && levels[strings.ToLower(o.Level)] {
			v.Add(f+".level", "has an objective already: one objective per level")
		}
		levels[strings.ToLower(o.Level)] = true
	}
	if len(d.ExpectedResults) > 20 {
		v.Add("expected_results", "must have at most 20 entries")
	}
	for i, r := range d.ExpectedResults {
		f := validate.Index("expected_results", i)
		if strings.TrimSpace(r) == "" {
			v.Add(f, "must not be blank")
		}
		validate.Text(v, f, r, false, 4000)
	}
	validate.Text(v, "programme.name", d.Programme.Name, false, 200)
	validate.Labels(v, "programme.priorities", d.Programme.Priorities, 30, 40)
	switch {
	case d.Origin == Direct && d.OriginRef != "":
		v.Add("origin_ref", "must be empty for a twinning by direct agreement")
	case d.OriginRef != "":
		validate.ID(v, "origin_ref", d.OriginRef)
	}
	validate.IDs(v, "offering_organization_ids", d.OfferingOrganizationIDs, MaxParties)
	validate.IDs(v, "receiving_organization_ids", d.ReceivingOrganizationIDs, MaxParties)
	offering := map[string]bool{}
	for _, id := range d.OfferingOrganizationIDs {
		offering[id] = true
	}
	for i, id := range d.ReceivingOrganizationIDs {
		if offering[id] {
			v.Add(validate.Index("receiving_organization_ids", i), "is also an offering party: an organisation is on one side only")
		}
	}
	if d.CoordinatorOrganizationID != "" {
		validate.ID(v, "coordinator_organization_id", d.CoordinatorOrganizationID)
	}
	validate.Date(v, "start_date", d.StartDate, false)
	validate.Date(v, "end_date", d.EndDate, false)
	if d.StartDate != "" && d.EndDate != "" && d.EndDate < d.StartDate {
		v.Add("end_date", "must not be before start_date")
	}
	validate.Text(v, "live_stream_url", d.LiveStreamURL, false, 2000)
	validate.URL(v, "live_stream_url", d.LiveStreamURL)
	if len(d.TerritoryCodes) > 2*MaxParties {
		v.Addf("territory_codes", "must have at most %d entries", 2*MaxParties)
	}
	for i, c := range d.TerritoryCodes {
		validate.TerritoryCode(v, validate.Index("territory_codes", i), c)
	}
}

// completeness lists what a twinning needs before it is proposed.
func (d *Details) completeness(v *apperr.Violations) {
	if strings.TrimSpace(d.Summary) == "" {
		v.Add("summary", "is required before the twinning is proposed")
	}
	if len(d.Objectives) == 0 {
		v.Add("objectives", "must state at least one objective before the twinning is proposed")
	}
	if len(d.OfferingOrganizationIDs) == 0 {
		v.Add("offering_organization_ids", "must name at least one offering party before the twinning is proposed")
	}
	if len(d.ReceivingOrganizationIDs) == 0 {
		v.Add("receiving_organization_ids", "must name at least one receiving party before the twinning is proposed")
	}
	if d.StartDate == "" {
		v.Add("start_date", "is required before the twinning is proposed")
	}
}

// StatusChange is one move of the twinning's life: who, when and why. The
// creation is the first, from the zero status to draft.
type StatusChange struct {
	// Seq numbers the change in the twinning's history, from 1.
	Seq    int
	From   Status
	To     Status
	Actor  string
	At     time.Time
	Reason string
}

// Twinning is the aggregate.
type Twinning struct {
	ID string
	Details
	Status Status
	// History is the window of the latest status changes, oldest first;
	// HistoryCount counts them all (see window.go).
	History      []StatusChange
	HistoryCount int
	Transfers    []Transfer
	// Activities is the window of the activities last logged or changed,
	// oldest write first; ActivityCount counts every activity logged.
	Activities    []Activity
	ActivityCount int
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Version increases with every write; the etag is derived from it.
	Version int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

const (
	EventCreated   EventType = "twinning.twinning.created"
	EventProposed  EventType = "twinning.twinning.proposed"
	EventApproved  EventType = "twinning.twinning.approved"
	EventActivated EventType = "twinning.twinning.activated"
	EventSuspended EventType = "twinning.twinning.suspended"
	EventResumed   EventType = "twinning.twinning.resumed"
	EventCompleted EventType = "twinning.twinning.completed"
	EventCancelled EventType = "twinning.twinning.cancelled"
	// EventUpdated: the details were edited (Edit); no status moved.
	EventUpdated EventType = "twinning.twinning.updated"

	EventTransferStatusChanged EventType = "twinning.transfer.status_changed"
	EventActivityLogged        EventType = "twinning.activity.logged"
)

var moveEvent = map[Move]EventType{
	MovePropose: EventProposed, MoveApprove: EventApproved, MoveActivate: EventActivated, MoveSuspend: EventSuspended,
	MoveResume: EventResumed, MoveComplete: EventCompleted, MoveCancel: EventCancelled,
}

// Change is a domain event not yet published. Which fields are set depends
// on Type: StatusChange for twinning.twinning.*, the transfer fields for
// twinning.transfer.status_changed, ActivityID for twinning.activity.logged.
type Change struct {
	Type  EventType
	Actor string
	At    time.Time

	StatusChange StatusChange

	TransferID   string
	TransferFrom TransferStatus
	TransferTo   TransferStatus
	Note         string

	ActivityID string
}

// New creates a draft twinning.
func New(id string, d Details, actor string, now time.Time) (*Twinning, error) {
	d.normalise()
	if err := d.Validate(); err != nil {
		return nil, err
	}
	t := &Twinning{ID: id, Details: d, Status: Draft, CreatedAt: now, UpdatedAt: now}
	change := t.appendHistory(StatusChange{To: Draft, Actor: actor, At: now})
	t.record(Change{Type: EventCreated, Actor: actor, At: now, StatusChange: change})
	return t, nil
}

// Etag is the opaque version tag sent to clients.
func (t *Twinning) Etag() string { return `"` + strconv.FormatInt(t.Version, 10) + `"` }

// CheckEtag refuses a write based on an older version; empty skips the check.
func (t *Twinning) CheckEtag(etag string) error {
	if etag == "" {
		return nil
	}
	if strings.Trim(strings.TrimPrefix(etag, "W/"), `"`) != strconv.FormatInt(t.Version, 10) {
		return apperr.Aborted("twinning %s was changed by someone else (etag %s, current %s): reload and retry", t.Code, etag, t.Etag()).WithReason(apperr.ReasonStaleEtag)
	}
	return nil
}

// Edit replaces the details. The code changes only while the twinning is
// a draft, since others refer to it by code once it is proposed; parties
// that transfer models stay.
//
// It records EventUpdated, so that what reads the twinning's texts (the
// search index) hears of the edit in the same write.
func (t *Twinning) Edit(d Details, actor string, now time.Time) error {
	if !t.Status.Allows(MoveUpdate) {
		return ErrIllegalMove(t.Code, t.Status, MoveUpdate)
	}
	d.normalise()
	var v apperr.Violations
	d.validateInto(&v)
	if d.Code != t.Code && t.Status != Draft {
		v.Addf("code", "can change only while the twinning is a draft; it is %s", t.Status)
	}
	if t.Status != Draft {
		d.completeness(&v)
	}
	t.keepTransferParties(&v, d)
	if err := v.Err(); err != nil {
		return err
	}
	t.Details = d
	t.UpdatedAt = now
	t.record(Change{Type: EventUpdated, Actor: actor, At: now})
	return nil
}

// keepTransferParties refuses details that drop a party a transfer names.
func (t *Twinning) keepTransferParties(v *apperr.Violations, d Details) {
	offering, receiving := set(d.OfferingOrganizationIDs), set(d.ReceivingOrganizationIDs)
	for _, tr := range t.Transfers {
		if !offering[tr.FromOrganizationID] {
			v.Addf("offering_organization_ids", "must keep %s, which transfers model %s", tr.FromOrganizationID, tr.ModelCode)
		}
		if !receiving[tr.ToOrganizationID] {
			v.Addf("receiving_organization_ids", "must keep %s, which receives model %s", tr.ToOrganizationID, tr.ModelCode)
		}
	}
}

func set(ids []string) map[string]bool {
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out
}

// Move makes a state move. Suspending and cancelling need a reason;
// proposing needs complete details; completing needs every transfer to
// have an outcome. Cancelling drops the transfers that have none.
func (t *Twinning) Move(m Move, actor, reason string, now time.Time) error {
	to, ok := target[m]
	if !ok {
		return apperr.Invalid("move", "must be one of propose, approve, activate, suspend, resume, complete, cancel")
	}
	if !t.Status.Allows(m) {
		return ErrIllegalMove(t.Code, t.Status, m)
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, m == MoveCancel || m == MoveSuspend, 1000)
	if m == MovePropose {
		t.Details.validateInto(&v)
		t.Details.completeness(&v)
	}
	if err := v.Err(); err != nil {
		return err
	}
	if m == MoveComplete {
		var open []string
		for _, tr := range t.Transfers {
			if !tr.Status.IsFinal() {
				open = append(open, "model "+tr.ModelCode+" to "+tr.ToOrganizationID+" is "+tr.Status.String())
			}
		}
		if len(open) > 0 {
			return apperr.FailedPrecondition("twinning %s cannot be completed while transfers have no outcome (%s): move each to adopted, partially_adopted or dropped first",
				t.Code, strings.Join(open, "; "))
		}
	}
	change := t.appendHistory(StatusChange{From: t.Status, To: to, Actor: actor, At: now, Reason: reason})
	t.Status = to
	t.UpdatedAt = now
	t.record(Change{Type: moveEvent[m], Actor: actor, At: now, StatusChange: change})
	if m == MovePropose {
		// The catalogue counts no transfer of a draft (a draft is its
		// parties' own, and may be deleted): proposing announces each
		// transfer as it stands, an event whose from and to are equal.
		for i := range t.Transfers {
			tr := &t.Transfers[i]
			t.record(Change{Type: EventTransferStatusChanged, Actor: actor, At: now, TransferID: tr.ID, TransferFrom: tr.Status, TransferTo: tr.Status})
		}
	}
	if m == MoveCancel {
		for i := range t.Transfers {
			if tr := &t.Transfers[i]; !tr.Status.IsFinal() {
				t.setTransferStatus(tr, Dropped, actor, "twinning cancelled: "+reason, now)
			}
		}
	}
	return nil
}

// dateOf is the calendar day of now in now's location: the application's
// clock runs in the time zone of its users.
func dateOf(now time.Time) string { return now.Format(time.DateOnly) }

func (t *Twinning) record(c Change) { t.changes = append(t.changes, c) }

// Changes returns and forgets the events recorded since the last call.
func (t *Twinning) Changes() []Change {
	c := t.changes
	t.changes = nil
	return c
}

// PeekChanges returns the pending events without forgetting them.
func (t *Twinning) PeekChanges() []Change { return t.changes }

// OrganizationIDs are the parties on either side, for filtering.
func (t *Twinning) OrganizationIDs() []string {
	out := append([]string{}, t.OfferingOrganizationIDs...)
	return append(out, t.ReceivingOrganizationIDs...)
}

// PracticeIDs are the practices the twinning transfers, each once.
func (t *Twinning) PracticeIDs() []string {
	var out []string
	seen := map[string]bool{}
	for _, tr := range t.Transfers {
		if !seen[tr.PracticeID] {
			seen[tr.PracticeID] = true
			out = append(out, tr.PracticeID)
		}
	}
	return out
}

// SortKey orders twinnings newest first by creation, then id.
func (t *Twinning) SortKey() string {
	return t.CreatedAt.UTC().Format("20060102T150405.000000000") + "\x00" + t.ID
}

// ActivitiesByDate is the window of recent activities in date order (see
// Activity.SortKey).
func (t *Twinning) ActivitiesByDate() []Activity {
	return SortByDate(append([]Activity(nil), t.Activities...))
}

// SortByDate sorts activities in the log's order, by SortKey.
func SortByDate(activities []Activity) []Activity {
	sort.Slice(activities, func(i, j int) bool { return activities[i].SortKey() < activities[j].SortKey() })
	return activities
}

// Filter selects twinnings in List; zero fields do not filter.
type Filter struct {
	Status Status
	// OrganizationID matches an offering or a receiving party.
	OrganizationID string
	PracticeID     string
	// Programme matches the programme name exactly.
	Programme     string
	TerritoryCode string
	// Drafts says which drafts the caller may see; the zero value does
	// not restrict them.
	Drafts DraftVisibility
}

// DraftVisibility restricts the drafts a list shows: when Restricted, only
// drafts with an offering or receiving party among Of.
type DraftVisibility struct {
	Restricted bool
	Of         []string
}

// Shows reports whether a twinning with status and parties passes.
func (v DraftVisibility) Shows(status Status, parties []string) bool {
	if !v.Restricted || status != Draft {
		return true
	}
	for _, p := range parties {
		if slices.Contains(v.Of, p) {
			return true
		}
	}
	return false
}

// Hash identifies the filter in page tokens.
func (f Filter) Hash() uint32 {
	parts := []string{"twinning", f.Status.String(), f.OrganizationID, f.PracticeID, f.Programme, f.TerritoryCode}
	if f.Drafts.Restricted {
		parts = append(parts, "drafts-of")
		parts = append(parts, f.Drafts.Of...)
	}
	return paging.FilterHash(parts...)
}

// ErrNotFound builds the NotFound error for an id or code.
func ErrNotFound(idOrCode string) error {
	return apperr.NotFound("twinning %q not found", idOrCode).WithReason(apperr.ReasonTwinningNotFound)
}

// ErrCodeTaken is the AlreadyExists error for a duplicate code.
func ErrCodeTaken(code string) error {
	return apperr.AlreadyExists("a twinning with code %q already exists", code).WithReason(apperr.ReasonTwinningCodeTaken)
}

// Repository stores twinnings.
type Repository interface {
	// Create stores a new twinning: AlreadyExists for a taken id or code.
	Create(ctx context.Context, t *Twinning) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Twinning, error)
	// GetByCode returns NotFound for an unknown code.
	GetByCode(ctx context.Context, code string) (*Twinning, error)
	// Update loads, applies fn, and saves atomically with a version check;
	// fn may run more than once. AlreadyExists if the new code is taken.
	Update(ctx context.Context, id string, fn func(t *Twinning) error) (*Twinning, error)
	// List returns up to limit twinnings after the cursor, newest first.
	List(ctx context.Context, f Filter, after *paging.Cursor, limit int) ([]*Twinning, error)

	// The whole logs of a twinning t as loaded, of which t keeps windows
	// (window.go); each pages by its entries' SortKey.

	// Activity returns an activity of t, from its window or its log:
	// ErrActivityNotFound when neither has it.
	Activity(ctx context.Context, t *Twinning, id string) (*Activity, error)
	// Activities returns up to limit activities of t after the cursor, by date.
	Activities(ctx context.Context, t *Twinning, after *paging.Cursor, limit int) ([]Activity, error)
	// History returns up to limit status changes of t after the cursor,
	// oldest first.
	History(ctx context.Context, t *Twinning, after *paging.Cursor, limit int) ([]StatusChange, error)
	// Notes returns up to limit notes of t's transfer after the cursor,
	// oldest first: ErrTransferNotFound for a transfer t does not have.
	Notes(ctx context.Context, t *Twinning, transferID string, after *paging.Cursor, limit int) ([]Note, error)
}
