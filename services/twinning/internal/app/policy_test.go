package app_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

func as(c auth.Caller) context.Context { return auth.WithCaller(context.Background(), c) }

func editorOf(orgs ...string) auth.Caller {
	return auth.Caller{MemberID: "ed-" + orgs[0], Roles: []string{auth.RoleMember, auth.RoleEditor}, Organizations: orgs}
}

var (
	anonymous   = auth.Anonymous
	member      = auth.Caller{MemberID: "m", Roles: []string{auth.RoleMember}}
	coordinator = auth.Caller{MemberID: "c", Roles: []string{auth.RoleMember, auth.RoleCoordinator}}
	// A member who holds every role but edits no organisation of Tos.Ca.
	administrator = auth.Caller{MemberID: "a", Roles: []string{auth.RoleMember, auth.RoleModerator, auth.RoleAdministrator}}
	offering      = editorOf("toscana")
	receiving     = editorOf("vibo")
	outsider      = editorOf("formez")
	// Holds the role but no verified affiliation: not an editor of anything.
	roleOnly = auth.Caller{MemberID: "r", Roles: []string{auth.RoleMember, auth.RoleEditor}}
)

func kindOf(err error) string {
	if err == nil {
		return "ok"
	}
	return apperr.KindOf(err).String()
}

// TestWhoMayMoveATwinning walks the state moves with every caller; each
// cell starts from a twinning in the state the move needs.
func TestWhoMayMoveATwinning(t *testing.T) {
	const (
		ok     = "ok"
		unauth = "unauthenticated"
		denied = "permission denied"
		hidden = "not found"
	)
	callers := []struct {
		name string
		c    auth.Caller
	}{{"anonymous", anonymous}, {"member", member}, {"editor elsewhere", outsider}, {"editor without affiliation", roleOnly},
		{"administrator", administrator}, {"offering editor", offering}, {"receiving editor", receiving}, {"coordinator", coordinator}}
	tests := []struct {
		move twinning.Move
		from twinning.Status
		want []string // in the order of callers
	}{
		{twinning.MovePropose, twinning.Draft, []string{unauth, hidden, hidden, hidden, hidden, ok, ok, denied}},
		{twinning.MoveApprove, twinning.Proposed, []string{unauth, denied, denied, denied, denied, denied, denied, ok}},
		{twinning.MoveActivate, twinning.Approved, []string{unauth, denied, denied, denied, denied, ok, denied, ok}},
		{twinning.MoveSuspend, twinning.Active, []string{unauth, denied, denied, denied, denied, ok, denied, ok}},
		{twinning.MoveResume, twinning.Suspended, []string{unauth, denied, denied, denied, denied, ok, denied, ok}},
		{twinning.MoveComplete, twinning.Active, []string{unauth, denied, denied, denied, denied, denied, denied, ok}},
		{twinning.MoveCancel, twinning.Proposed, []string{unauth, denied, denied, denied, denied, denied, denied, ok}},
	}
	path := map[twinning.Status][]twinning.Move{
		twinning.Draft:     nil,
		twinning.Proposed:  {twinning.MovePropose},
		twinning.Approved:  {twinning.MovePropose, twinning.MoveApprove},
		twinning.Active:    {twinning.MovePropose, twinning.MoveApprove, twinning.MoveActivate},
		twinning.Suspended: {twinning.MovePropose, twinning.MoveApprove, twinning.MoveActivate, twinning.MoveSuspend},
	}
	for _, tt := range tests {
		for i, who := range callers {
			t.Run(string(tt.move)+" by "+who.name, func(t *testing.T) {
				f := newFixture()
				tw, err := f.app.CreateTwinning.Handle(staff, app.CreateTwinning{Details: toscaDetails(), Actor: "ed"})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range path[tt.from] {
					if _, err := f.app.MoveTwinning.Handle(staff, app.MoveTwinning{ID: tw.ID, Move: m, Reason: "motivo", Actor: "coord"}); err != nil {
						t.Fatal(err)
					}
				}
				_, err = f.app.MoveTwinning.Handle(as(who.c), app.MoveTwinning{ID: tw.ID, Move: tt.move, Reason: "motivo", Actor: who.c.Actor()})
				if got := kindOf(err); got != tt.want[i] {
					t.Fatalf("%s from %s by %s: %s (%v), want %s", tt.move, tt.from, who.name, got, err, tt.want[i])
				}
			})
		}
	}
}

func TestADraftExistsOnlyForItsPartiesAndCoordinators(t *testing.T) {
	f := newFixture()
	draft, err := f.app.CreateTwinning.Handle(as(offering), app.CreateTwinning{Details: toscaDetails(), Actor: offering.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	other := toscaDetails()
	other.Code = "PUBLIC"
	public, err := f.app.CreateTwinning.Handle(staff, app.CreateTwinning{Details: other, Actor: "coord"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.MoveTwinning.Handle(staff, app.MoveTwinning{ID: public.ID, Move: twinning.MovePropose, Actor: "coord"}); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		c    auth.Caller
		sees bool
	}{
		"anonymous": {anonymous, false}, "member": {member, false}, "editor elsewhere": {outsider, false}, "administrator": {administrator, false},
		"offering editor": {offering, true}, "receiving editor": {receiving, true}, "coordinator": {coordinator, true},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := as(tt.c)
			for _, ref := range []string{draft.ID, "TOSCA"} {
				_, err := f.app.GetTwinning.Handle(ctx, ref)
				if tt.sees != (err == nil) {
					t.Fatalf("get %s: %v", ref, err)
				}
				if !tt.sees && (apperr.KindOf(err) != apperr.KindNotFound || err.Error() != twinning.ErrNotFound(ref).Error()) {
					t.Fatalf("a hidden draft must look missing: %v", err)
				}
			}
			if _, err := f.app.ListActivities.Handle(ctx, app.ListActivities{TwinningID: draft.ID}); tt.sees != (err == nil) {
				t.Fatalf("activities: %v", err)
			}
			page, err := f.app.ListTwinnings.Handle(ctx, app.ListTwinnings{})
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]bool{}
			for _, tw := range page.Items {
				listed[tw.Code] = true
			}
			if !listed["PUBLIC"] || listed["TOSCA"] != tt.sees {
				t.Fatalf("list shows %v", listed)
			}
			if tt.c.IsMember() && !tt.sees {
				_, err := f.app.UpdateTwinning.Handle(ctx, app.UpdateTwinning{ID: draft.ID, Patch: func(d *twinning.Details) { d.Summary = "x" }})
				if err == nil || err.Error() != twinning.ErrNotFound(draft.ID).Error() {
					t.Fatalf("a write to a hidden draft: %v, want it to look missing", err)
				}
			}
		})
	}
}

func TestWhoMayWorkOnTransfersActivitiesAndDetails(t *testing.T) {
	f := newFixture()
	tw := f.activeTwinning(t)
	transfer := twinning.NewTransfer{PracticeID: "p-tosca", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "vibo"}
	for name, tt := range map[string]struct {
		c    auth.Caller
		want string
	}{
		"anonymous": {anonymous, "unauthenticated"}, "member": {member, "permission denied"}, "receiving editor": {receiving, "permission denied"},
		"editor of another offering party": {editorOf("firenze"), "permission denied"}, "offering editor": {offering, "ok"}, "coordinator": {coordinator, "ok"},
	} {
		_, err := f.app.AddTransfer.Handle(as(tt.c), app.AddTransfer{TwinningID: tw.ID, Transfer: transfer, RequestID: "tr-" + name})
		if got := kindOf(err); got != tt.want && !(tt.want == "ok" && got == "already exists") {
			t.Errorf("add transfer as %s: %s (%v), want %s", name, got, err, tt.want)
		}
	}
	got, _ := f.app.GetTwinning.Handle(staff, tw.ID)
	trID := got.Transfers[0].ID
	for name, tt := range map[string]struct {
		c    auth.Caller
		want string
	}{
		"anonymous": {anonymous, "unauthenticated"}, "member": {member, "permission denied"}, "editor elsewhere": {outsider, "permission denied"},
		"editor of the other receiving party": {editorOf("calabria"), "permission denied"},
		"receiving editor":                    {receiving, "ok"}, "offering editor": {offering, "ok"}, "coordinator": {coordinator, "ok"},
	} {
		_, err := f.app.UpdateTransfer.Handle(as(tt.c), app.UpdateTransfer{TwinningID: tw.ID, TransferID: trID, Patch: twinning.TransferPatch{Note: "avanzamento " + name}})
		if got := kindOf(err); got != tt.want {
			t.Errorf("update transfer as %s: %s (%v), want %s", name, got, err, tt.want)
		}
	}
	for name, tt := range map[string]struct {
		c    auth.Caller
		want string
	}{
		"anonymous": {anonymous, "unauthenticated"}, "member": {member, "permission denied"}, "editor elsewhere": {outsider, "permission denied"},
		"administrator": {administrator, "permission denied"}, "receiving editor": {receiving, "ok"}, "coordinator": {coordinator, "ok"},
	} {
		ctx := as(tt.c)
		_, err := f.app.LogActivity.Handle(ctx, app.LogActivity{TwinningID: tw.ID, Activity: twinning.Activity{Kind: twinning.Workshop, Title: "Workshop", Date: "2024-05-02"}})
		if got := kindOf(err); got != tt.want {
			t.Errorf("log activity as %s: %s (%v), want %s", name, got, err, tt.want)
		}
		_, err = f.app.UpdateTwinning.Handle(ctx, app.UpdateTwinning{ID: tw.ID, Patch: func(d *twinning.Details) { d.Summary = "sintesi di " + name }})
		if got := kindOf(err); got != tt.want {
			t.Errorf("update details as %s: %s (%v), want %s", name, got, err, tt.want)
		}
	}
	// An editor may not hand the twinning over to organisations they do
	// not speak for; a coordinator may change the parties.
	handOver := func(d *twinning.Details) {
		d.OfferingOrganizationIDs = []string{"formez"}
		d.ReceivingOrganizationIDs = []string{"calabria"}
	}
	if _, err := f.app.UpdateTwinning.Handle(as(receiving), app.UpdateTwinning{ID: tw.ID, Patch: handOver}); apperr.KindOf(err) != apperr.KindPermissionDenied {
		t.Fatalf("an editor handed the twinning over: %v", err)
	}
	for name, tt := range map[string]struct {
		c    auth.Caller
		want string
	}{
		"anonymous": {anonymous, "unauthenticated"}, "member": {member, "permission denied"}, "editor elsewhere": {outsider, "permission denied"},
		"editor without affiliation": {roleOnly, "permission denied"}, "receiving editor": {receiving, "ok"}, "coordinator": {coordinator, "ok"},
	} {
		d := toscaDetails()
		d.Code = "NEW-" + strconv.Itoa(len(name)) // a valid code: the fields are checked first
		_, err := f.app.CreateTwinning.Handle(as(tt.c), app.CreateTwinning{Details: d, RequestID: "create-" + name})
		if got := kindOf(err); got != tt.want && !(tt.want == "ok" && got == "already exists") {
			t.Errorf("create as %s: %s (%v), want %s", name, got, err, tt.want)
		}
	}
}

// An empty twinning is a 400 naming each missing field, for anyone: who
// may create depends on the parties it names, so the fields come before
// the decision (POST /v1/twinnings {} once got 403 first); a well-formed
// one of no party of the caller's is still refused.
func TestAnEmptyTwinningIsA400NamingEachFieldBeforeAnyRight(t *testing.T) {
	f := newFixture()
	for name, c := range map[string]auth.Caller{"anonymous": anonymous, "member": member, "outsider": outsider, "role only": roleOnly} {
		_, err := f.app.CreateTwinning.Handle(as(c), app.CreateTwinning{Actor: c.MemberID})
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
			continue
		}
		var fields []string
		for _, v := range ae.Violations {
			fields = append(fields, v.Field)
		}
		if !slices.Contains(fields, "code") || !slices.Contains(fields, "title") {
			t.Errorf("%s: fields %v, want code and title", name, fields)
		}
	}
	if _, err := f.app.CreateTwinning.Handle(as(outsider), app.CreateTwinning{Details: toscaDetails(), Actor: "ed"}); apperr.KindOf(err) != apperr.KindPermissionDenied {
		t.Errorf("an outsider's well-formed twinning: %v, want PermissionDenied", err)
	}
}
