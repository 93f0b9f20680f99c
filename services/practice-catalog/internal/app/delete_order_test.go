package app_test

import (
	"fmt"
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

func complete(title, owner string) practice.Content {
	return practice.Content{
		Title: title, Summary: "s", Description: "d", Problem: "p", Results: "r", Languages: []string{"it"}, Themes: []string{"lavoro"},
		OwnerOrganizationIDs: []string{owner}, Models: []practice.Model{{Code: "A", Title: "Modello"}},
	}
}

func TestOnlyADraftIsDeletedByAnEditorOfAnOwner(t *testing.T) {
	a, repo := newApp()
	toscana, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}})
	marche, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Marche", Kind: organization.Region}})
	ctx := staff(toscana.ID)
	draft, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: complete("Bozza da eliminare", toscana.ID), Actor: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		caller auth.Caller
		etag   string
		want   apperr.Kind
	}{
		{"anonymous", auth.Anonymous, "", apperr.KindUnauthenticated},
		{"editor of another organisation: the draft does not exist for them", editorOf(marche.ID), "", apperr.KindNotFound},
		{"coordinator: sees the draft but did not write it", coordinator, "", apperr.KindPermissionDenied},
		{"stale etag", editorOf(toscana.ID), "W/\"999\"", apperr.KindAborted},
	} {
		err := a.DeletePractice.Handle(as(c.caller), app.DeletePractice{ID: draft.ID, Etag: c.etag, Actor: c.caller.Actor()})
		if apperr.KindOf(err) != c.want {
			t.Errorf("%s: err = %v, want %s", c.name, err, c.want)
		}
	}
	owner := as(editorOf(toscana.ID))
	if err := a.DeletePractice.Handle(owner, app.DeletePractice{ID: draft.ID, Etag: draft.Etag(), Actor: "ed"}); err != nil {
		t.Fatalf("the owner's editor deletes the draft: %v", err)
	}
	if _, err := a.GetPractice.Handle(ctx, draft.ID); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("a deleted draft is gone, even for staff: %v", err)
	}
	if _, err := a.GetPractice.Handle(ctx, draft.Slug); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("its slug names nothing: %v", err)
	}
	if err := a.DeletePractice.Handle(owner, app.DeletePractice{ID: draft.ID, Actor: "ed"}); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("deleting again: %v", err)
	}
	page, _ := a.ListPractices.Handle(ctx, app.ListPractices{})
	if len(page.Items) != 0 {
		t.Fatalf("lists leave the tombstone out: %v", page.Items)
	}
	if _, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: complete("Bozza da eliminare", toscana.ID)}); err != nil {
		t.Fatalf("the slug of a deleted draft is free again: %v", err)
	}
	if n := repo.EventCount(); n != 1 {
		t.Fatalf("events recorded = %d, want the one catalog.practice.deleted", n)
	}

	// Submitted and published work is not deleted: the rule is named.
	p, _ := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: complete("Pratica pubblicata", toscana.ID)})
	for _, m := range []practice.Move{practice.MoveSubmit, practice.MovePublish} {
		if p, err = a.MovePractice.Handle(ctx, app.MovePractice{ID: p.ID, Move: m}); err != nil {
			t.Fatal(err)
		}
		err := a.DeletePractice.Handle(owner, app.DeletePractice{ID: p.ID, Actor: "ed"})
		if apperr.KindOf(err) != apperr.KindFailedPrecondition || apperr.ReasonOf(err) != apperr.ReasonPracticeNotDeletable {
			t.Fatalf("delete a %s practice: %v (reason %s)", p.Status, err, apperr.ReasonOf(err))
		}
	}
}

func TestListPracticesInEveryOrderWithTokensAndByAuthor(t *testing.T) {
	a, repo := newApp()
	org, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Marche", Kind: organization.Region}})
	ctx := staff(org.ID)
	adopted := map[string]int{"Bravo": 3, "Alfa": 1, "Delta": 0, "Charlie": 2, "Echo": 2}
	for _, title := range []string{"Bravo", "Alfa", "Delta", "Charlie", "Echo"} {
		author := "m-1"
		if title == "Delta" {
			author = "m-2"
		}
		p, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: complete(title, org.ID), Actor: author})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Update(ctx, p.ID, func(p *practice.Practice) error { p.Adoption.Twinnings = adopted[title]; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(f practice.Filter) []string {
		var titles []string
		token := ""
		for i := 0; i < 10; i++ {
			page, err := a.ListPractices.Handle(ctx, app.ListPractices{Filter: f, PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page.Items {
				titles = append(titles, p.Title)
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		return titles
	}
	for _, c := range []struct {
		filter practice.Filter
		want   string
	}{
		{practice.Filter{}, "[Echo Charlie Delta Alfa Bravo]"},
		{practice.Filter{Order: practice.OrderTitle}, "[Alfa Bravo Charlie Delta Echo]"},
		// Ties (Charlie, Echo: 2 each) newest first.
		{practice.Filter{Order: practice.OrderMostAdopted}, "[Bravo Echo Charlie Alfa Delta]"},
		{practice.Filter{CreatedBy: "m-2"}, "[Delta]"},
		{practice.Filter{CreatedBy: "m-1", Order: practice.OrderTitle}, "[Alfa Bravo Charlie Echo]"},
	} {
		if got := sprint(walk(c.filter)); got != c.want {
			t.Errorf("order %s by %q: %s, want %s", c.filter.Order, c.filter.CreatedBy, got, c.want)
		}
	}
	first, _ := a.ListPractices.Handle(ctx, app.ListPractices{PageSize: 2, Filter: practice.Filter{Order: practice.OrderTitle}})
	if _, err := a.ListPractices.Handle(ctx, app.ListPractices{PageSize: 2, PageToken: first.NextPageToken}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("a token of the title order replayed newest first: %v", err)
	}
	if _, err := practice.ParseOrder("order_by", "popularity"); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("an unknown order: %v", err)
	}
}

func sprint(s []string) string { return fmt.Sprint(s) }
