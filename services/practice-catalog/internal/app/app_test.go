package app_test

import (
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

func newApp() (app.Application, *adapters.PracticeMemoryRepository) {
	practices := adapters.NewPracticeMemoryRepository()
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return app.New(app.Deps{
		Organizations: adapters.NewOrganizationMemoryRepository(),
		Practices:     practices,
		Now:           func() time.Time { clock = clock.Add(time.Second); return clock },
	}), practices
}

func TestCreateWithRequestIDIsIdempotent(t *testing.T) {
	a, repo := newApp()
	ctx := staff()
	org, err := a.CreateOrganization.Handle(ctx, app.CreateOrganization{RequestID: "r-org", Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ctx = staff(org.ID)
	again, err := a.CreateOrganization.Handle(ctx, app.CreateOrganization{RequestID: "r-org", Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}, Actor: "t"})
	if err != nil || again.ID != org.ID {
		t.Fatalf("retry created another organisation: %v %v", again, err)
	}
	cmd := app.CreatePractice{RequestID: "r-p", Content: practice.Content{Title: "Tos.Ca.", OwnerOrganizationIDs: []string{org.ID}}, Actor: "t"}
	p1, err := a.CreatePractice.Handle(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := a.CreatePractice.Handle(ctx, cmd)
	if err != nil || p2.ID != p1.ID {
		t.Fatalf("retry: %v %v", p2, err)
	}
	page, _ := a.ListPractices.Handle(ctx, app.ListPractices{})
	if len(page.Items) != 1 {
		t.Fatalf("%d practices after a retried create", len(page.Items))
	}
	// Without a request id the same title is a slug clash.
	cmd.RequestID = ""
	if _, err := a.CreatePractice.Handle(ctx, cmd); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("same slug without request id: %v", err)
	}
	if repo.EventCount() != 0 {
		t.Fatal("a draft practice emits no event")
	}
}

func TestReferencesMustExist(t *testing.T) {
	a, _ := newApp()
	ctx := staff("ghost")
	_, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{Title: "x", OwnerOrganizationIDs: []string{"ghost"}}, Actor: "t"})
	if apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("unknown owner: %v", err)
	}
	school, _ := a.CreateOrganization.Handle(ctx, app.CreateOrganization{Details: organization.Details{Name: "ITIS Fedi-Fermi", Kind: organization.School}, Actor: "t"})
	_, err = a.CreateOrganization.Handle(ctx, app.CreateOrganization{Details: organization.Details{Name: "Azienda", Kind: organization.Company, NetworkIDs: []string{school.ID}}, Actor: "t"})
	if apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("a school is not a network: %v", err)
	}
}

func TestUpdateChecksEtagAndPatchesOnlyWhatItNames(t *testing.T) {
	a, _ := newApp()
	org, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Comune di Firenze", Kind: organization.Municipality}, Actor: "t"})
	ctx := staff(org.ID)
	p, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{Title: "Alpha", Summary: "old", OwnerOrganizationIDs: []string{org.ID}}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.UpdatePractice.Handle(ctx, app.UpdatePractice{ID: p.ID, Etag: `"7"`, Patch: func(c *practice.Content) { c.Summary = "new" }, Actor: "t"})
	if apperr.KindOf(err) != apperr.KindAborted {
		t.Fatalf("stale etag: %v", err)
	}
	got, err := a.UpdatePractice.Handle(ctx, app.UpdatePractice{ID: p.ID, Etag: p.Etag(), Patch: func(c *practice.Content) { c.Summary = "new" }, Actor: "t"})
	if err != nil || got.Summary != "new" || got.Title != "Alpha" || got.Etag() == p.Etag() {
		t.Fatalf("patch: %+v %v", got, err)
	}
	_, err = a.MovePractice.Handle(ctx, app.MovePractice{ID: p.ID, Move: practice.MovePublish, Actor: "t"})
	if apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("publish a draft: %v", err)
	}
}

func TestListPagesWithTokens(t *testing.T) {
	a, _ := newApp()
	org, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Marche", Kind: organization.Region}, Actor: "t"})
	ctx := staff(org.ID)
	for _, title := range []string{"Uno", "Due", "Tre", "Quattro", "Cinque"} {
		if _, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{Title: title, OwnerOrganizationIDs: []string{org.ID}}, Actor: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	var titles []string
	token := ""
	for i := 0; i < 5; i++ {
		page, err := a.ListPractices.Handle(ctx, app.ListPractices{PageSize: 2, PageToken: token})
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
	if len(titles) != 5 || titles[0] != "Cinque" || titles[4] != "Uno" {
		t.Fatalf("pages newest first = %v", titles)
	}
	first, _ := a.ListPractices.Handle(ctx, app.ListPractices{PageSize: 2})
	if first.NextPageToken == "" {
		t.Fatal("a first page of 2 out of 5 has a next page token")
	}
	if _, err := a.ListPractices.Handle(ctx, app.ListPractices{PageSize: 2, PageToken: first.NextPageToken, Filter: practice.Filter{Theme: "x"}}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("token replayed with other filters: %v", err)
	}
}
