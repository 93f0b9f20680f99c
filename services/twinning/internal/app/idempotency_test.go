package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// A request id is the caller's own (AIP-155): their retry with the same
// details gets the first twinning, other details under it are refused
// naming request_id, and another caller's identical request id makes that
// caller's own twinning. The same holds for the transfers and activities
// a request id adds.
func TestRequestIDsAreScopedByCaller(t *testing.T) {
	f := newFixture()
	editor := func(member string) context.Context {
		return auth.WithCaller(context.Background(), auth.Caller{MemberID: member, Roles: []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator},
			Organizations: []string{"toscana", "firenze", "calabria", "vibo", "formez"}})
	}
	create := func(who, code string) (*twinning.Twinning, error) {
		d := toscaDetails()
		d.Code = code
		return f.app.CreateTwinning.Handle(editor(who), app.CreateTwinning{RequestID: "r-1", Details: d, Actor: who})
	}
	first, err := create("ada", "ADA")
	if err != nil {
		t.Fatal(err)
	}
	again, err := create("ada", "ADA")
	if err != nil || again.ID != first.ID {
		t.Fatalf("the same caller's retry: %v %v, want %s", again, err, first.ID)
	}
	_, err = create("ada", "ADA-2")
	var ae *apperr.Error
	if apperr.KindOf(err) != apperr.KindAlreadyExists || !errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "request_id" {
		t.Fatalf("the same request id with other details: %v, want AlreadyExists naming request_id", err)
	}
	if _, err := f.app.GetTwinning.Handle(staff, "ADA-2"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("the refused create stored something: %v", err)
	}
	theirs, err := create("bob", "BOB")
	if err != nil || theirs.ID == first.ID || theirs.Code != "BOB" {
		t.Fatalf("another caller's identical request id: %v %v, want a twinning of their own", theirs, err)
	}
	// A refused create frees nothing it did not take: a corrected body
	// under a key that failed validation creates.
	if _, err := create("cy", "not a code!"); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("an invalid create: %v", err)
	}
	if mine, err := create("cy", "CY"); err != nil || mine.Code != "CY" {
		t.Fatalf("the corrected create under the same request id: %v %v", mine, err)
	}

	// Activities: the same request id from two callers logs two.
	tw := f.activeTwinning(t)
	log := func(who string) *twinning.Activity {
		a, err := f.app.LogActivity.Handle(editor(who), app.LogActivity{TwinningID: tw.ID, RequestID: "a-1", Actor: who,
			Activity: twinning.Activity{Kind: twinning.Report, Title: "Rapporto di " + who, Date: "2024-04-01"}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	adas, adasAgain, bobs := log("ada"), log("ada"), log("bob")
	if adas.ID != adasAgain.ID || bobs.ID == adas.ID || bobs.Title != "Rapporto di bob" {
		t.Fatalf("activities under one request id: ada %s/%s, bob %s %q", adas.ID, adasAgain.ID, bobs.ID, bobs.Title)
	}
}
