package app_test

import (
	"fmt"
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// The revisions are read a page at a time, newest first, with tokens
// that name their practice; the practice itself keeps none.
func TestRevisionsArePagedWithTokens(t *testing.T) {
	a, _ := newApp()
	org, err := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := staff(org.ID)
	publish := func(title string) *practice.Practice {
		t.Helper()
		p, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{
			Title: title, Summary: "s", Description: "d", Problem: "p", Results: "r", Themes: []string{"lavoro"}, Languages: []string{"it"},
			OwnerOrganizationIDs: []string{org.ID}, Models: []practice.Model{{Code: "A", Title: "Trio"}},
		}, Actor: "t"})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []practice.Move{practice.MoveSubmit, practice.MovePublish} {
			if p, err = a.MovePractice.Handle(ctx, app.MovePractice{ID: p.ID, Move: m, Actor: "t"}); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	p := publish("Tos.Ca.")
	for i := 2; i <= 4; i++ {
		if _, err := a.RevisePractice.Handle(ctx, app.RevisePractice{ID: p.ID, Note: fmt.Sprint("revision ", i), Actor: "t",
			Patch: func(c *practice.Content) { c.Summary = fmt.Sprint("summary ", i) }}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := a.ListPracticeRevisions.Handle(ctx, app.ListPracticeRevisions{ID: p.ID, PageSize: 2})
	if err != nil || len(first.Items) != 2 || first.Items[0].Number != 3 || first.Items[1].Number != 2 || first.NextPageToken == "" {
		t.Fatalf("first page: %+v (%v)", first, err)
	}
	rest, err := a.ListPracticeRevisions.Handle(ctx, app.ListPracticeRevisions{ID: p.ID, PageSize: 2, PageToken: first.NextPageToken})
	if err != nil || len(rest.Items) != 1 || rest.Items[0].Number != 1 || rest.Items[0].Content.Summary != "s" || rest.NextPageToken != "" {
		t.Fatalf("last page: %+v (%v)", rest, err)
	}
	other := publish("Altra pratica")
	_, err = a.ListPracticeRevisions.Handle(ctx, app.ListPracticeRevisions{ID: other.ID, PageToken: first.NextPageToken})
	if apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("another practice's token: %v", err)
	}
	if _, err := a.ListPracticeRevisions.Handle(ctx, app.ListPracticeRevisions{ID: p.ID, PageSize: -1}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("a negative page size: %v", err)
	}
}
