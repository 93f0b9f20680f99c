package app_test

import (
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

func TestOnlyANeverProposedDraftIsDeletedByAnEditorOfAParty(t *testing.T) {
	f := newFixture()
	tw, err := f.app.CreateTwinning.Handle(staff, app.CreateTwinning{Details: toscaDetails(), Actor: "ed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		caller auth.Caller
		etag   string
		want   apperr.Kind
	}{
		{"anonymous", anonymous, "", apperr.KindUnauthenticated},
		{"editor of no party: the draft does not exist for them", outsider, "", apperr.KindNotFound},
		{"coordinator: may see the draft, did not write it", coordinator, "", apperr.KindPermissionDenied},
		{"stale etag", receiving, "W/\"999\"", apperr.KindAborted},
	} {
		err := f.app.DeleteTwinning.Handle(as(c.caller), app.DeleteTwinning{ID: tw.ID, Etag: c.etag, Actor: c.caller.Actor()})
		if apperr.KindOf(err) != c.want {
			t.Errorf("%s: err = %v, want %s", c.name, err, c.want)
		}
	}
	if err := f.app.DeleteTwinning.Handle(as(receiving), app.DeleteTwinning{ID: "TOSCA", Etag: tw.Etag(), Actor: receiving.Actor()}); err != nil {
		t.Fatalf("a receiving party's editor deletes the draft by its code: %v", err)
	}
	for _, idOrCode := range []string{tw.ID, "TOSCA"} {
		if _, err := f.app.GetTwinning.Handle(staff, idOrCode); apperr.KindOf(err) != apperr.KindNotFound {
			t.Fatalf("get %s after delete: %v", idOrCode, err)
		}
	}
	if err := f.app.DeleteTwinning.Handle(as(receiving), app.DeleteTwinning{ID: tw.ID, Actor: receiving.Actor()}); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("deleting again: %v", err)
	}
	page, err := f.app.ListTwinnings.Handle(staff, app.ListTwinnings{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("lists leave the tombstone out: %v %v", page.Items, err)
	}
	again, err := f.app.CreateTwinning.Handle(staff, app.CreateTwinning{Details: toscaDetails(), Actor: "ed"})
	if err != nil {
		t.Fatalf("the code of a deleted draft is free again: %v", err)
	}

	// Once proposed, a twinning is cancelled, never deleted.
	proposed, err := f.app.MoveTwinning.Handle(as(offering), app.MoveTwinning{ID: again.ID, Move: twinning.MovePropose, Actor: offering.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	err = f.app.DeleteTwinning.Handle(as(offering), app.DeleteTwinning{ID: proposed.ID, Actor: offering.Actor()})
	if apperr.KindOf(err) != apperr.KindFailedPrecondition || apperr.ReasonOf(err) != apperr.ReasonTwinningNotDeletable {
		t.Fatalf("delete a proposed twinning: %v (reason %s)", err, apperr.ReasonOf(err))
	}
}
