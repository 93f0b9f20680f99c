package report

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var t0 = time.Date(2015, 7, 1, 9, 0, 0, 0, time.UTC)

func draft(t *testing.T) *Report {
	t.Helper()
	start, end, err := QuarterPeriod("2015-Q2")
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Report{ID: "r-1", TwinningID: "tw-1", TwinningTitle: "Tos.Ca.", Kind: Quarterly, Quarter: "2015-Q2", PeriodStart: start, PeriodEnd: end,
		Sections: []Section{{Key: SectionSummary, Markdown: "Sintesi"}}}, "member:editor", t0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestQuartersAreCalendarQuarters(t *testing.T) {
	for q, want := range map[string][2]string{
		"2015-Q1": {"2015-01-01", "2015-03-31"}, "2015-Q2": {"2015-04-01", "2015-06-30"},
		"2016-Q1": {"2016-01-01", "2016-03-31"}, "2015-Q4": {"2015-10-01", "2015-12-31"},
	} {
		start, end, err := QuarterPeriod(q)
		if err != nil || start != want[0] || end != want[1] {
			t.Errorf("%s: %s..%s %v, want %s..%s", q, start, end, err, want[0], want[1])
		}
	}
	for _, bad := range []string{"2015-Q5", "2015-Q0", "15-Q1", "2015Q1", ""} {
		if _, _, err := QuarterPeriod(bad); apperr.KindOf(err) != apperr.KindInvalidArgument {
			t.Errorf("%q: %v, want InvalidArgument", bad, err)
		}
	}
}

func TestNewNamesWhatIsMissing(t *testing.T) {
	_, err := New(Report{Kind: Quarterly, PeriodStart: "2015-04-01", PeriodEnd: "2015-06-30"}, "a", t0)
	if err == nil || !strings.Contains(err.Error(), "quarter") {
		t.Errorf("a quarterly report without a quarter: %v", err)
	}
	_, err = New(Report{Kind: Final, Quarter: "2015-Q2", PeriodStart: "2015-01-01", PeriodEnd: "2016-06-30"}, "a", t0)
	if err == nil || !strings.Contains(err.Error(), "quarter") {
		t.Errorf("a final report with a quarter: %v", err)
	}
	_, err = New(Report{PeriodStart: "2015-01-01", PeriodEnd: "2016-06-30"}, "a", t0)
	if err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("a report of no kind: %v", err)
	}
}

func TestLifeDraftSubmittedApprovedOrReturned(t *testing.T) {
	r := draft(t)
	if got := r.Changes(); len(got) != 1 || got[0].Type != EventCreated {
		t.Fatalf("created: %v", got)
	}
	err := r.Move(MoveApprove, "member:coordinator", "", t0)
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind != apperr.KindFailedPrecondition || e.Move == nil || e.Move.From != "draft" ||
		err.Error() != "the report is draft: approve is not allowed (allowed from draft: submit)" {
		t.Fatalf("approve a draft: %v", err)
	}
	if err := r.Move(MoveSubmit, "member:editor", "", t0); err != nil || r.State != Submitted {
		t.Fatalf("submit: %v %s", err, r.State)
	}
	if err := r.Edit([]Section{{Key: SectionSummary, Markdown: "x"}}, t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Errorf("edit a submitted report: %v", err)
	}
	if err := r.Move(MoveReturn, "member:coordinator", "  ", t0); apperr.KindOf(err) != apperr.KindInvalidArgument || r.State != Submitted {
		t.Errorf("return without a reason: %v %s", err, r.State)
	}
	if err := r.Move(MoveReturn, "member:coordinator", "Manca la sintesi.", t0); err != nil || r.State != Draft || r.ReturnReason != "Manca la sintesi." {
		t.Fatalf("return: %v %s %q", err, r.State, r.ReturnReason)
	}
	if err := r.Edit([]Section{{Key: SectionSummary, Markdown: "Sintesi completa"}, {Key: SectionAdoption, Markdown: "Esiti"}}, t0); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.Section(SectionSummary); s.Markdown != "Sintesi completa" {
		t.Errorf("summary after the edit: %q", s.Markdown)
	}
	for _, m := range []Move{MoveSubmit, MoveApprove} {
		if err := r.Move(m, "member:x", "", t0); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if r.State != Approved {
		t.Fatalf("state %s", r.State)
	}
	for _, m := range []Move{MoveSubmit, MoveApprove, MoveReturn} {
		if err := r.Move(m, "member:x", "why", t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
			t.Errorf("%s an approved report: %v", m, err)
		}
	}
	var types []EventType
	for _, c := range r.Changes() {
		types = append(types, c.Type)
	}
	want := []EventType{EventSubmitted, EventReturned, EventSubmitted, EventApproved}
	if len(types) != len(want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Errorf("event %d: %s, want %s", i, types[i], want[i])
		}
	}
	if len(r.History) != 5 {
		t.Errorf("%d moves in the history, want 5", len(r.History))
	}
}

func TestEditRefusesUnknownAndDuplicateSections(t *testing.T) {
	r := draft(t)
	err := r.Edit([]Section{{Key: "nonsense"}, {Key: SectionSummary}, {Key: SectionSummary}, {Key: SectionAdoption, Markdown: strings.Repeat("x", MaxSectionLen+1)}}, t0)
	var e *apperr.Error
	if !errors.As(err, &e) || len(e.Violations) != 3 {
		t.Fatalf("edit: %v", err)
	}
	for i, field := range []string{"report.sections[0].key", "report.sections[2].key", "report.sections[3].markdown"} {
		if e.Violations[i].Field != field {
			t.Errorf("violation %d names %s, want %s", i, e.Violations[i].Field, field)
		}
	}
	if s, _ := r.Section(SectionSummary); s.Markdown != "Sintesi" {
		t.Errorf("a refused edit changed the summary to %q", s.Markdown)
	}
}

func TestEtagFollowsTheVersion(t *testing.T) {
	r := draft(t)
	r.Version = 3
	if r.Etag() != `"3"` || r.CheckEtag(`"3"`) != nil || r.CheckEtag(`W/"3"`) != nil || r.CheckEtag("") != nil {
		t.Errorf("etag %s refused", r.Etag())
	}
	if err := r.CheckEtag(`"2"`); apperr.KindOf(err) != apperr.KindAborted {
		t.Errorf("stale etag: %v", err)
	}
}
