package app_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// staff is a context of a coordinator and administrator who is a verified
// editor of orgIDs: allowed everything on them, for tests about what the
// catalog does rather than who may ask.
func staff(orgIDs ...string) context.Context {
	return as(auth.Caller{
		MemberID: "staff", Roles: []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator, auth.RoleAdministrator},
		Organizations: orgIDs,
	})
}

// consumer is the catalog's own consumer of twinning events.
var consumer = as(auth.System(app.ServiceName))

func as(c auth.Caller) context.Context { return auth.WithCaller(context.Background(), c) }

func editorOf(orgIDs ...string) auth.Caller {
	return auth.Caller{MemberID: "ed", Roles: []string{auth.RoleMember, auth.RoleEditor}, Organizations: orgIDs}
}

func kindOf(err error) string {
	if err == nil {
		return "ok"
	}
	return apperr.KindOf(err).String()
}

var (
	anonymous     = auth.Anonymous
	member        = auth.Caller{MemberID: "m", Roles: []string{auth.RoleMember}}
	coordinator   = auth.Caller{MemberID: "c", Roles: []string{auth.RoleMember, auth.RoleCoordinator}}
	administrator = auth.Caller{MemberID: "a", Roles: []string{auth.RoleMember, auth.RoleAdministrator, auth.RoleModerator}}
)

func TestWhoMayWriteTheCatalog(t *testing.T) {
	a := app.New(app.Deps{
		Organizations: adapters.NewOrganizationMemoryRepository(), Practices: adapters.NewPracticeMemoryRepository(),
		SeekOfferDeps: app.SeekOfferDeps{Needs: adapters.NewNeedMemoryRepository(), Offers: adapters.NewOfferMemoryRepository()},
	})
	setup := staff()
	toscana, _ := a.CreateOrganization.Handle(setup, app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}})
	marche, _ := a.CreateOrganization.Handle(setup, app.CreateOrganization{Details: organization.Details{Name: "Regione Marche", Kind: organization.Region}})
	owner, outsider := editorOf(toscana.ID), editorOf(marche.ID)
	setup = staff(toscana.ID, marche.ID)
	n := 0
	newDraft := func() *practice.Practice {
		n++
		p, err := a.CreatePractice.Handle(setup, app.CreatePractice{Content: practice.Content{
			Title: fmt.Sprintf("Pratica numero %d", n), Summary: "s", Description: "d", Problem: "p", Results: "r", Languages: []string{"it"}, Themes: []string{"lavoro"},
			OwnerOrganizationIDs: []string{toscana.ID}, Models: []practice.Model{{Code: "A", Title: "Modello"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	newNeed := func() need.Details {
		n++
		return need.Details{OrganizationID: toscana.ID, Title: fmt.Sprintf("Cerco aiuto numero %d", n), Problem: "Servono competenze digitali", Themes: []string{"lavoro"}}
	}
	move := func(p *practice.Practice, moves ...practice.Move) *practice.Practice {
		for _, m := range moves {
			var err error
			if p, err = a.MovePractice.Handle(setup, app.MovePractice{ID: p.ID, Move: m}); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	const (
		ok     = "ok"
		unauth = "unauthenticated"
		denied = "permission denied"
		hidden = "not found"
	)
	type cell = map[string]string
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want cell
	}{
		{"create an organisation", func(ctx context.Context) error {
			_, err := a.CreateOrganization.Handle(ctx, app.CreateOrganization{Details: organization.Details{Name: fmt.Sprintf("Comune numero %d", n), Kind: organization.Municipality}})
			n++
			return err
		}, cell{"member": denied, "owner": denied, "coordinator": ok, "administrator": ok}},
		{"update an organisation", func(ctx context.Context) error {
			_, err := a.UpdateOrganization.Handle(ctx, app.UpdateOrganization{ID: toscana.ID, Patch: func(d *organization.Details) { d.Website = "https://www.regione.toscana.it" }})
			return err
		}, cell{"member": denied, "outsider": denied, "coordinator": denied, "owner": ok, "administrator": ok}},
		{"create a practice of another organisation", func(ctx context.Context) error {
			_, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{Title: "Altrui", OwnerOrganizationIDs: []string{toscana.ID, marche.ID}}})
			return err
		}, cell{"member": denied, "owner": denied, "outsider": denied, "coordinator": denied, "administrator": denied}},
		{"update a draft", func(ctx context.Context) error {
			_, err := a.UpdatePractice.Handle(ctx, app.UpdatePractice{ID: newDraft().ID, Patch: func(c *practice.Content) { c.Summary = "nuova" }})
			return err
		}, cell{"member": hidden, "outsider": hidden, "administrator": hidden, "coordinator": denied, "owner": ok}},
		{"name another owner", func(ctx context.Context) error {
			_, err := a.UpdatePractice.Handle(ctx, app.UpdatePractice{ID: newDraft().ID, Patch: func(c *practice.Content) {
				c.OwnerOrganizationIDs = append(c.OwnerOrganizationIDs, marche.ID)
			}})
			return err
		}, cell{"owner": denied, "coordinator": denied}},
		{"submit", func(ctx context.Context) error {
			_, err := a.MovePractice.Handle(ctx, app.MovePractice{ID: newDraft().ID, Move: practice.MoveSubmit})
			return err
		}, cell{"member": hidden, "outsider": hidden, "coordinator": denied, "owner": ok}},
		{"publish", func(ctx context.Context) error {
			_, err := a.MovePractice.Handle(ctx, app.MovePractice{ID: move(newDraft(), practice.MoveSubmit).ID, Move: practice.MovePublish})
			return err
		}, cell{"member": hidden, "outsider": hidden, "administrator": hidden, "owner": denied, "coordinator": ok}},
		{"archive", func(ctx context.Context) error {
			p := move(newDraft(), practice.MoveSubmit, practice.MovePublish)
			_, err := a.MovePractice.Handle(ctx, app.MovePractice{ID: p.ID, Move: practice.MoveArchive, Reason: "superata"})
			return err
		}, cell{"member": denied, "outsider": denied, "administrator": denied, "owner": ok, "coordinator": ok}},
		{"revise", func(ctx context.Context) error {
			p := move(newDraft(), practice.MoveSubmit, practice.MovePublish)
			_, err := a.RevisePractice.Handle(ctx, app.RevisePractice{ID: p.ID, Patch: func(c *practice.Content) { c.Results = "nuovi risultati" }, Note: "aggiornamento"})
			return err
		}, cell{"member": denied, "outsider": denied, "coordinator": denied, "owner": ok}},
		{"open a need", func(ctx context.Context) error {
			_, err := a.CreateNeed.Handle(ctx, app.CreateNeed{Details: newNeed()})
			return err
		}, cell{"member": denied, "outsider": denied, "coordinator": denied, "owner": ok}},
		{"edit a need", func(ctx context.Context) error {
			n, err := a.CreateNeed.Handle(setup, app.CreateNeed{Details: newNeed()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.UpdateNeed.Handle(ctx, app.UpdateNeed{ID: n.ID, Patch: func(d *need.Details) { d.Problem = "più chiaro" }})
			return err
		}, cell{"member": denied, "outsider": denied, "coordinator": denied, "owner": ok}},
		{"close a need", func(ctx context.Context) error {
			n, err := a.CreateNeed.Handle(setup, app.CreateNeed{Details: newNeed()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.CloseNeed.Handle(ctx, app.CloseNeed{ID: n.ID, Reason: "risolto"})
			return err
		}, cell{"member": denied, "outsider": denied, "administrator": denied, "coordinator": ok, "owner": ok}},
		{"offer a practice", func(ctx context.Context) error {
			p := move(newDraft(), practice.MoveSubmit, practice.MovePublish)
			_, err := a.CreateOffer.Handle(ctx, app.CreateOffer{Terms: offer.Terms{OrganizationID: toscana.ID, PracticeID: p.ID, Capacity: 1, Languages: []string{"it"}}})
			return err
		}, cell{"member": denied, "outsider": denied, "coordinator": denied, "owner": ok}},
		{"offer another's draft", func(ctx context.Context) error {
			_, err := a.CreateOffer.Handle(ctx, app.CreateOffer{Terms: offer.Terms{OrganizationID: marche.ID, PracticeID: newDraft().ID, Capacity: 1, Languages: []string{"it"}}})
			return err
		}, cell{"member": denied, "owner": denied, "outsider": "invalid argument"}},
		{"close an offer", func(ctx context.Context) error {
			p := move(newDraft(), practice.MoveSubmit, practice.MovePublish)
			o, err := a.CreateOffer.Handle(setup, app.CreateOffer{Terms: offer.Terms{OrganizationID: toscana.ID, PracticeID: p.ID, Capacity: 1, Languages: []string{"it"}}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.CloseOffer.Handle(ctx, app.CloseOffer{ID: o.ID, Reason: "ritirata"})
			return err
		}, cell{"member": denied, "outsider": denied, "coordinator": denied, "owner": ok}},
		{"mark a need matched", func(ctx context.Context) error {
			_, err := a.MarkNeedMatched.Handle(ctx, app.MarkNeedMatched{NeedID: "n", TwinningID: "tw"})
			return err
		}, cell{"member": denied, "owner": denied, "coordinator": denied, "administrator": denied, "anonymous": denied}},
		{"apply a transfer event", func(ctx context.Context) error {
			_, err := app.NewApplyTransferEventHandler(app.Deps{}).Handle(ctx, app.ApplyTransferEvent{})
			return err
		}, cell{"member": denied, "owner": denied, "coordinator": denied, "administrator": denied, "anonymous": denied}},
	}
	callers := map[string]auth.Caller{"anonymous": anonymous, "member": member, "owner": owner, "outsider": outsider, "coordinator": coordinator, "administrator": administrator}
	for _, tt := range tests {
		for name, c := range callers {
			want, listed := tt.want[name]
			if !listed {
				if name != "anonymous" {
					continue
				}
				want = unauth
			}
			err := tt.call(as(c))
			if got := kindOf(err); got != want {
				t.Errorf("%s as %s: %s (%v), want %s", tt.name, name, got, err, want)
			}
		}
	}
}

func TestUnpublishedPracticesExistOnlyForTheirEditorsAndCoordinators(t *testing.T) {
	a, _ := newApp()
	toscana, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}})
	draft, err := a.CreatePractice.Handle(staff(toscana.ID), app.CreatePractice{Content: practice.Content{Title: "Bozza", OwnerOrganizationIDs: []string{toscana.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		c    auth.Caller
		sees bool
	}{
		"anonymous": {anonymous, false}, "member": {member, false}, "editor elsewhere": {editorOf("altrove"), false}, "administrator": {administrator, false},
		"owner's editor": {editorOf(toscana.ID), true}, "coordinator": {coordinator, true},
	} {
		ctx := as(tt.c)
		for _, ref := range []string{draft.ID, draft.Slug} {
			_, err := a.GetPractice.Handle(ctx, ref)
			if tt.sees != (err == nil) || (!tt.sees && err.Error() != practice.ErrNotFound(ref).Error()) {
				t.Errorf("%s reads %s: %v", name, ref, err)
			}
		}
		if _, err := a.ListPracticeRevisions.Handle(ctx, app.ListPracticeRevisions{ID: draft.ID}); tt.sees != (err == nil) {
			t.Errorf("%s reads the revisions: %v", name, err)
		}
		page, err := a.ListPractices.Handle(ctx, app.ListPractices{})
		if err != nil || (len(page.Items) == 1) != tt.sees {
			t.Errorf("%s lists %d practices (%v)", name, len(page.Items), err)
		}
	}
}

// An anonymous create is told what is wrong with its input first (400
// naming title: the rules are public), and only a well-formed one is
// refused for want of a session (401); a member without the right gets 403.
func TestAnonymousCreateGetsFieldErrorsThenUnauthenticated(t *testing.T) {
	a := app.New(app.Deps{Organizations: adapters.NewOrganizationMemoryRepository(), Practices: adapters.NewPracticeMemoryRepository()})
	toscana, err := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.CreatePractice.Handle(as(anonymous), app.CreatePractice{})
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalidArgument || ae.Violations[0].Field != "title" {
		t.Fatalf("empty body: %v, want InvalidArgument naming title", err)
	}
	valid := app.CreatePractice{Content: practice.Content{Title: "Sportello", OwnerOrganizationIDs: []string{toscana.ID}}}
	if _, err := a.CreatePractice.Handle(as(anonymous), valid); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("anonymous valid create: %v, want Unauthenticated", err)
	}
	if _, err := a.CreatePractice.Handle(as(member), valid); apperr.KindOf(err) != apperr.KindPermissionDenied {
		t.Fatalf("member create: %v, want PermissionDenied", err)
	}
	if _, err := a.CreatePractice.Handle(as(editorOf(toscana.ID)), valid); err != nil {
		t.Fatalf("editor create: %v", err)
	}
}

// violated lists the fields an InvalidArgument names, nil for another error.
func violated(err error) []string {
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalidArgument {
		return nil
	}
	var out []string
	for _, v := range ae.Violations {
		out = append(out, v.Field)
	}
	return out
}

// An empty need or offer is a 400 naming each missing field, for anyone:
// who may write depends on the organisation it names, so the fields come
// before the decision (they once got 403 first).
func TestAnEmptyNeedOrOfferIsA400NamingEachFieldBeforeAnyRight(t *testing.T) {
	a := app.New(app.Deps{
		Organizations: adapters.NewOrganizationMemoryRepository(), Practices: adapters.NewPracticeMemoryRepository(),
		SeekOfferDeps: app.SeekOfferDeps{Needs: adapters.NewNeedMemoryRepository(), Offers: adapters.NewOfferMemoryRepository()},
	})
	for name, c := range map[string]auth.Caller{"anonymous": anonymous, "member": member, "editor of another": editorOf("01a23816-c47c-7e2e-9608-72259dd60e48")} {
		_, err := a.CreateNeed.Handle(as(c), app.CreateNeed{})
		if got := violated(err); !slices.Contains(got, "organization_id") || !slices.Contains(got, "title") || !slices.Contains(got, "problem") {
			t.Errorf("%s, empty need: %v, want InvalidArgument naming organization_id, title and problem", name, err)
		}
		_, err = a.CreateOffer.Handle(as(c), app.CreateOffer{})
		if got := violated(err); !slices.Contains(got, "organization_id") || !slices.Contains(got, "practice_id") {
			t.Errorf("%s, empty offer: %v, want InvalidArgument naming organization_id and practice_id", name, err)
		}
	}
}
