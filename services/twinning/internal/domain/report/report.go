// Package report is the aggregate of a twinning's report: Markdown
// sections drafted from what happened in a period, and a life draft →
// submitted → approved, or submitted → draft again when a coordinator
// returns it with a reason. An approved report is public and final.
package report

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
)

// Kind is what a report covers.
type Kind string

const (
	// Quarterly covers one calendar quarter.
	Quarterly Kind = "quarterly"
	// Final covers the whole twinning.
	Final Kind = "final"
)

// State is where a report stands.
type State string

const (
	Draft     State = "draft"
	Submitted State = "submitted"
	Approved  State = "approved"
)

// Move is a state move.
type Move string

const (
	MoveSubmit  Move = "submit"
	MoveApprove Move = "approve"
	MoveReturn  Move = "return"
)

var moves = map[State][]Move{Draft: {MoveSubmit}, Submitted: {MoveApprove, MoveReturn}, Approved: nil}

var moveTarget = map[Move]State{MoveSubmit: Submitted, MoveApprove: Approved, MoveReturn: Draft}

// EventType names what happened; it is also the event subject, on the
// twinning stream.
type EventType string

const (
	EventCreated   EventType = "twinning.report.created"
	EventSubmitted EventType = "twinning.report.submitted"
	EventApproved  EventType = "twinning.report.approved"
	EventReturned  EventType = "twinning.report.returned"
)

var moveEvent = map[Move]EventType{MoveSubmit: EventSubmitted, MoveApprove: EventApproved, MoveReturn: EventReturned}

// Section keys, in the order a report shows them.
const (
	SectionSummary    = "summary"
	SectionActivities = "activities"
	SectionMilestones = "milestones"
	SectionTransfers  = "transfers"
	SectionAdoption   = "adoption"
	SectionDiscussion = "discussion"
	SectionObjectives = "objectives"
)

// SectionKeys are every section a report has, in order.
var SectionKeys = []string{SectionSummary, SectionActivities, SectionMilestones, SectionTransfers, SectionAdoption, SectionDiscussion, SectionObjectives}

// SectionTitles are the headings, in Italian, the language of the reports.
var SectionTitles = map[string]string{
	SectionSummary:    "Sintesi del periodo",
	SectionActivities: "Attività svolte",
	SectionMilestones: "Tappe: svolte, in scadenza, in ritardo",
	SectionTransfers:  "Trasferimenti: cambi di stato e note",
	SectionAdoption:   "Esiti dell'adozione",
	SectionDiscussion: "Discussione del periodo",
	SectionObjectives: "Obiettivi e risultati attesi a confronto con quanto avvenuto",
}

// MaxSectionLen bounds a section's Markdown, in characters.
const MaxSectionLen = 20000

// Section is one part of the report.
type Section struct {
	Key      string
	Markdown string
}

// Discussion are the figures of the period's discussion.
type Discussion struct {
	Threads, Posts, Participants, Stories int
}

// StateChange is one move.
type StateChange struct {
	From, To State
	Actor    string
	At       time.Time
	Reason   string
}

// Report is the aggregate.
type Report struct {
	ID            string
	TwinningID    string
	TwinningCode  string
	TwinningTitle string
	Kind          Kind
	// Quarter is YYYY-Qn for a quarterly report.
	Quarter     string
	PeriodStart string
	PeriodEnd   string
	Sections    []Section
	State       State
	// ReturnReason is why a coordinator last returned it.
	ReturnReason string
	Discussion   Discussion
	History      []StateChange
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version increases with every write; the etag is derived from it.
	Version int64
	// RequestKey is the caller and request id that drafted it, so that
	// their retry gets it back; empty without a request id.
	RequestKey string

	changes []Change
}

// Change is a domain event not yet published.
type Change struct {
	Type  EventType
	Actor string
	At    time.Time
	From  State
	To    State
}

var quarterPattern = regexp.MustCompile(`^(\d{4})-Q([1-4])$`)

// QuarterPeriod is the first and last day of a quarter "YYYY-Qn".
func QuarterPeriod(q string) (start, end string, err error) {
	m := quarterPattern.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return "", "", apperr.Invalid("quarter", "must be a year and a quarter, YYYY-Qn, e.g. 2015-Q2")
	}
	year, _ := strconv.Atoi(m[1])
	n, _ := strconv.Atoi(m[2])
	first := time.Date(year, time.Month(3*(n-1)+1), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 3, -1)
	return first.Format(time.DateOnly), last.Format(time.DateOnly), nil
}

// QuarterOf is the quarter, YYYY-Qn, of a day YYYY-MM-DD.
func QuarterOf(day string) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d-Q%d", d.Year(), (int(d.Month())-1)/3+1)
}

// Title is the report's title.
func (r *Report) Title() string {
	if r.Kind == Final {
		return "Rapporto finale – " + r.TwinningTitle
	}
	return fmt.Sprintf("Rapporto trimestrale %s – %s", r.Quarter, r.TwinningTitle)
}

// New makes a draft with the drafted sections.
func New(r Report, actor string, now time.Time) (*Report, error) {
	var v apperr.Violations
	switch r.Kind {
	case Quarterly:
		if r.Quarter == "" {
			v.Add("quarter", "is required for a quarterly report: YYYY-Qn, e.g. 2015-Q2")
		} else if !quarterPattern.MatchString(r.Quarter) {
			v.Add("quarter", "must be a year and a quarter, YYYY-Qn, e.g. 2015-Q2")
		}
	case Final:
		if r.Quarter != "" {
			v.Add("quarter", "must be empty for a final report, which covers the whole twinning")
		}
	default:
		v.Add("kind", "is required: quarterly or final")
	}
	if err := v.Err(); err != nil {
		// The period follows from the kind and the quarter: name those.
		return nil, err
	}
	validate.Date(&v, "period_start", r.PeriodStart, true)
	validate.Date(&v, "period_end", r.PeriodEnd, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r.State = Draft
	r.CreatedBy = actor
	r.CreatedAt, r.UpdatedAt = now, now
	r.History = []StateChange{{To: Draft, Actor: actor, At: now}}
	r.changes = []Change{{Type: EventCreated, Actor: actor, At: now, To: Draft}}
	return &r, nil
}

// Section returns the section with key.
func (r *Report) Section(key string) (*Section, bool) {
	for i := range r.Sections {
		if r.Sections[i].Key == key {
			return &r.Sections[i], true
		}
	}
	return nil, false
}

// Etag is the opaque version tag sent to clients.
func (r *Report) Etag() string { return `"` + strconv.FormatInt(r.Version, 10) + `"` }

// CheckEtag refuses a write based on an older version; empty skips it.
func (r *Report) CheckEtag(etag string) error {
	if etag == "" {
		return nil
	}
	if strings.Trim(strings.TrimPrefix(etag, "W/"), `"`) != strconv.FormatInt(r.Version, 10) {
		return apperr.Aborted("the report was changed by someone else (etag %s, current %s): reload and retry", etag, r.Etag()).WithReason(apperr.ReasonStaleEtag)
	}
	return nil
}

// Edit rewrites the sections named in edits, by key; the others stay. Only
// a draft is edited.
func (r *Report) Edit(edits []Section, now time.Time) error {
	if r.State != Draft {
		return apperr.FailedPrecondition("the report is %s: only a draft can be edited", r.State).
			WithMove("reports/"+r.ID, string(r.State), "edit", names(moves[r.State])...)
	}
	var v apperr.Violations
	seen := map[string]bool{}
	for i, e := range edits {
		f := validate.Index("report.sections", i)
		if _, ok := SectionTitles[e.Key]; !ok {
			v.Add(f+".key", "is not a section of a report")
			continue
		}
		if seen[e.Key] {
			v.Add(f+".key", "names a section twice")
		}
		seen[e.Key] = true
		validate.Text(&v, f+".markdown", e.Markdown, false, MaxSectionLen)
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, e := range edits {
		if s, ok := r.Section(e.Key); ok {
			s.Markdown = e.Markdown
		} else {
			r.Sections = append(r.Sections, e)
		}
	}
	r.UpdatedAt = now
	return nil
}

func names(ms []Move) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

// ErrIllegalMove is the FailedPrecondition of a move the state refuses; it
// names the state and the moves allowed from it.
func ErrIllegalMove(r *Report, m Move) error {
	allowed := "none"
	if n := names(moves[r.State]); len(n) > 0 {
		allowed = strings.Join(n, ", ")
	}
	return apperr.FailedPrecondition("the report is %s: %s is not allowed (allowed from %s: %s)", r.State, m, r.State, allowed).
		WithMove("reports/"+r.ID, string(r.State), string(m), names(moves[r.State])...)
}

// Allows reports whether the state allows m.
func (s State) Allows(m Move) bool {
	for _, a := range moves[s] {
		if a == m {
			return true
		}
	}
	return false
}

// Move makes a state move; returning needs a reason.
func (r *Report) Move(m Move, actor, reason string, now time.Time) error {
	if !r.State.Allows(m) {
		return ErrIllegalMove(r, m)
	}
	reason = strings.TrimSpace(reason)
	var v apperr.Violations
	if m == MoveReturn {
		validate.Text(&v, "reason", reason, true, 2000)
	} else {
		validate.Text(&v, "reason", reason, false, 2000)
	}
	if err := v.Err(); err != nil {
		return err
	}
	from := r.State
	r.State = moveTarget[m]
	if m == MoveReturn {
		r.ReturnReason = reason
	}
	r.History = append(r.History, StateChange{From: from, To: r.State, Actor: actor, At: now, Reason: reason})
	if len(r.History) > MaxHistory {
		r.History = r.History[len(r.History)-MaxHistory:]
	}
	r.UpdatedAt = now
	r.changes = append(r.changes, Change{Type: moveEvent[m], Actor: actor, At: now, From: from, To: r.State})
	return nil
}

// MaxHistory is how many moves a report keeps.
const MaxHistory = 50

// Changes returns and forgets the events recorded since the last call.
func (r *Report) Changes() []Change {
	c := r.changes
	r.changes = nil
	return c
}

// PeekChanges returns the recorded events without forgetting them.
func (r *Report) PeekChanges() []Change { return r.changes }

// SortKey orders a twinning's reports: newest period first (the stores
// list descending), then by creation.
func (r *Report) SortKey() string {
	return r.TwinningID + "\x00" + r.PeriodEnd + "\x00" + r.CreatedAt.UTC().Format("20060102T150405.000") + "\x00" + r.ID
}

// ErrNotFound is the NotFound of a report.
func ErrNotFound(id string) error {
	return apperr.NotFound("report %q not found", id).WithReason(apperr.ReasonReportNotFound)
}

// Repository stores reports.
type Repository interface {
	Create(ctx context.Context, r *Report) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Report, error)
	// Update loads, applies fn, and saves atomically with a version check.
	Update(ctx context.Context, id string, fn func(r *Report) error) (*Report, error)
	// List returns up to limit reports of a twinning after the cursor,
	// newest period first; approvedOnly leaves out the others.
	List(ctx context.Context, twinningID string, approvedOnly bool, after *paging.Cursor, limit int) ([]*Report, error)
}
