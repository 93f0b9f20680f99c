package practice

import (
	"context"
	"strings"
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
)

// store is a map of practices for the lineage's reads.
type store map[string]*Practice

func (s store) get(_ context.Context, id string) (*Practice, error) {
	if p, ok := s[id]; ok {
		return p, nil
	}
	return nil, ErrNotFound(id)
}

func (s store) ListAdapting(_ context.Context, ids []string) ([]*Practice, error) {
	var out []*Practice
	for _, p := range s {
		for _, a := range p.Adapts {
			for _, id := range ids {
				if a.PracticeID == id {
					out = append(out, p)
				}
			}
		}
	}
	return out, nil
}

func (s store) add(t *testing.T, id string, adapts ...Adaptation) *Practice {
	t.Helper()
	c := complete()
	c.Title = "Pratica " + id
	c.Adapts = adapts
	p, err := New(id, c, now)
	if err != nil {
		t.Fatal(err)
	}
	p.Status = Published
	s[id] = p
	return p
}

func everyone(*Practice) bool { return true }

func TestCheckLineageRefusesSelfAdaptation(t *testing.T) {
	s := store{}
	s.add(t, "tosca")
	err := CheckLineage(context.Background(), "tosca", []Adaptation{{PracticeID: "tosca", ModelCode: "A"}}, s.get, everyone)
	if apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("self adaptation: %v, want InvalidArgument", err)
	}
	if rule := violations(err)["adapts[0].practice_id"]; !strings.HasPrefix(rule, "must not be the practice itself") {
		t.Errorf("adapts[0].practice_id: %q", rule)
	}
}

func TestCheckLineageRefusesACycle(t *testing.T) {
	s := store{}
	s.add(t, "tosca")
	s.add(t, "calabria", Adaptation{PracticeID: "tosca", ModelCode: "A"})
	s.add(t, "vibo", Adaptation{PracticeID: "calabria", ModelCode: "D", TwinningID: "tw-2"})
	// Tos.Ca. adapting Vibo's version would close the circle
	// tosca → vibo → calabria → tosca.
	err := CheckLineage(context.Background(), "tosca", []Adaptation{{PracticeID: "vibo", ModelCode: "A"}}, s.get, everyone)
	if rule := violations(err)["adapts[0].practice_id"]; !strings.HasPrefix(rule, "would form a cycle") {
		t.Fatalf("cycle: %v (%q)", err, rule)
	}
	// A direct cycle too.
	err = CheckLineage(context.Background(), "tosca", []Adaptation{{PracticeID: "calabria", ModelCode: "A"}}, s.get, everyone)
	if rule := violations(err)["adapts[0].practice_id"]; !strings.HasPrefix(rule, "would form a cycle") {
		t.Fatalf("direct cycle: %v (%q)", err, rule)
	}
	// Adapting a sibling's model is no cycle.
	s.add(t, "marche", Adaptation{PracticeID: "tosca", ModelCode: "A"})
	if err := CheckLineage(context.Background(), "marche", []Adaptation{{PracticeID: "tosca", ModelCode: "A"}, {PracticeID: "calabria", ModelCode: "D"}}, s.get, everyone); err != nil {
		t.Fatalf("no cycle refused: %v", err)
	}
}

func TestCheckLineageNamesUnknownPracticesAndModels(t *testing.T) {
	s := store{}
	s.add(t, "tosca")
	hidden := s.add(t, "draft")
	hidden.Status = Draft
	err := CheckLineage(context.Background(), "", []Adaptation{
		{PracticeID: "nessuna", ModelCode: "A"}, {PracticeID: "tosca", ModelCode: "Z"}, {PracticeID: "draft", ModelCode: "A"},
	}, s.get, func(p *Practice) bool { return p.Status.IsPublic() })
	v := violations(err)
	if !strings.Contains(v["adapts[0].practice_id"], "does not exist") || !strings.Contains(v["adapts[1].model_code"], "has no model Z") ||
		!strings.Contains(v["adapts[2].practice_id"], "does not exist") {
		t.Errorf("violations: %v", v)
	}
}

func TestAdaptsShapeIsValidated(t *testing.T) {
	c := complete()
	c.Adapts = []Adaptation{{PracticeID: "", ModelCode: "b"}, {PracticeID: "tosca", ModelCode: "B"}, {PracticeID: "tosca", ModelCode: "B", TwinningID: "x y"}}
	v := violations(c.Validate())
	for _, f := range []string{"adapts[0].practice_id", "adapts[0].model_code", "adapts[2]", "adapts[2].twinning_id"} {
		if v[f] == "" {
			t.Errorf("%s not refused: %v", f, v)
		}
	}
	if v["adapts[1]"] != "" {
		t.Errorf("the first of two equal entries refused: %v", v)
	}
}

func TestARevisionKeepsTheLineage(t *testing.T) {
	c := complete()
	c.Adapts = []Adaptation{{PracticeID: "tosca", ModelCode: "B"}}
	p, err := New("calabria", c, now)
	if err != nil {
		t.Fatal(err)
	}
	p.Status = Published
	next := complete()
	if err := p.Revise(next, "editor", "", now); err != nil {
		t.Fatal(err)
	}
	if len(p.Adapts) != 1 || p.Adapts[0].PracticeID != "tosca" {
		t.Errorf("adapts after a revision: %v", p.Adapts)
	}
}

func TestWalkLineageFindsAncestorsDescendantsAndSecondGenerationAdoptions(t *testing.T) {
	s := store{}
	s.add(t, "origin")
	s.add(t, "tosca", Adaptation{PracticeID: "origin", ModelCode: "A"})
	calabria := s.add(t, "calabria", Adaptation{PracticeID: "tosca", ModelCode: "A"})
	calabria.Adoption = Adoption{Adopted: 1, PartiallyAdopted: 1, Dropped: 3}
	vibo := s.add(t, "vibo", Adaptation{PracticeID: "calabria", ModelCode: "D"})
	vibo.Adoption = Adoption{Adopted: 2}
	hidden := s.add(t, "hidden", Adaptation{PracticeID: "tosca", ModelCode: "A"})
	hidden.Status = Draft

	l, err := WalkLineage(context.Background(), s["tosca"], s.get, s, func(p *Practice) bool { return p.Status.IsPublic() })
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Ancestors) != 1 || l.Ancestors[0].Practice.ID != "origin" || l.Ancestors[0].Generation != 1 {
		t.Errorf("ancestors: %+v", l.Ancestors)
	}
	got := map[string]int{}
	for _, n := range l.Descendants {
		got[n.Practice.ID] = n.Generation
	}
	if len(got) != 2 || got["calabria"] != 1 || got["vibo"] != 2 {
		t.Errorf("descendants: %v", got)
	}
	if l.DescendantAdoptions != 4 {
		t.Errorf("descendant adoptions %d, want 4 (1+1 of Calabria, 2 of Vibo)", l.DescendantAdoptions)
	}
}
