package demo

import (
	"slices"
	"testing"
)

// The data must hold together before it reaches a catalog: keys unique,
// references to organisations listed earlier, model owners among the
// practice's owners. The catalog checks the field rules; stack's test loads
// the data into a real one.
func TestDemoDataHoldsTogether(t *testing.T) {
	ids := map[string]string{}
	for _, o := range organizations {
		if _, dup := ids[o.key]; dup {
			t.Errorf("organisation key %q is used twice", o.key)
		}
		if _, err := o.proto(ids); err != nil {
			t.Error(err)
		}
		ids[o.key] = "id-" + o.key
	}

	slugs := map[string]bool{}
	keys := map[string]bool{}
	for _, p := range practices {
		if keys[p.key] || slugs[p.slug] {
			t.Errorf("practice %q: key or slug %q is used twice", p.key, p.slug)
		}
		keys[p.key], slugs[p.slug] = true, true
		msg, err := p.proto(ids)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, m := range msg.GetModels() {
			if !slices.Contains(msg.GetOwnerOrganizationIds(), m.GetOwnerOrganizationId()) {
				t.Errorf("practice %q model %s: owner %s is not an owner of the practice", p.key, m.GetCode(), m.GetOwnerOrganizationId())
			}
		}
		if len(p.languages) == 0 || len(p.themes) == 0 || p.summary == "" || p.problem == "" || p.results == "" {
			t.Errorf("practice %q lacks what submitting needs (summary, problem, results, themes, languages)", p.key)
		}
	}
	if !slugs[TosCaSlug] {
		t.Errorf("no practice has slug %s", TosCaSlug)
	}
}

func TestTosCaModelsGoToTheirOwners(t *testing.T) {
	want := map[string]string{
		"A": "regione-toscana", "B": "regione-toscana", "C": "regione-toscana",
		"D": "comune-di-firenze", "E": "comune-di-firenze",
	}
	for _, p := range practices {
		if p.slug != TosCaSlug {
			continue
		}
		got := map[string]string{}
		for _, m := range p.models {
			got[m.code] = m.owner
		}
		if len(got) != len(want) {
			t.Fatalf("Tos.Ca. has models %v, want A–E", got)
		}
		for code, owner := range want {
			if got[code] != owner {
				t.Errorf("model %s owned by %q, want %q", code, got[code], owner)
			}
		}
		if p.programme.name != "AGIRE POR 2007-2013" || !slices.Equal(p.programme.priorities, []string{"1", "4", "10"}) {
			t.Errorf("programme = %+v, want AGIRE POR 2007-2013 priorities 1, 4, 10", p.programme)
		}
		return
	}
	t.Fatal("no Tos.Ca. practice")
}
