package twinning

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var now = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

func tosca() Details {
	return Details{
		Code: " tosca ", Title: "Tos.Ca. – Valorizzare le competenze dei cittadini", Summary: "Trasferimento di buone pratiche",
		Objectives:              []Objective{{Level: "regionale", Text: "Programmazione regionale"}, {Level: "comunale", Text: "Servizi integrati"}},
		ExpectedResults:         []string{"Standard regionali di certificazione"},
		Programme:               Programme{Name: "AGIRE POR 2007-2013", Priorities: []string{"1", "4", "10"}},
		OfferingOrganizationIDs: []string{"toscana", "firenze"}, ReceivingOrganizationIDs: []string{"calabria", "vibo"},
		StartDate: "2012-06-01", EndDate: "2014-06-30",
	}
}

func violations(err error) map[string]string {
	var e *apperr.Error
	out := map[string]string{}
	if errors.As(err, &e) {
		for _, v := range e.Violations {
			out[v.Field] = v.Rule
		}
	}
	return out
}

func mustNew(t *testing.T) *Twinning {
	t.Helper()
	tw, err := New("t1", tosca(), "ed", now)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

func TestNewNormalisesAndRecordsCreation(t *testing.T) {
	tw := mustNew(t)
	if tw.Code != "TOSCA" || tw.Origin != Direct || tw.Status != Draft {
		t.Fatalf("code %q origin %s status %s", tw.Code, tw.Origin, tw.Status)
	}
	if len(tw.History) != 1 || tw.History[0].To != Draft || tw.History[0].Actor != "ed" || !tw.History[0].From.IsZero() {
		t.Fatalf("history = %+v", tw.History)
	}
	changes := tw.Changes()
	if len(changes) != 1 || changes[0].Type != EventCreated || changes[0].StatusChange.To != Draft {
		t.Fatalf("changes = %+v", changes)
	}
}

func TestValidationReportsEveryField(t *testing.T) {
	d := Details{
		Code: "tos ca!", Summary: strings.Repeat("x", 4001),
		Objectives:                []Objective{{Level: "", Text: ""}, {Level: "regionale", Text: "a"}, {Level: "Regionale", Text: "b"}},
		ExpectedResults:           []string{" "},
		Programme:                 Programme{Priorities: []string{"1", "1"}},
		Origin:                    Direct,
		OriginRef:                 "need-1",
		OfferingOrganizationIDs:   []string{"toscana", "toscana"},
		ReceivingOrganizationIDs:  []string{"toscana", "bad id!"},
		CoordinatorOrganizationID: "no spaces please",
		StartDate:                 "2014-01-01", EndDate: "2013-01-01",
		LiveStreamURL:  "ftp://example.org/live",
		TerritoryCodes: []string{"calabria"},
	}
	_, err := New("t", d, "ed", now)
	if apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("want InvalidArgument, got %v", err)
	}
	got := violations(err)
	for _, field := range []string{
		"code", "title", "summary", "objectives[0].level", "objectives[0].text", "objectives[2].level", "expected_results[0]",
		"programme.priorities[1]", "origin_ref", "offering_organization_ids[1]", "receiving_organization_ids[0]",
		"receiving_organization_ids[1]", "coordinator_organization_id", "end_date", "live_stream_url", "territory_codes[0]",
	} {
		if _, ok := got[field]; !ok {
			t.Errorf("no violation for %s; got %v", field, got)
		}
	}
	_, err = New("t", Details{Code: "X1", Title: "t", StartDate: "2024-02-30"}, "ed", now)
	if violations(err)["start_date"] == "" {
		t.Errorf("an impossible date is refused: %v", err)
	}
}

// path brings a new twinning to each status through legal moves.
var path = map[Status][]Move{
	Draft:     nil,
	Proposed:  {MovePropose},
	Approved:  {MovePropose, MoveApprove},
	Active:    {MovePropose, MoveApprove, MoveActivate},
	Suspended: {MovePropose, MoveApprove, MoveActivate, MoveSuspend},
	Completed: {MovePropose, MoveApprove, MoveActivate, MoveComplete},
	Cancelled: {MovePropose, MoveCancel},
}

// legal is the lifecycle of the issue: draft → proposed → approved →
// active → completed; cancelled from any state after the draft and before
// completed (a draft is deleted: cancelled is public); active ↔ suspended.
var legal = map[Status]map[Move]Status{
	Draft:     {MovePropose: Proposed},
	Proposed:  {MoveApprove: Approved, MoveCancel: Cancelled},
	Approved:  {MoveActivate: Active, MoveCancel: Cancelled},
	Active:    {MoveSuspend: Suspended, MoveComplete: Completed, MoveCancel: Cancelled},
	Suspended: {MoveResume: Active, MoveCancel: Cancelled},
	Completed: {},
	Cancelled: {},
}

func TestStateMachineEveryMoveFromEveryState(t *testing.T) {
	for _, from := range Statuses {
		for _, m := range StateMoves {
			name := from.String() + " " + string(m)
			t.Run(name, func(t *testing.T) {
				tw := mustNew(t)
				for _, step := range path[from] {
					if err := tw.Move(step, "coord", "because", now); err != nil {
						t.Fatalf("setting up %s with %s: %v", from, step, err)
					}
				}
				tw.Changes()
				history := len(tw.History)
				err := tw.Move(m, "coord", "a reason", now.Add(time.Hour))
				want, ok := legal[from][m]
				if ok {
					if err != nil {
						t.Fatalf("legal move refused: %v", err)
					}
					if tw.Status != want {
						t.Fatalf("status = %s, want %s", tw.Status, want)
					}
					last := tw.History[len(tw.History)-1]
					if last.From != from || last.To != want || last.Actor != "coord" || last.Reason != "a reason" || !last.At.Equal(now.Add(time.Hour)) {
						t.Fatalf("history entry = %+v", last)
					}
					if c := tw.Changes(); len(c) != 1 || c[0].Type != moveEvent[m] {
						t.Fatalf("changes = %+v", c)
					}
					return
				}
				if apperr.KindOf(err) != apperr.KindFailedPrecondition {
					t.Fatalf("illegal move: err = %v, want FailedPrecondition", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, "is "+from.String()) {
					t.Errorf("message does not name the state: %s", msg)
				}
				for allowedMove := range legal[from] {
					if !strings.Contains(msg, string(allowedMove)) {
						t.Errorf("message does not name allowed move %s: %s", allowedMove, msg)
					}
				}
				if len(legal[from]) == 0 && !strings.Contains(msg, "none") {
					t.Errorf("message of a final state says nothing is allowed: %s", msg)
				}
				if tw.Status != from || len(tw.History) != history || len(tw.PeekChanges()) != 0 {
					t.Fatalf("a refused move changed the twinning: %s %d %v", tw.Status, len(tw.History), tw.PeekChanges())
				}
			})
		}
	}
}

func TestMovesThatNeedMore(t *testing.T) {
	tw := mustNew(t)
	if err := tw.Move(MovePropose, "ed", "", now); err != nil {
		t.Fatal(err)
	}
	if err := tw.Move(MoveCancel, "coord", "", now); violations(err)["reason"] == "" {
		t.Fatalf("cancel without a reason: %v", err)
	}
	incomplete, _ := New("t2", Details{Code: "T2", Title: "Bozza"}, "ed", now)
	got := violations(incomplete.Move(MovePropose, "ed", "", now))
	for _, f := range []string{"summary", "objectives", "offering_organization_ids", "receiving_organization_ids", "start_date"} {
		if got[f] == "" {
			t.Errorf("propose an incomplete draft: no violation for %s; got %v", f, got)
		}
	}
	for _, m := range []Move{MoveApprove, MoveActivate} {
		if err := tw.Move(m, "coord", "", now); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Move(MoveSuspend, "coord", " ", now); violations(err)["reason"] == "" {
		t.Fatalf("suspend without a reason: %v", err)
	}
	if err := tw.Move(Move("explode"), "coord", "", now); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("unknown move: %v", err)
	}
}

func activeWithTransfer(t *testing.T) *Twinning {
	t.Helper()
	tw := mustNew(t)
	for _, m := range []Move{MovePropose, MoveApprove, MoveActivate} {
		if err := tw.Move(m, "coord", "", now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.AddTransfer(NewTransfer{ID: "tr-a", PracticeID: "p1", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}, "ed", now); err != nil {
		t.Fatal(err)
	}
	tw.Changes()
	return tw
}

func TestTransfers(t *testing.T) {
	tw := mustNew(t)
	tr, err := tw.AddTransfer(NewTransfer{ID: "tr-a", PracticeID: "p1", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}, "ed", now)
	if err != nil || tr.Status != Planned {
		t.Fatalf("add to a draft: %+v %v", tr, err)
	}
	c := tw.Changes()
	if len(c) != 2 || c[1].Type != EventTransferStatusChanged || !c[1].TransferFrom.IsZero() || c[1].TransferTo != Planned {
		t.Fatalf("a new transfer is an event from nothing to planned: %+v", c)
	}
	_, err = tw.AddTransfer(NewTransfer{ID: "x", PracticeID: "p1", ModelCode: "A", FromOrganizationID: "calabria", ToOrganizationID: "toscana"}, "ed", now)
	if got := violations(err); got["from_organization_id"] == "" || got["to_organization_id"] == "" {
		t.Fatalf("sides swapped: %v", err)
	}
	_, err = tw.AddTransfer(NewTransfer{ID: "x"}, "ed", now)
	if got := violations(err); len(got) != 4 {
		t.Fatalf("empty transfer names practice, model, from and to: %v", got)
	}
	_, err = tw.AddTransfer(NewTransfer{ID: "tr-b", PracticeID: "p1", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}, "ed", now)
	if apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("same model to the same party twice: %v", err)
	}
	_, _, err = tw.UpdateTransfer("tr-a", TransferPatch{Status: InProgress}, "ed", now)
	if apperr.KindOf(err) != apperr.KindFailedPrecondition || !strings.Contains(err.Error(), "is draft") {
		t.Fatalf("a transfer moves only while the twinning is active: %v", err)
	}
	if err := tw.Edit(Details{Code: "TOSCA", Title: "t", OfferingOrganizationIDs: []string{"firenze"}, ReceivingOrganizationIDs: []string{"calabria"}}, "m", now); violations(err)["offering_organization_ids"] == "" {
		t.Fatalf("dropping a party that transfers a model: %v", err)
	}
}

func TestTransferStateMachine(t *testing.T) {
	later := now.Add(48 * time.Hour)
	cases := []struct {
		name  string
		steps []TransferStatus
		fails bool
	}{
		{"adopted", []TransferStatus{InProgress, Adopted}, false},
		{"partially adopted", []TransferStatus{InProgress, PartiallyAdopted}, false},
		{"dropped before starting", []TransferStatus{Dropped}, false},
		{"dropped while in progress", []TransferStatus{InProgress, Dropped}, false},
		{"adopted without starting", []TransferStatus{Adopted}, true},
		{"outcome is final", []TransferStatus{InProgress, Adopted, InProgress}, true},
		{"back to planned", []TransferStatus{InProgress, Planned}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tw := activeWithTransfer(t)
			var err error
			for _, s := range c.steps {
				if _, _, err = tw.UpdateTransfer("tr-a", TransferPatch{Status: s, Note: "step " + s.String()}, "ed", later); err != nil {
					break
				}
			}
			if c.fails != (err != nil) {
				t.Fatalf("err = %v, want failure %v", err, c.fails)
			}
			if c.fails && apperr.KindOf(err) != apperr.KindFailedPrecondition {
				t.Fatalf("illegal transfer move: %v", err)
			}
			tr, _ := tw.Transfer("tr-a")
			if !c.fails {
				if tr.Status != c.steps[len(c.steps)-1] || tr.EndDate != "2024-05-03" || len(tr.Notes) != len(c.steps) {
					t.Fatalf("transfer = %+v", tr)
				}
				if n := len(tw.Changes()); n != len(c.steps) {
					t.Fatalf("%d events for %d moves", n, len(c.steps))
				}
			}
		})
	}
	tw := activeWithTransfer(t)
	if _, changed, err := tw.UpdateTransfer("tr-a", TransferPatch{Status: Planned}, "ed", now); changed || err != nil {
		t.Fatalf("the status it already has: changed %v, %v", changed, err)
	}
	if _, _, err := tw.UpdateTransfer("nope", TransferPatch{Status: InProgress}, "ed", now); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown transfer: %v", err)
	}
}

func TestCompleteNeedsOutcomesAndCancelDropsOpenTransfers(t *testing.T) {
	tw := activeWithTransfer(t)
	if _, err := tw.AddTransfer(NewTransfer{ID: "tr-d", PracticeID: "p1", ModelCode: "D", FromOrganizationID: "firenze", ToOrganizationID: "vibo"}, "ed", now); err != nil {
		t.Fatal(err)
	}
	_, _, _ = tw.UpdateTransfer("tr-a", TransferPatch{Status: InProgress}, "ed", now)
	_, _, _ = tw.UpdateTransfer("tr-a", TransferPatch{Status: Adopted}, "ed", now)
	err := tw.Move(MoveComplete, "coord", "", now)
	if apperr.KindOf(err) != apperr.KindFailedPrecondition || !strings.Contains(err.Error(), "model D") {
		t.Fatalf("complete with an open transfer: %v", err)
	}
	tw.Changes()
	if err := tw.Move(MoveCancel, "coord", "fondi revocati", now); err != nil {
		t.Fatal(err)
	}
	d, _ := tw.Transfer("tr-d")
	a, _ := tw.Transfer("tr-a")
	if d.Status != Dropped || a.Status != Adopted {
		t.Fatalf("after cancel: D %s, A %s", d.Status, a.Status)
	}
	c := tw.Changes()
	if len(c) != 2 || c[0].Type != EventCancelled || c[1].TransferID != "tr-d" || c[1].TransferTo != Dropped {
		t.Fatalf("cancel events = %+v", c)
	}
}

func TestMilestoneStates(t *testing.T) {
	tw := mustNew(t)
	m, err := tw.LogActivity(Activity{ID: "m1", Title: "Rapporto intermedio", Milestone: true, DueDate: "2024-05-10"}, "ed", now)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != MilestoneKind {
		t.Fatalf("a milestone without a kind is of kind milestone: %s", m.Kind)
	}
	for _, c := range []struct {
		today string
		want  MilestoneState
	}{{"2024-05-01", MilestoneDue}, {"2024-05-10", MilestoneDue}, {"2024-05-11", MilestoneOverdue}} {
		if got := m.State(c.today); got != c.want {
			t.Errorf("on %s: %s, want %s", c.today, got, c.want)
		}
	}
	// The clock is the caller's: a milestone done on a later day is dated that day.
	doneDay := time.Date(2024, 5, 12, 23, 30, 0, 0, time.FixedZone("CEST", 2*3600))
	done, err := tw.UpdateActivity("m1", func(a *Activity) { a.Done = true }, "ed", doneDay)
	if err != nil {
		t.Fatal(err)
	}
	if done.State("2024-06-01") != MilestoneDone || done.Date != "2024-05-12" {
		t.Fatalf("done milestone: %s dated %s", done.State("2024-06-01"), done.Date)
	}
	workshop, _ := tw.LogActivity(Activity{ID: "w1", Kind: Workshop, Title: "Workshop", Date: "2024-05-02"}, "ed", now)
	if workshop.State("2030-01-01") != NotAMilestone {
		t.Fatal("an activity that is not a milestone has no state")
	}
	logged := 0
	for _, c := range tw.Changes() {
		if c.Type == EventActivityLogged {
			logged++
		}
	}
	if logged != 3 {
		t.Fatalf("planning, reaching a milestone and logging a workshop are three activity events, got %d", logged)
	}
	if log := tw.ActivitiesByDate(); log[0].ID != "w1" || log[1].ID != "m1" {
		t.Fatalf("log by date: %s, %s", log[0].ID, log[1].ID)
	}
}

func TestActivityValidation(t *testing.T) {
	tw := mustNew(t)
	_, err := tw.LogActivity(Activity{
		ID: "a", DueDate: "2024-01-01", Participants: []string{"", "x"},
		Links: []Link{{Title: "", URL: "javascript:alert(1)"}},
	}, "ed", now)
	got := violations(err)
	for _, f := range []string{"kind", "title", "date", "due_date", "participants[0]", "links[0].title", "links[0].url"} {
		if got[f] == "" {
			t.Errorf("no violation for %s; got %v", f, got)
		}
	}
	_, err = tw.LogActivity(Activity{ID: "b", Kind: MilestoneKind, Title: "Senza scadenza"}, "ed", now)
	if violations(err)["due_date"] == "" {
		t.Errorf("a milestone needs a due date: %v", err)
	}
}

func TestEditKeepsTheCodeOnceProposed(t *testing.T) {
	tw := mustNew(t)
	if err := tw.Move(MovePropose, "ed", "", now); err != nil {
		t.Fatal(err)
	}
	d := tw.Details
	d.Code = "OTHER"
	if err := tw.Edit(d, "m", now); violations(err)["code"] == "" {
		t.Fatalf("code change of a proposed twinning: %v", err)
	}
	d = tw.Details
	d.Summary = ""
	if err := tw.Edit(d, "m", now); violations(err)["summary"] == "" {
		t.Fatalf("a proposed twinning stays complete: %v", err)
	}
}

func TestEtag(t *testing.T) {
	tw := mustNew(t)
	tw.Version = 3
	if tw.CheckEtag(tw.Etag()) != nil || tw.CheckEtag(`W/"3"`) != nil || tw.CheckEtag("") != nil {
		t.Fatal("current etag refused")
	}
	if err := tw.CheckEtag(`"2"`); apperr.KindOf(err) != apperr.KindAborted {
		t.Fatalf("stale etag: %v", err)
	}
}

// Proposing a draft announces each of its transfers as it stands (from
// and to equal): the catalogue counts no draft's transfers, and learns
// them so once the twinning is out of draft.
func TestProposingAnnouncesTheTransfers(t *testing.T) {
	tw := mustNew(t)
	for _, id := range []string{"tr-a", "tr-b"} {
		if _, err := tw.AddTransfer(NewTransfer{ID: id, PracticeID: "p1", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}, "ed", now); err != nil {
			if _, err := tw.AddTransfer(NewTransfer{ID: id, PracticeID: "p1", ModelCode: "B", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}, "ed", now); err != nil {
				t.Fatal(err)
			}
		}
	}
	tw.Changes()
	if err := tw.Move(MovePropose, "coord", "", now); err != nil {
		t.Fatal(err)
	}
	c := tw.Changes()
	if len(c) != 3 || c[0].Type != EventProposed {
		t.Fatalf("changes = %+v", c)
	}
	for i, tr := range []string{"tr-a", "tr-b"} {
		if ch := c[i+1]; ch.Type != EventTransferStatusChanged || ch.TransferID != tr || ch.TransferFrom != Planned || ch.TransferTo != Planned {
			t.Errorf("announcement %d = %+v", i, ch)
		}
	}
	// Later moves announce nothing.
	if err := tw.Move(MoveApprove, "coord", "", now); err != nil {
		t.Fatal(err)
	}
	if c := tw.Changes(); len(c) != 1 {
		t.Fatalf("approving: %+v", c)
	}
}
