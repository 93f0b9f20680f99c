package app_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/search"
)

// A need that asks for "asili nido" is matched with a practice that only
// ever says "servizi per la prima infanzia", through the synonym list the
// catalog ships, and by nothing else: they share no theme or sector.
func TestNeedMatchesAPracticeWrittenWithASynonym(t *testing.T) {
	for _, c := range []struct {
		synonyms string
		want     bool
	}{{"", true}, {search.SynonymsOff, false}} {
		ctx := staff()
		clock := time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC)
		idx, err := search.Open(search.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SynonymsFile: c.synonyms})
		if err != nil {
			t.Fatal(err)
		}
		defer idx.Close()
		orgs, practices, needs := adapters.NewOrganizationMemoryRepository(), adapters.NewPracticeMemoryRepository(), adapters.NewNeedMemoryRepository()
		a := app.New(app.Deps{
			Organizations: search.WriteThroughOrganizations(orgs, idx), Practices: search.WriteThroughPractices(practices, idx),
			Now:           func() time.Time { clock = clock.Add(time.Minute); return clock },
			SeekOfferDeps: app.SeekOfferDeps{Needs: search.WriteThroughNeeds(needs, idx), Offers: adapters.NewOfferMemoryRepository(), Search: idx},
		})
		var orgIDs []string
		for _, o := range []organization.Details{
			{Name: "Comune di Firenze", Kind: organization.Municipality, Territory: organization.Territory{Code: "048017", Name: "Firenze"}},
			{Name: "Comune di Vibo Valentia", Kind: organization.Municipality, Territory: organization.Territory{Code: "102047", Name: "Vibo Valentia"}},
		} {
			created, err := a.CreateOrganization.Handle(ctx, app.CreateOrganization{RequestID: o.Name, Details: o, Actor: "test"})
			if err != nil {
				t.Fatal(err)
			}
			orgIDs = append(orgIDs, created.ID)
		}
		ctx = staff(orgIDs...)
		p, err := a.CreatePractice.Handle(ctx, app.CreatePractice{RequestID: "p", Actor: "test", Content: practice.Content{
			Title:       "Servizi per la prima infanzia di qualità",
			Summary:     "Un modello di coordinamento pedagogico tra i servizi comunali e quelli convenzionati.",
			Description: "Il Comune ha qualificato l'offerta con la formazione delle educatrici e un sistema di accreditamento.",
			Problem:     "Poca offerta per i bambini da zero a tre anni.", Results: "Più posti e liste d'attesa più corte.",
			OwnerOrganizationIDs: []string{orgIDs[0]}, Themes: []string{"istruzione e formazione"}, Languages: []string{"it"},
			Territory: organization.Territory{Code: "048017", Name: "Firenze"},
			Models:    []practice.Model{{Code: "A", Title: "Coordinamento pedagogico territoriale", Description: "Un coordinatore per i servizi di una zona."}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []practice.Move{practice.MoveSubmit, practice.MovePublish} {
			if _, err = a.MovePractice.Handle(ctx, app.MovePractice{ID: p.ID, Move: m, Actor: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := a.CreateNeed.Handle(ctx, app.CreateNeed{Actor: "test", Details: need.Details{
			OrganizationID: orgIDs[1], Title: "Aprire nuovi asili nido",
			Problem: "A Vibo mancano asili nido pubblici.",
			Themes:  []string{"politiche sociali"}, Territory: need.Territory{Code: "102047", Name: "Vibo Valentia"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		matches, err := a.ListNeedMatches.Handle(ctx, app.ListNeedMatches{NeedID: n.ID})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range matches {
			if m.Practice.ID == p.ID {
				found = true
				if len(m.Reasons.MatchedTerms) == 0 {
					t.Errorf("the match carries no matched terms: %+v", m.Reasons)
				}
			}
		}
		if found != c.want {
			t.Errorf("synonyms %q: practice matched %v, want %v (matches %d)", c.synonyms, found, c.want, len(matches))
		}
	}
}
