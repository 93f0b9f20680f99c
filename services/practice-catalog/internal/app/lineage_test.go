package app_test

import (
	"errors"
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

func violationOf(err error, field string) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		for _, v := range e.Violations {
			if v.Field == field {
				return v.Rule
			}
		}
	}
	return ""
}

// Through the handlers: a draft that adapts a published model is created
// and listed as a descendant; an update that closes a cycle, or adapts
// the practice itself, is refused naming adapts[0].practice_id; another
// organisation's draft cannot be named, and is not shown in a lineage to
// whoever cannot see it.
func TestAdaptationsThroughTheHandlers(t *testing.T) {
	a, _ := newApp()
	toscana, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}, Actor: "t"})
	calabria, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Calabria", Kind: organization.Region}, Actor: "t"})
	models := func() []practice.Model {
		return []practice.Model{{Code: "A", Title: "Modello A"}, {Code: "B", Title: "Modello B"}}
	}
	tosca, err := a.CreatePractice.Handle(staff(toscana.ID), app.CreatePractice{Content: practice.Content{Title: "Tos.Ca.", OwnerOrganizationIDs: []string{toscana.ID}, Models: models()}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	asCalabria := as(editorOf(calabria.ID))
	// Tos.Ca. is a draft of Toscana: Calabria's editor cannot name it.
	_, err = a.CreatePractice.Handle(asCalabria, app.CreatePractice{Content: practice.Content{
		Title: "Versione calabrese", OwnerOrganizationIDs: []string{calabria.ID}, Models: models(),
		Adapts: []practice.Adaptation{{PracticeID: tosca.ID, ModelCode: "B"}},
	}, Actor: "t"})
	if rule := violationOf(err, "adapts[0].practice_id"); rule == "" {
		t.Fatalf("adapting a draft one cannot see: %v", err)
	}
	// Coordinators see every draft; staff edit both organisations.
	both := staff(toscana.ID, calabria.ID)
	cal, err := a.CreatePractice.Handle(both, app.CreatePractice{Content: practice.Content{
		Title: "Versione calabrese", OwnerOrganizationIDs: []string{calabria.ID}, Models: models(),
		Adapts: []practice.Adaptation{{PracticeID: tosca.ID, ModelCode: "B", TwinningID: "tw-tosca"}},
	}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.GetPracticeLineage.Handle(both, tosca.Slug)
	if err != nil || len(l.Descendants) != 1 || l.Descendants[0].Practice.ID != cal.ID {
		t.Fatalf("lineage of Tos.Ca.: %+v %v", l.Descendants, err)
	}
	// Calabria's editor sees its own draft's lineage, but not Tos.Ca.'s draft in it.
	own, err := a.GetPracticeLineage.Handle(asCalabria, cal.ID)
	if err != nil || len(own.Ancestors) != 0 {
		t.Fatalf("lineage shows a hidden ancestor: %+v %v", own.Ancestors, err)
	}

	// Tos.Ca. adapting the Calabrian version closes a cycle.
	_, err = a.UpdatePractice.Handle(both, app.UpdatePractice{ID: tosca.ID, Patch: func(c *practice.Content) {
		c.Adapts = []practice.Adaptation{{PracticeID: cal.ID, ModelCode: "A"}}
	}, Actor: "t"})
	if rule := violationOf(err, "adapts[0].practice_id"); rule == "" || apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("cycle: %v", err)
	}
	_, err = a.UpdatePractice.Handle(both, app.UpdatePractice{ID: cal.ID, Patch: func(c *practice.Content) {
		c.Adapts = []practice.Adaptation{{PracticeID: cal.ID, ModelCode: "A"}}
	}, Actor: "t"})
	if rule := violationOf(err, "adapts[0].practice_id"); rule == "" {
		t.Fatalf("self: %v", err)
	}
	stored, _ := a.GetPractice.Handle(both, cal.ID)
	if len(stored.Adapts) != 1 || stored.Adapts[0].PracticeID != tosca.ID {
		t.Errorf("a refused update changed the adaptations: %v", stored.Adapts)
	}
}

// A draft that adapts another draft stays editable after that draft is
// deleted: the adaptation it already declared is not checked again, while
// a new one naming the deleted practice is refused.
func TestADraftWhoseParentWasDeletedCanStillBeEdited(t *testing.T) {
	a, _ := newApp()
	toscana, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}, Actor: "t"})
	ctx := staff(toscana.ID)
	models := []practice.Model{{Code: "A", Title: "Modello A"}, {Code: "B", Title: "Modello B"}}
	parent, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{Title: "Bozza madre", OwnerOrganizationIDs: []string{toscana.ID}, Models: models}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{Title: "Altra bozza", OwnerOrganizationIDs: []string{toscana.ID}, Models: models}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	child, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{
		Title: "Bozza figlia", OwnerOrganizationIDs: []string{toscana.ID}, Models: models,
		Adapts: []practice.Adaptation{{PracticeID: parent.ID, ModelCode: "A"}},
	}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeletePractice.Handle(ctx, app.DeletePractice{ID: parent.ID, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	edited, err := a.UpdatePractice.Handle(ctx, app.UpdatePractice{ID: child.ID, Patch: func(c *practice.Content) { c.Title = "Bozza figlia, rivista" }, Actor: "t"})
	if err != nil || edited.Title != "Bozza figlia, rivista" {
		t.Fatalf("editing the child of a deleted draft: %v", err)
	}
	// Adding a second adaptation checks that one only.
	_, err = a.UpdatePractice.Handle(ctx, app.UpdatePractice{ID: child.ID, Patch: func(c *practice.Content) {
		c.Adapts = append(c.Adapts, practice.Adaptation{PracticeID: other.ID, ModelCode: "B"})
	}, Actor: "t"})
	if err != nil {
		t.Fatalf("adding an adaptation beside one whose practice was deleted: %v", err)
	}
	// Naming the deleted practice anew (another model) is refused.
	_, err = a.UpdatePractice.Handle(ctx, app.UpdatePractice{ID: child.ID, Patch: func(c *practice.Content) {
		c.Adapts = append(c.Adapts, practice.Adaptation{PracticeID: parent.ID, ModelCode: "B"})
	}, Actor: "t"})
	if rule := violationOf(err, "adapts[2].practice_id"); rule == "" {
		t.Fatalf("a new adaptation of a deleted practice: %v", err)
	}
}
