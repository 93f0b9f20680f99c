package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/adapters"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// fakeCatalog is the practice catalogue as the tests want it: a few
// organisations and practices, and a switch to take it down.
type fakeCatalog struct {
	mu            sync.Mutex
	down          bool
	calls         int
	practices     map[string]app.Practice
	organizations map[string]app.Organization
}

var errDown = apperr.Unavailable(errors.New("connection refused"), "practice catalogue unavailable")

func (c *fakeCatalog) Practice(_ context.Context, idOrSlug string) (app.Practice, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.down {
		return app.Practice{}, errDown
	}
	for key, p := range c.practices {
		if key == idOrSlug || p.ID == idOrSlug {
			return p, nil
		}
	}
	return app.Practice{}, apperr.NotFound("practice catalogue: practice %q not found", idOrSlug)
}

func (c *fakeCatalog) Organization(_ context.Context, id string) (app.Organization, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.down {
		return app.Organization{}, errDown
	}
	o, ok := c.organizations[id]
	if !ok {
		return app.Organization{}, apperr.NotFound("practice catalogue: organisation %q not found", id)
	}
	return o, nil
}

func (c *fakeCatalog) setDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

func (c *fakeCatalog) callCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func newCatalog() *fakeCatalog {
	return &fakeCatalog{
		organizations: map[string]app.Organization{
			"toscana":  {ID: "toscana", Name: "Regione Toscana", TerritoryCode: "ITI1"},
			"firenze":  {ID: "firenze", Name: "Comune di Firenze", TerritoryCode: "048017"},
			"calabria": {ID: "calabria", Name: "Regione Calabria", TerritoryCode: "ITF6"},
			"vibo":     {ID: "vibo", Name: "Comune di Vibo Valentia", TerritoryCode: "102047"},
			"formez":   {ID: "formez", Name: "Formez PA"},
		},
		practices: map[string]app.Practice{
			"tos-ca": {
				ID: "p-tosca", Title: "Tos.Ca.", Status: app.Published, OwnerOrganizationIDs: []string{"toscana"},
				Models: []app.Model{
					{Code: "A", Title: "Trio", OwnerOrganizationID: "toscana"},
					{Code: "D", Title: "Servizi territoriali integrati", OwnerOrganizationID: "firenze"},
				},
			},
			"bozza": {ID: "p-draft", Title: "Bozza", Status: "draft", OwnerOrganizationIDs: []string{"toscana"}, Models: []app.Model{{Code: "A", Title: "x", OwnerOrganizationID: "toscana"}}},
		},
	}
}

// staff is a coordinator who is also an editor of every organisation of
// the fake catalogue: allowed everything, so that these tests are about
// the twinning's life (policy_test.go is about who may do what).
var staff = auth.WithCaller(context.Background(), auth.Caller{
	MemberID: "coord", Roles: []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator},
	Organizations: []string{"toscana", "firenze", "calabria", "vibo", "formez"},
})

type fixture struct {
	app     app.Application
	repo    *adapters.TwinningMemoryRepository
	catalog *fakeCatalog
	clock   *time.Time
}

func newFixture() fixture {
	repo := adapters.NewTwinningMemoryRepository()
	catalog := newCatalog()
	clock := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	f := fixture{repo: repo, catalog: catalog, clock: &clock}
	f.app = app.New(app.Deps{
		Twinnings: repo, Catalog: catalog,
		Now: func() time.Time { *f.clock = f.clock.Add(time.Second); return *f.clock },
	})
	return f
}

func toscaDetails() twinning.Details {
	return twinning.Details{
		Code: "TOSCA", Title: "Tos.Ca.", Summary: "s",
		Objectives:              []twinning.Objective{{Level: "regionale", Text: "o"}},
		OfferingOrganizationIDs: []string{"toscana", "firenze"}, ReceivingOrganizationIDs: []string{"calabria", "vibo"},
		CoordinatorOrganizationID: "formez", StartDate: "2012-06-01",
	}
}

// activeTwinning creates the Tos.Ca. twinning and brings it to active.
func (f fixture) activeTwinning(t *testing.T) *twinning.Twinning {
	t.Helper()
	ctx := staff
	tw, err := f.app.CreateTwinning.Handle(ctx, app.CreateTwinning{Details: toscaDetails(), Actor: "ed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []twinning.Move{twinning.MovePropose, twinning.MoveApprove, twinning.MoveActivate} {
		if tw, err = f.app.MoveTwinning.Handle(ctx, app.MoveTwinning{ID: tw.ID, Move: m, Actor: "coord"}); err != nil {
			t.Fatal(err)
		}
	}
	return tw
}

func fields(err error) map[string]string {
	var e *apperr.Error
	out := map[string]string{}
	if errors.As(err, &e) {
		for _, v := range e.Violations {
			out[v.Field] = v.Rule
		}
	}
	return out
}

func TestAddTransferIsCheckedAgainstTheCatalogue(t *testing.T) {
	transfer := func(practice, model, from, to string) twinning.NewTransfer {
		return twinning.NewTransfer{PracticeID: practice, ModelCode: model, FromOrganizationID: from, ToOrganizationID: to}
	}
	cases := []struct {
		name     string
		down     bool
		transfer twinning.NewTransfer
		kind     apperr.Kind
		field    string
		says     string
	}{
		{name: "catalogue unavailable", down: true, transfer: transfer("tos-ca", "A", "toscana", "calabria"), kind: apperr.KindUnavailable},
		{name: "unknown model", transfer: transfer("tos-ca", "Z", "toscana", "calabria"), kind: apperr.KindInvalidArgument, field: "model_code", says: `model "Z"`},
		{name: "unknown practice", transfer: transfer("nessuna", "A", "toscana", "calabria"), kind: apperr.KindInvalidArgument, field: "practice_id", says: "nessuna"},
		{name: "unpublished practice", transfer: transfer("bozza", "A", "toscana", "calabria"), kind: apperr.KindFailedPrecondition, says: "is draft"},
		{name: "from owns neither practice nor model", transfer: transfer("tos-ca", "A", "firenze", "calabria"), kind: apperr.KindInvalidArgument, field: "from_organization_id"},
		{name: "from is not an offering party", transfer: transfer("tos-ca", "A", "calabria", "vibo"), kind: apperr.KindInvalidArgument, field: "from_organization_id"},
		{name: "to is not a receiving party", transfer: transfer("tos-ca", "A", "toscana", "firenze"), kind: apperr.KindInvalidArgument, field: "to_organization_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture()
			tw := f.activeTwinning(t)
			before := len(f.repo.Events())
			f.catalog.setDown(c.down)
			_, err := f.app.AddTransfer.Handle(staff, app.AddTransfer{TwinningID: tw.ID, Transfer: c.transfer, Actor: "ed"})
			if apperr.KindOf(err) != c.kind {
				t.Fatalf("err = %v, want kind %v", err, c.kind)
			}
			if c.field != "" && fields(err)[c.field] == "" {
				t.Errorf("no violation on %s: %v", c.field, err)
			}
			if c.says != "" && !strings.Contains(err.Error(), c.says) {
				t.Errorf("error does not say %q: %v", c.says, err)
			}
			got, _ := f.app.GetTwinning.Handle(staff, tw.ID)
			if len(got.Transfers) != 0 || got.Version != tw.Version || len(f.repo.Events()) != before {
				t.Fatalf("a refused transfer stored something: %d transfers, version %d→%d", len(got.Transfers), tw.Version, got.Version)
			}
		})
	}
}

// An editor who leaves out the parties is told which fields to fill in,
// not that they may not add the transfer.
func TestAddTransferNamesTheMissingFieldsBeforeTheRight(t *testing.T) {
	f := newFixture()
	tw := f.activeTwinning(t)
	editor := auth.WithCaller(context.Background(), auth.Caller{MemberID: "ed-toscana", Roles: []string{auth.RoleMember, auth.RoleEditor}, Organizations: []string{"toscana"}})
	_, err := f.app.AddTransfer.Handle(editor, app.AddTransfer{TwinningID: tw.ID, Actor: "ed-toscana",
		Transfer: twinning.NewTransfer{PracticeID: "nope", ModelCode: "Z"}})
	got := fields(err)
	if apperr.KindOf(err) != apperr.KindInvalidArgument || got["from_organization_id"] == "" || got["to_organization_id"] == "" {
		t.Fatalf("err = %v (fields %v), want INVALID_ARGUMENT naming from_organization_id and to_organization_id", err, got)
	}
}

// An editor who names no parties is told to name them; one who names
// parties they do not edit is refused.
func TestCreateTwinningNamesTheMissingPartiesBeforeTheRight(t *testing.T) {
	f := newFixture()
	editor := auth.WithCaller(context.Background(), auth.Caller{MemberID: "ed-toscana", Roles: []string{auth.RoleMember, auth.RoleEditor}, Organizations: []string{"toscana"}})
	_, err := f.app.CreateTwinning.Handle(editor, app.CreateTwinning{Details: twinning.Details{Code: "X-9", Title: "t"}, Actor: "ed-toscana"})
	got := fields(err)
	if apperr.KindOf(err) != apperr.KindInvalidArgument || got["offering_organization_ids"] == "" || got["receiving_organization_ids"] == "" {
		t.Fatalf("no parties: %v (fields %v), want INVALID_ARGUMENT naming both party lists", err, got)
	}
	_, err = f.app.CreateTwinning.Handle(editor, app.CreateTwinning{Details: twinning.Details{Code: "X-9", Title: "t",
		OfferingOrganizationIDs: []string{"firenze"}, ReceivingOrganizationIDs: []string{"vibo"}}, Actor: "ed-toscana"})
	if apperr.KindOf(err) != apperr.KindPermissionDenied {
		t.Fatalf("parties the editor does not edit: %v, want PERMISSION_DENIED", err)
	}
}

func TestAddTransfer(t *testing.T) {
	f := newFixture()
	ctx := staff
	tw := f.activeTwinning(t)
	// Firenze owns model D, not the practice: owning the model is enough.
	cmd := app.AddTransfer{TwinningID: "tosca", RequestID: "r-d", Actor: "ed", Transfer: twinning.NewTransfer{
		PracticeID: "tos-ca", ModelCode: "D", FromOrganizationID: "firenze", ToOrganizationID: "vibo",
	}}
	tr, err := f.app.AddTransfer.Handle(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if tr.PracticeID != "p-tosca" || tr.PracticeTitle != "Tos.Ca." || tr.ModelTitle != "Servizi territoriali integrati" || tr.Status != twinning.Planned {
		t.Fatalf("transfer = %+v", tr)
	}
	again, err := f.app.AddTransfer.Handle(ctx, cmd)
	if err != nil || again.ID != tr.ID {
		t.Fatalf("retry: %+v %v", again, err)
	}
	got, _ := f.app.GetTwinning.Handle(ctx, tw.ID)
	if len(got.Transfers) != 1 {
		t.Fatalf("%d transfers after a retried add", len(got.Transfers))
	}
	cmd.RequestID = ""
	if _, err := f.app.AddTransfer.Handle(ctx, cmd); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("the same model to the same party again: %v", err)
	}
	// A twinning that no longer takes transfers says so without asking the catalogue.
	if _, err := f.app.UpdateTransfer.Handle(ctx, app.UpdateTransfer{TwinningID: tw.ID, TransferID: tr.ID, Patch: twinning.TransferPatch{Status: twinning.Dropped}, Actor: "ed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.MoveTwinning.Handle(ctx, app.MoveTwinning{ID: tw.ID, Move: twinning.MoveComplete, Actor: "coord"}); err != nil {
		t.Fatal(err)
	}
	calls := f.catalog.callCount()
	cmd.Transfer.ModelCode = "A"
	cmd.Transfer.FromOrganizationID = "toscana"
	_, err = f.app.AddTransfer.Handle(ctx, cmd)
	if apperr.KindOf(err) != apperr.KindFailedPrecondition || !strings.Contains(err.Error(), "is completed") {
		t.Fatalf("add to a completed twinning: %v", err)
	}
	if f.catalog.callCount() != calls {
		t.Fatal("a refused transfer asked the catalogue")
	}
}

func TestCreateChecksPartiesAndTakesTheirTerritories(t *testing.T) {
	f := newFixture()
	ctx := staff
	tw, err := f.app.CreateTwinning.Handle(ctx, app.CreateTwinning{RequestID: "r1", Details: toscaDetails(), Actor: "ed"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tw.TerritoryCodes, ",") != "ITI1,048017,ITF6,102047" {
		t.Fatalf("territories = %v", tw.TerritoryCodes)
	}
	again, err := f.app.CreateTwinning.Handle(ctx, app.CreateTwinning{RequestID: "r1", Details: toscaDetails(), Actor: "ed"})
	if err != nil || again.ID != tw.ID {
		t.Fatalf("retry: %v %v", again, err)
	}
	d := toscaDetails()
	d.Code, d.ReceivingOrganizationIDs, d.CoordinatorOrganizationID = "OTHER", []string{"calabria", "atlantide"}, "nessuno"
	_, err = f.app.CreateTwinning.Handle(ctx, app.CreateTwinning{Details: d, Actor: "ed"})
	if got := fields(err); got["receiving_organization_ids[1]"] == "" || got["coordinator_organization_id"] == "" {
		t.Fatalf("unknown organisations: %v", err)
	}
	d = toscaDetails()
	d.Code, d.TerritoryCodes = "GIVEN", []string{"ITI"}
	given, err := f.app.CreateTwinning.Handle(ctx, app.CreateTwinning{Details: d, Actor: "ed"})
	if err != nil || strings.Join(given.TerritoryCodes, ",") != "ITI" {
		t.Fatalf("territories the caller gives are kept: %v %v", given, err)
	}
	f.catalog.setDown(true)
	d.Code = "DOWN"
	if _, err := f.app.CreateTwinning.Handle(ctx, app.CreateTwinning{Details: d, Actor: "ed"}); apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("parties cannot be checked: %v", err)
	}
	if _, err := f.app.GetTwinning.Handle(ctx, "DOWN"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("a twinning whose parties could not be checked was stored: %v", err)
	}
	// A change that keeps the parties needs no catalogue.
	updated, err := f.app.UpdateTwinning.Handle(ctx, app.UpdateTwinning{ID: "tosca", Patch: func(d *twinning.Details) { d.Summary = "nuova sintesi" }, Actor: "ed"})
	if err != nil || updated.Summary != "nuova sintesi" {
		t.Fatalf("update with the catalogue down: %v %v", updated, err)
	}
	f.catalog.setDown(false)
	updated, err = f.app.UpdateTwinning.Handle(ctx, app.UpdateTwinning{ID: tw.ID, Etag: updated.Etag(), Patch: func(d *twinning.Details) {
		d.ReceivingOrganizationIDs = []string{"calabria"}
	}, Actor: "ed"})
	if err != nil || strings.Join(updated.TerritoryCodes, ",") != "ITI1,048017,ITF6" {
		t.Fatalf("new parties give new territories: %v %v", updated, err)
	}
	if _, err := f.app.UpdateTwinning.Handle(ctx, app.UpdateTwinning{ID: tw.ID, Etag: `"1"`, Patch: func(*twinning.Details) {}, Actor: "ed"}); apperr.KindOf(err) != apperr.KindAborted {
		t.Fatalf("stale etag: %v", err)
	}
	// An update that changes nothing (a body of output-only fields) makes
	// no new version and no event.
	events := len(f.repo.Events())
	same, err := f.app.UpdateTwinning.Handle(ctx, app.UpdateTwinning{ID: tw.ID, Etag: updated.Etag(), Patch: func(*twinning.Details) {}, Actor: "ed"})
	if err != nil || same.Version != updated.Version || len(f.repo.Events()) != events {
		t.Fatalf("an update that changes nothing: %v, version %d → %v, %d new events", err, updated.Version, same, len(f.repo.Events())-events)
	}
}

func TestLifecycleEventsAndRetries(t *testing.T) {
	f := newFixture()
	ctx := staff
	tw := f.activeTwinning(t)
	tr, err := f.app.AddTransfer.Handle(ctx, app.AddTransfer{TwinningID: tw.ID, Actor: "ed", Transfer: twinning.NewTransfer{PracticeID: "p-tosca", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}})
	if err != nil {
		t.Fatal(err)
	}
	move := app.UpdateTransfer{TwinningID: tw.ID, TransferID: tr.ID, Patch: twinning.TransferPatch{Status: twinning.InProgress}, Actor: "ed"}
	for i := 0; i < 2; i++ {
		if got, err := f.app.UpdateTransfer.Handle(ctx, move); err != nil || got.Status != twinning.InProgress {
			t.Fatalf("move %d: %+v %v", i, got, err)
		}
	}
	if _, err := f.app.MoveTwinning.Handle(ctx, app.MoveTwinning{ID: tw.ID, Move: twinning.MoveSuspend, Reason: "elezioni", Actor: "coord"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.app.MoveTwinning.Handle(ctx, app.MoveTwinning{ID: tw.ID, Move: twinning.MoveComplete, Actor: "coord"})
	if apperr.KindOf(err) != apperr.KindFailedPrecondition || !strings.Contains(err.Error(), "is suspended") || !strings.Contains(err.Error(), "resume, cancel") {
		t.Fatalf("complete a suspended twinning: %v", err)
	}
	if _, err := f.app.MoveTwinning.Handle(ctx, app.MoveTwinning{ID: "TOSCA", Move: twinning.MoveResume, Actor: "coord"}); err != nil {
		t.Fatalf("moves by code: %v", err)
	}
	var types []string
	for _, c := range f.repo.Events() {
		types = append(types, string(c.Type))
	}
	want := "twinning.twinning.created twinning.twinning.proposed twinning.twinning.approved twinning.twinning.activated " +
		"twinning.transfer.status_changed twinning.transfer.status_changed twinning.twinning.suspended twinning.twinning.resumed"
	if strings.Join(types, " ") != want {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(types, " "), want)
	}
	got, _ := f.app.GetTwinning.Handle(ctx, tw.ID)
	last := got.History[len(got.History)-2]
	if last.To != twinning.Suspended || last.Reason != "elezioni" || last.Actor != "coord" || last.At.IsZero() {
		t.Fatalf("the suspension records who, when and why: %+v", last)
	}
}

func TestActivitiesAndMilestonesFollowTheClock(t *testing.T) {
	f := newFixture()
	ctx := staff
	tw := f.activeTwinning(t)
	m, err := f.app.LogActivity.Handle(ctx, app.LogActivity{TwinningID: tw.ID, RequestID: "m", Actor: "ed", Activity: twinning.Activity{
		Kind: twinning.MilestoneKind, Title: "Rapporto intermedio", DueDate: "2024-05-03",
	}})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := f.app.LogActivity.Handle(ctx, app.LogActivity{TwinningID: tw.ID, RequestID: "m", Actor: "ed", Activity: twinning.Activity{Kind: twinning.MilestoneKind, Title: "x", DueDate: "2024-05-03"}})
	if again.ID != m.ID || again.Title != "Rapporto intermedio" {
		t.Fatalf("a retried log made another entry: %+v", again)
	}
	if got := m.State(f.app.Today()); got != twinning.MilestoneDue {
		t.Fatalf("on %s: %s", f.app.Today(), got)
	}
	*f.clock = f.clock.Add(72 * time.Hour)
	if got := m.State(f.app.Today()); got != twinning.MilestoneOverdue {
		t.Fatalf("on %s: %s", f.app.Today(), got)
	}
	done, err := f.app.UpdateActivity.Handle(ctx, app.UpdateActivity{TwinningID: tw.ID, ActivityID: m.ID, Patch: func(a *twinning.Activity) { a.Done = true }, Actor: "ed"})
	if err != nil || done.State(f.app.Today()) != twinning.MilestoneDone || done.Date != "2024-05-04" {
		t.Fatalf("done: %+v %v", done, err)
	}
	if _, err := f.app.LogActivity.Handle(ctx, app.LogActivity{TwinningID: tw.ID, Actor: "ed", Activity: twinning.Activity{Kind: twinning.StudyVisit, Title: "Visita a Firenze", Date: "2024-04-20"}}); err != nil {
		t.Fatal(err)
	}
	log, err := f.app.ListActivities.Handle(ctx, app.ListActivities{TwinningID: "TOSCA"})
	if err != nil || len(log.Items) != 2 || log.Items[0].Kind != twinning.StudyVisit || log.NextPageToken != "" {
		t.Fatalf("log by date: %+v %v", log, err)
	}
}

// The twinning keeps a window of recent activities; the whole log pages
// by date, an old activity can still be changed, and a retried log of an
// activity that has left the window still finds it.
func TestTheActivityLogOutgrowsTheWindow(t *testing.T) {
	f := newFixture()
	ctx := staff
	tw := f.activeTwinning(t)
	const n = 3*twinning.RecentActivities + 2
	var first *twinning.Activity
	for i := 0; i < n; i++ {
		// Dates run backwards, so the first logged is the last by date.
		a, err := f.app.LogActivity.Handle(ctx, app.LogActivity{TwinningID: tw.ID, RequestID: fmt.Sprintf("r%d", i), Actor: "ed", Activity: twinning.Activity{
			Kind: twinning.Workshop, Title: fmt.Sprintf("Workshop %d", i), Date: fmt.Sprintf("2024-%02d-%02d", 12-i/28, 28-i%28),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = a
		}
	}
	got, _ := f.app.GetTwinning.Handle(ctx, tw.ID)
	if len(got.Activities) != twinning.RecentActivities || got.ActivityCount != n {
		t.Fatalf("the twinning keeps %d activities of %d, want the %d latest", len(got.Activities), got.ActivityCount, twinning.RecentActivities)
	}
	again, err := f.app.LogActivity.Handle(ctx, app.LogActivity{TwinningID: tw.ID, RequestID: "r0", Actor: "ed", Activity: twinning.Activity{Kind: twinning.Workshop, Title: "x", Date: "2024-01-01"}})
	if err != nil || again.ID != first.ID || again.Title != "Workshop 0" {
		t.Fatalf("a retried log of an activity out of the window: %+v %v", again, err)
	}
	changed, err := f.app.UpdateActivity.Handle(ctx, app.UpdateActivity{TwinningID: tw.ID, ActivityID: first.ID, Patch: func(a *twinning.Activity) { a.Outcome = "Fatto" }, Actor: "ed"})
	if err != nil || changed.Outcome != "Fatto" || changed.Title != "Workshop 0" {
		t.Fatalf("changing an activity out of the window: %+v %v", changed, err)
	}
	var seen []string
	var token string
	for page := 0; page < 10; page++ {
		p, err := f.app.ListActivities.Handle(ctx, app.ListActivities{TwinningID: tw.ID, PageSize: 7, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Items {
			seen = append(seen, a.Title)
			if a.ID == first.ID && a.Outcome != "Fatto" {
				t.Fatalf("the log shows the activity as it was: %+v", a)
			}
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	if len(seen) != n || seen[0] != fmt.Sprintf("Workshop %d", n-1) || seen[n-1] != "Workshop 0" {
		t.Fatalf("the paged log, by date: %d entries %v", len(seen), seen)
	}
	other, err := f.app.CreateTwinning.Handle(ctx, app.CreateTwinning{Details: func() twinning.Details { d := toscaDetails(); d.Code = "ALTRO"; return d }(), Actor: "ed"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.app.ListActivities.Handle(ctx, app.ListActivities{TwinningID: tw.ID, PageSize: 7})
	if _, err := f.app.ListActivities.Handle(ctx, app.ListActivities{TwinningID: other.ID, PageToken: p.NextPageToken}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("a token of another twinning's log: %v", err)
	}
}

func TestListPagesNewestFirst(t *testing.T) {
	f := newFixture()
	ctx := staff
	for _, code := range []string{"UNO", "DUE", "TRE"} {
		d := toscaDetails()
		d.Code = code
		if _, err := f.app.CreateTwinning.Handle(ctx, app.CreateTwinning{Details: d, Actor: "ed"}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := f.app.ListTwinnings.Handle(ctx, app.ListTwinnings{PageSize: 2})
	if err != nil || len(first.Items) != 2 || first.Items[0].Code != "TRE" || first.NextPageToken == "" {
		t.Fatalf("first page: %+v %v", first, err)
	}
	second, err := f.app.ListTwinnings.Handle(ctx, app.ListTwinnings{PageSize: 2, PageToken: first.NextPageToken})
	if err != nil || len(second.Items) != 1 || second.Items[0].Code != "UNO" || second.NextPageToken != "" {
		t.Fatalf("second page: %+v %v", second, err)
	}
	_, err = f.app.ListTwinnings.Handle(ctx, app.ListTwinnings{PageToken: first.NextPageToken, Filter: twinning.Filter{Status: twinning.Active}})
	if apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("a token replayed with other filters: %v", err)
	}
}
