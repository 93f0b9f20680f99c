package twinning

import (
	"strings"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/validate"
)

// Link is an attachment or a recording by reference.
type Link struct {
	Title string
	URL   string
}

// Activity is a dated entry of the twinning's log, or a milestone: a
// planned entry with a due date, done or not.
type Activity struct {
	ID          string
	Kind        ActivityKind
	Title       string
	Description string
	// Date is the day it took place (YYYY-MM-DD); a milestone gets it when done.
	Date         string
	Participants []string
	Outcome      string
	Links        []Link
	Milestone    bool
	DueDate      string
	Done         bool
	LoggedBy     string
	CreatedAt    time.Time
	// Rev is the version of the twinning whose write last changed the
	// activity: the log keeps the newest (see window.go).
	Rev int64
}

// SortKey orders the log by date: an activity by the day it took place, a
// milestone not yet done by its due date; then by when it was logged, and
// its id.
func (a Activity) SortKey() string {
	return a.sortDate() + "\x00" + a.CreatedAt.UTC().Format("20060102T150405.000000000") + "\x00" + a.ID
}

// State is how the activity stands on the day today (YYYY-MM-DD): a
// milestone is done, due (today or later) or overdue; other activities
// have no state.
func (a Activity) State(today string) MilestoneState {
	switch {
	case !a.Milestone:
		return NotAMilestone
	case a.Done:
		return MilestoneDone
	case a.DueDate < today:
		return MilestoneOverdue
	}
	return MilestoneDue
}

// sortDate is where the activity sits in the log.
func (a Activity) sortDate() string {
	if a.Date != "" {
		return a.Date
	}
	return a.DueDate
}

// normalise makes the milestone fields agree with each other: the kind
// "milestone" is a milestone, a milestone without a kind is of that kind,
// and an activity that is not a milestone is neither due nor done.
func (a *Activity) normalise(now time.Time) {
	a.Title = strings.TrimSpace(a.Title)
	if a.Kind == MilestoneKind {
		a.Milestone = true
	}
	if a.Milestone && a.Kind.IsZero() {
		a.Kind = MilestoneKind
	}
	if !a.Milestone {
		a.Done = false
	}
	if a.Milestone && a.Done && a.Date == "" {
		a.Date = dateOf(now)
	}
}

// Validate checks every field of the activity and reports all problems.
func (a Activity) Validate() error {
	var v apperr.Violations
	a.validateInto(&v)
	return v.Err()
}

func (a Activity) validateInto(v *apperr.Violations) {
	if a.Kind.IsZero() {
		v.Add("kind", "is required: workshop, study_visit, training, webinar, live_stream, steering_meeting, report or milestone")
	}
	validate.Text(v, "title", a.Title, true, 200)
	validate.Text(v, "description", a.Description, false, 10000)
	validate.Date(v, "date", a.Date, !a.Milestone)
	if a.Milestone {
		validate.Date(v, "due_date", a.DueDate, true)
	} else if a.DueDate != "" {
		v.Add("due_date", "is for milestones only: set milestone or leave it empty")
	}
	validate.Labels(v, "participants", a.Participants, 100, 200)
	validate.Text(v, "outcome", a.Outcome, false, 10000)
	if len(a.Links) > 20 {
		v.Add("links", "must have at most 20 entries")
	}
	for i, l := range a.Links {
		f := validate.Index("links", i)
		validate.Text(v, f+".title", l.Title, true, 200)
		validate.Text(v, f+".url", l.URL, true, 2000)
		validate.URL(v, f+".url", l.URL)
	}
}

// Activity returns the activity with id from the window of recent ones,
// or false: an older one is in the log (see Recall).
func (t *Twinning) Activity(id string) (*Activity, bool) {
	for i := range t.Activities {
		if t.Activities[i].ID == id {
			return &t.Activities[i], true
		}
	}
	return nil, false
}

// LogActivity adds an entry to the log or plans a milestone.
func (t *Twinning) LogActivity(a Activity, actor string, now time.Time) (*Activity, error) {
	if !t.Status.Allows(MoveLogActivity) {
		return nil, ErrIllegalMove(t.Code, t.Status, MoveLogActivity)
	}
	a.normalise(now)
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if t.ActivityCount >= MaxActivities {
		return nil, apperr.FailedPrecondition("twinning %s has %d activities, the most one twinning may log", t.Code, MaxActivities).WithReason(apperr.ReasonLimitReached)
	}
	a.LoggedBy, a.CreatedAt = actor, now
	t.ActivityCount++
	logged := t.putActivity(a)
	t.UpdatedAt = now
	t.record(Change{Type: EventActivityLogged, Actor: actor, At: now, ActivityID: a.ID})
	return logged, nil
}

// UpdateActivity changes an activity, e.g. marks a milestone done, which
// logs it as having happened.
func (t *Twinning) UpdateActivity(id string, patch func(a *Activity), actor string, now time.Time) (*Activity, error) {
	a, ok := t.Activity(id)
	if !ok {
		return nil, ErrActivityNotFound(t.Code, id)
	}
	if !t.Status.Allows(MoveLogActivity) {
		return nil, ErrIllegalMove(t.Code, t.Status, MoveLogActivity)
	}
	next := *a
	next.Participants = append([]string(nil), a.Participants...)
	next.Links = append([]Link(nil), a.Links...)
	patch(&next)
	next.ID, next.LoggedBy, next.CreatedAt = a.ID, a.LoggedBy, a.CreatedAt
	next.normalise(now)
	if err := next.Validate(); err != nil {
		return nil, err
	}
	reached := next.Milestone && next.Done && !(a.Milestone && a.Done)
	updated := t.putActivity(next)
	t.UpdatedAt = now
	if reached {
		t.record(Change{Type: EventActivityLogged, Actor: actor, At: now, ActivityID: next.ID})
	}
	return updated, nil
}

// ErrActivityNotFound is the NotFound error for an activity of a twinning.
func ErrActivityNotFound(code, id string) error {
	return apperr.NotFound("twinning %s has no activity %q", code, id).WithReason(apperr.ReasonActivityNotFound)
}
