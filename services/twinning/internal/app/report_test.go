package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/adapters"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/report"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

type fakeDiscussion struct {
	period app.DiscussionPeriod
	err    error
	asked  []string
}

func (d *fakeDiscussion) Period(_ context.Context, twinningID, from, to string) (app.DiscussionPeriod, error) {
	d.asked = append(d.asked, twinningID+" "+from+".."+to)
	return d.period, d.err
}

func reportCaller(roles []string, orgs ...string) context.Context {
	return auth.WithCaller(context.Background(), auth.Caller{MemberID: "m-" + strings.Join(orgs, "-") + strings.Join(roles, "-"), Roles: append([]string{auth.RoleMember}, roles...), Organizations: orgs})
}

func section(r *report.Report, key string) string {
	s, _ := r.Section(key)
	if s == nil {
		return ""
	}
	return s.Markdown
}

// The Q2 2024 report of an active twinning names the activity of the
// quarter and not the others, the overdue milestone, the transfer's
// adoption with its note and its outcome, the discussion's figures, and
// the objectives; with the discussion service down it is drafted all the
// same and says the figures are missing.
func TestReportsAreDraftedFromWhatHappened(t *testing.T) {
	f := newFixture()
	tw := f.activeTwinning(t)
	tr, err := f.app.AddTransfer.Handle(staff, app.AddTransfer{TwinningID: tw.ID, Transfer: twinning.NewTransfer{PracticeID: "tos-ca", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}, Actor: "ed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []twinning.TransferPatch{{Status: twinning.InProgress}, {Status: twinning.Adopted, Note: "Trio adottato con delibera."}} {
		if _, err := f.app.UpdateTransfer.Handle(staff, app.UpdateTransfer{TwinningID: tw.ID, TransferID: tr.ID, Patch: p, Actor: "ed"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []twinning.Activity{
		{Kind: twinning.Workshop, Title: "Workshop di maggio", Date: "2024-05-10", Participants: []string{"Regione Calabria"}},
		{Kind: twinning.StudyVisit, Title: "Visita di gennaio", Date: "2024-01-20"},
		{Kind: twinning.MilestoneKind, Title: "Piano operativo", Milestone: true, DueDate: "2024-04-15"},
	} {
		if _, err := f.app.LogActivity.Handle(staff, app.LogActivity{TwinningID: tw.ID, Activity: a, Actor: "ed"}); err != nil {
			t.Fatal(err)
		}
	}
	disc := &fakeDiscussion{period: app.DiscussionPeriod{Threads: 1, Posts: 7, Participants: 3, Stories: 1, ThreadTitles: []string{"Discussione generale"}, StoryTitles: []string{"La nostra visita"}}}
	reports := app.NewReports(app.Deps{Twinnings: f.repo, Catalog: f.catalog, Now: func() time.Time { return *f.clock }}, adapters.NewReportMemoryRepository(), disc)
	r, err := reports.Create(staff, app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly, Quarter: "2024-Q2", Actor: "ed"})
	if err != nil {
		t.Fatal(err)
	}
	if r.PeriodStart != "2024-04-01" || r.PeriodEnd != "2024-06-30" || r.State != report.Draft || len(disc.asked) != 1 || disc.asked[0] != tw.ID+" 2024-04-01..2024-06-30" {
		t.Fatalf("report %+v, discussion asked %v", r, disc.asked)
	}
	for key, want := range map[string][]string{
		report.SectionActivities: {"**10/05/2024** – Workshop di maggio (workshop). Partecipanti: Regione Calabria"},
		report.SectionMilestones: {"Piano operativo – **in ritardo**: scadenza 15/04/2024"},
		report.SectionTransfers:  {"### Modello A – Trio", "da Regione Toscana a Regione Calabria", "**adottato**", "01/05/2024: avviato", "01/05/2024: adottato", "nota: Trio adottato con delibera."},
		report.SectionAdoption:   {"Su 1 modello: adottati 1, adottati in parte 0", "Modello A (Trio) presso Regione Calabria: **adottato** il 01/05/2024"},
		report.SectionDiscussion: {"7 messaggi in 1 discussione attiva, con 3 partecipanti; 1 storia pubblicata", "- Discussione generale", "- La nostra visita"},
		report.SectionObjectives: {"**Obiettivo regionale.** o", "1 attività svolta, 1 tappa da riportare; modelli adottati 1, adottati in parte 0, su 1 in tutto."},
		report.SectionSummary:    {"Nel periodo: 1 attività svolta; 1 tappa da riportare (svolte, in scadenza o in ritardo)."},
	} {
		for _, w := range want {
			if got := section(r, key); !strings.Contains(got, w) {
				t.Errorf("section %s has no %q:\n%s", key, w, got)
			}
		}
	}
	if got := section(r, report.SectionActivities); strings.Contains(got, "Visita di gennaio") {
		t.Errorf("the activity of January is in the Q2 report:\n%s", got)
	}
	if r.Discussion != (report.Discussion{Threads: 1, Posts: 7, Participants: 3, Stories: 1}) {
		t.Errorf("figures %+v", r.Discussion)
	}

	disc.err = apperr.Unavailable(errors.New("down"), "discussion service unreachable")
	r, err = reports.Create(staff, app.CreateReport{TwinningID: tw.ID, Kind: report.Final, Actor: "ed"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(section(r, report.SectionDiscussion), "Non è stato possibile leggere i dati della discussione") || r.PeriodStart != "2012-06-01" {
		t.Errorf("final report with the discussion down: %s..%s %q", r.PeriodStart, r.PeriodEnd, section(r, report.SectionDiscussion))
	}
}

// Who may do what with a report, and what its state refuses.
func TestReportPolicyAndStates(t *testing.T) {
	f := newFixture()
	tw := f.activeTwinning(t)
	reports := app.NewReports(app.Deps{Twinnings: f.repo, Catalog: f.catalog, Now: func() time.Time { return *f.clock }}, adapters.NewReportMemoryRepository(), nil)
	calabria := reportCaller([]string{auth.RoleEditor}, "calabria")
	outsider := reportCaller([]string{auth.RoleEditor}, "other")
	coordinator := reportCaller([]string{auth.RoleCoordinator})
	anonymous := context.Background()

	quarter := app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly, Quarter: "2024-Q2"}
	for name, c := range map[string]struct {
		ctx  context.Context
		kind apperr.Kind
	}{"anonymous": {anonymous, apperr.KindUnauthenticated}, "an editor of no party": {outsider, apperr.KindPermissionDenied}} {
		if _, err := reports.Create(c.ctx, quarter); apperr.KindOf(err) != c.kind {
			t.Errorf("%s drafts: %v, want %s", name, err, c.kind)
		}
	}
	if _, err := reports.Create(calabria, app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly, Quarter: "2024-Q7"}); fields(err)["quarter"] == "" {
		t.Errorf("a bad quarter: %v", err)
	}
	r, err := reports.Create(calabria, quarter)
	if err != nil {
		t.Fatal(err)
	}
	move := func(ctx context.Context, m report.Move, reason string) (*report.Report, error) {
		return reports.Move(ctx, app.MoveReport{TwinningID: tw.Code, ID: r.ID, Move: m, Reason: reason, Actor: "x"})
	}
	if _, err := reports.Get(anonymous, tw.ID, r.ID); apperr.KindOf(err) != apperr.KindNotFound {
		t.Errorf("anonymous reads a draft: %v", err)
	}
	if _, err := move(outsider, report.MoveSubmit, ""); apperr.KindOf(err) != apperr.KindNotFound {
		t.Errorf("an editor of no party submits: %v", err)
	}
	if _, err := move(coordinator, report.MoveApprove, ""); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Errorf("approve a draft: %v", err)
	}
	if _, err := move(coordinator, report.MoveSubmit, ""); apperr.KindOf(err) != apperr.KindPermissionDenied {
		t.Errorf("a coordinator submits: %v", err)
	}
	if _, err := move(calabria, report.MoveSubmit, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := reports.Update(calabria, app.UpdateReport{TwinningID: tw.ID, ID: r.ID, Sections: []report.Section{{Key: report.SectionSummary, Markdown: "x"}}}); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Errorf("edit a submitted report: %v", err)
	}
	if _, err := move(calabria, report.MoveApprove, ""); apperr.KindOf(err) != apperr.KindPermissionDenied {
		t.Errorf("an editor approves: %v", err)
	}
	if _, err := move(coordinator, report.MoveApprove, ""); err != nil {
		t.Fatal(err)
	}
	got, err := reports.Get(anonymous, tw.Code, r.ID)
	if err != nil || got.State != report.Approved {
		t.Fatalf("anonymous reads the approved report: %v %v", got, err)
	}
	if page, err := reports.List(anonymous, tw.ID, 0, ""); err != nil || len(page.Items) != 1 {
		t.Errorf("anonymous list: %v %v", page, err)
	}
	if _, err := reports.Get(anonymous, tw.ID, "no-such-report"); apperr.ReasonOf(err) != apperr.ReasonReportNotFound {
		t.Errorf("an unknown report: %v", err)
	}
}

// A twinning has one report a quarter and one final report: a second
// draft of the same period is refused (its author's retry with the same
// request id gets the first back); a quarter outside the twinning's life,
// or missing, is refused naming the quarter alone.
func TestReportsOnePerPeriodWithinTheTwinning(t *testing.T) {
	f := newFixture()
	tw := f.activeTwinning(t)
	reports := app.NewReports(app.Deps{Twinnings: f.repo, Catalog: f.catalog, Now: func() time.Time { return *f.clock }}, adapters.NewReportMemoryRepository(), nil)
	calabria := reportCaller([]string{auth.RoleEditor}, "calabria")
	toscana := reportCaller([]string{auth.RoleEditor}, "toscana")

	missing, err := reports.Create(calabria, app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly})
	if got := fields(err); got["quarter"] == "" || len(got) != 1 {
		t.Errorf("no quarter: %v %v, want one violation on quarter", missing, got)
	}
	for _, q := range []string{"2011-Q4", "2012-Q1", "2024-Q3", "2031-Q1"} {
		_, err := reports.Create(calabria, app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly, Quarter: q})
		if rule := fields(err)["quarter"]; !strings.Contains(rule, "from 2012-Q2 to 2024-Q2") {
			t.Errorf("quarter %s of a twinning from 2012-06-01 on 2024-05-01: %v", q, err)
		}
	}
	first, err := reports.Create(calabria, app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly, Quarter: "2024-Q1", RequestID: "r1", Actor: "c"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := reports.Create(calabria, app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly, Quarter: "2024-Q1", RequestID: "r1", Actor: "c"})
	if err != nil || again.ID != first.ID {
		t.Errorf("the author's retry: %v %v, want report %s", again, err, first.ID)
	}
	for name, ctx := range map[string]context.Context{"another party": toscana, "the author without the request id": calabria} {
		_, err := reports.Create(ctx, app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly, Quarter: "2024-Q1", Actor: "x"})
		if apperr.ReasonOf(err) != apperr.ReasonReportExists {
			t.Errorf("%s drafts 2024-Q1 again: %v, want %s", name, err, apperr.ReasonReportExists)
		}
	}
	if _, err := reports.Create(calabria, app.CreateReport{TwinningID: tw.ID, Kind: report.Quarterly, Quarter: "2024-Q2"}); err != nil {
		t.Errorf("another quarter: %v", err)
	}
	if _, err := reports.Create(calabria, app.CreateReport{TwinningID: tw.ID, Kind: report.Final}); err != nil {
		t.Fatal(err)
	}
	if _, err := reports.Create(toscana, app.CreateReport{TwinningID: tw.ID, Kind: report.Final}); apperr.ReasonOf(err) != apperr.ReasonReportExists {
		t.Errorf("a second final report: %v", err)
	}
	if page, err := reports.List(calabria, tw.ID, 0, ""); err != nil || len(page.Items) != 3 {
		t.Errorf("reports: %v %v, want 3", page, err)
	}
}
