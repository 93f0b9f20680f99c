package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// A request id is the caller's own (AIP-155): its retry with the same
// body gets the first resource, another body under it is refused naming
// request_id, and another caller's identical request id makes that
// caller's own resource. Every create that takes a request id follows it.
func TestRequestIDsAreScopedByCaller(t *testing.T) {
	a := app.New(app.Deps{
		Organizations: adapters.NewOrganizationMemoryRepository(), Practices: adapters.NewPracticeMemoryRepository(),
		SeekOfferDeps: app.SeekOfferDeps{Needs: adapters.NewNeedMemoryRepository(), Offers: adapters.NewOfferMemoryRepository()},
	})
	org, err := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	offered := publishedPractice(t, a, org.ID)
	as := func(member string) context.Context {
		return auth.WithCaller(context.Background(), auth.Caller{MemberID: member, Roles: []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator}, Organizations: []string{org.ID}})
	}
	// Each create is called by who, with the request id r-1 and a body
	// that variant changes; it returns the id of what it made.
	for _, c := range []struct {
		kind   string
		create func(who, variant string) (string, error)
	}{
		{"organisation", func(who, variant string) (string, error) {
			o, err := a.CreateOrganization.Handle(as(who), app.CreateOrganization{RequestID: "r-1", Actor: who,
				Details: organization.Details{Name: "Comune " + who + variant, Kind: organization.Municipality}})
			return idOf(o, err, func(o *organization.Organization) string { return o.ID })
		}},
		{"practice", func(who, variant string) (string, error) {
			p, err := a.CreatePractice.Handle(as(who), app.CreatePractice{RequestID: "r-1", Actor: who,
				Content: practice.Content{Title: "Pratica di " + who + variant, OwnerOrganizationIDs: []string{org.ID}}})
			return idOf(p, err, func(p *practice.Practice) string { return p.ID })
		}},
		{"need", func(who, variant string) (string, error) {
			n, err := a.CreateNeed.Handle(as(who), app.CreateNeed{RequestID: "r-1", Actor: who,
				Details: need.Details{OrganizationID: org.ID, Title: "Cerco aiuto " + who + variant, Problem: "Un problema da risolvere"}})
			return idOf(n, err, func(n *need.Need) string { return n.ID })
		}},
		{"offer", func(who, variant string) (string, error) {
			o, err := a.CreateOffer.Handle(as(who), app.CreateOffer{RequestID: "r-1", Actor: who,
				Terms: offer.Terms{OrganizationID: org.ID, PracticeID: offered.ID, ModelCodes: []string{"A"}, Capacity: 2, Languages: []string{"it"}, Conditions: "Visite " + variant}})
			return idOf(o, err, func(o *offer.Offer) string { return o.ID })
		}},
	} {
		t.Run(c.kind, func(t *testing.T) {
			first, err := c.create("ada", "1")
			if err != nil {
				t.Fatal(err)
			}
			if again, err := c.create("ada", "1"); err != nil || again != first {
				t.Fatalf("the same caller's retry: %s %v, want %s", again, err, first)
			}
			_, err = c.create("ada", "2")
			var ae *apperr.Error
			if apperr.KindOf(err) != apperr.KindAlreadyExists || !errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "request_id" {
				t.Fatalf("the same request id with another body: %v, want AlreadyExists naming request_id", err)
			}
			theirs, err := c.create("bob", "1")
			if err != nil || theirs == first {
				t.Fatalf("another caller's identical request id: %s %v, want a %s of their own", theirs, err, c.kind)
			}
		})
	}
}

func idOf[T any](v *T, err error, id func(*T) string) (string, error) {
	if err != nil {
		return "", err
	}
	return id(v), nil
}

func publishedPractice(t *testing.T, a app.Application, orgID string) *practice.Practice {
	t.Helper()
	p, err := a.CreatePractice.Handle(staff(orgID), app.CreatePractice{Actor: "t", Content: practice.Content{
		Title: "Pratica da offrire", Summary: "s", Description: "d", Problem: "p", Results: "r", Languages: []string{"it"}, Themes: []string{"lavoro"},
		OwnerOrganizationIDs: []string{orgID}, Models: []practice.Model{{Code: "A", Title: "Modello"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []practice.Move{practice.MoveSubmit, practice.MovePublish} {
		if p, err = a.MovePractice.Handle(staff(orgID), app.MovePractice{ID: p.ID, Move: m, Actor: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
