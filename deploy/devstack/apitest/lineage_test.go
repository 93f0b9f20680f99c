package apitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gemella/gemella/deploy/devstack/demo"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// TestAPracticeThatAdaptsTosCaModelBIsInItsLineage: a draft of Regione
// Calabria that adapts model B of Tos.Ca. (through the Tos.Ca. twinning)
// is a descendant in GET /v1/practices/{tos-ca}/lineage for its editors,
// and hidden from an anonymous caller; the draft's own lineage names
// Tos.Ca. as its ancestor; adapting itself or closing a cycle is a 400
// that names adapts[0].practice_id.
func TestAPracticeThatAdaptsTosCaModelBIsInItsLineage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	a := startAPI(t)
	staff := map[string]string{"Authorization": "Bearer " + a.admin}

	get := func(target string, header map[string]string) *catalogv1.PracticeLineage {
		t.Helper()
		r := a.send(t, http.MethodGet, target, "", header)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, r.status, r.body)
		}
		var l catalogv1.PracticeLineage
		if err := protojson.Unmarshal(r.body, &l); err != nil {
			t.Fatalf("GET %s: %v: %s", target, err, r.body)
		}
		return &l
	}
	r := a.send(t, http.MethodGet, "/v1/practices/"+demo.TosCaSlug, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("Tos.Ca.: %d %s", r.status, r.body)
	}
	var tosCa catalogv1.Practice
	if err := protojson.Unmarshal(r.body, &tosCa); err != nil {
		t.Fatal(err)
	}
	calabria := a.orgNamed(t, "Regione Calabria")

	create := func(body map[string]any) (reply, string) {
		t.Helper()
		raw, _ := json.Marshal(body)
		r := a.send(t, http.MethodPost, "/v1/practices", string(raw), staff)
		var p struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(r.body, &p)
		return r, p.ID
	}
	r, adapted := create(map[string]any{
		"title": "Competenze dei cittadini in Calabria", "owner_organization_ids": []string{calabria},
		"models": []map[string]any{{"code": "A", "title": "Standard regionali calabresi"}},
		"adapts": []map[string]any{{"practice_id": tosCa.GetId(), "model_code": "B", "twinning_id": a.ids["twinning"]}},
	})
	if r.status != http.StatusOK {
		t.Fatalf("create the adapted practice: %d %s", r.status, r.body)
	}

	l := get("/v1/practices/"+tosCa.GetId()+"/lineage", staff)
	i := slices.IndexFunc(l.GetDescendants(), func(p *catalogv1.LineagePractice) bool { return p.GetId() == adapted })
	if i < 0 {
		t.Fatalf("the adapted practice is not among Tos.Ca.'s descendants: %v", l.GetDescendants())
	}
	d := l.GetDescendants()[i]
	if d.GetGeneration() != 1 || len(d.GetAdapts()) != 1 || d.GetAdapts()[0].GetModelCode() != "B" || d.GetAdapts()[0].GetTwinningId() != a.ids["twinning"] {
		t.Errorf("descendant %v: want generation 1 adapting B through the Tos.Ca. twinning", d)
	}
	if l.GetPractice().GetId() != tosCa.GetId() {
		t.Errorf("lineage of %q, want Tos.Ca.", l.GetPractice().GetId())
	}
	// By slug, and as an anonymous caller: the draft is not shown.
	anon := get("/v1/practices/"+demo.TosCaSlug+"/lineage", nil)
	if slices.ContainsFunc(anon.GetDescendants(), func(p *catalogv1.LineagePractice) bool { return p.GetId() == adapted }) {
		t.Errorf("an anonymous caller sees the draft descendant")
	}
	up := get("/v1/practices/"+adapted+"/lineage", staff)
	if len(up.GetAncestors()) != 1 || up.GetAncestors()[0].GetId() != tosCa.GetId() {
		t.Errorf("ancestors of the adapted practice: %v, want Tos.Ca.", up.GetAncestors())
	}

	// A second generation: a draft of Comune di Vibo Valentia adapts the
	// Calabrian version's model A.
	r, second := create(map[string]any{
		"title": "Competenze dei cittadini a Vibo Valentia", "owner_organization_ids": []string{a.orgNamed(t, "Comune di Vibo Valentia")},
		"models": []map[string]any{{"code": "A", "title": "Sportello comunale"}},
		"adapts": []map[string]any{{"practice_id": adapted, "model_code": "A"}},
	})
	if r.status != http.StatusOK {
		t.Fatalf("create the second generation: %d %s", r.status, r.body)
	}
	l = get("/v1/practices/"+tosCa.GetId()+"/lineage", staff)
	if j := slices.IndexFunc(l.GetDescendants(), func(p *catalogv1.LineagePractice) bool { return p.GetId() == second }); j < 0 || l.GetDescendants()[j].GetGeneration() != 2 {
		t.Errorf("second generation not found as generation 2: %v", l.GetDescendants())
	}

	patch := func(id string, adapts []map[string]any) reply {
		raw, _ := json.Marshal(map[string]any{"adapts": adapts})
		return a.send(t, http.MethodPatch, fmt.Sprintf("/v1/practices/%s?update_mask=adapts", id), string(raw), staff)
	}
	// Itself.
	r = patch(adapted, []map[string]any{{"practice_id": adapted, "model_code": "A"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("a practice adapting itself: %d %s", r.status, r.body)
	}
	checkBadRequest(t, r, "adapts[0].practice_id")
	// A cycle: the Calabrian version adapting Vibo's, which adapts it.
	r = patch(adapted, []map[string]any{{"practice_id": second, "model_code": "A"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("a cycle: %d %s", r.status, r.body)
	}
	checkBadRequest(t, r, "adapts[0].practice_id")
	// A model Tos.Ca. does not have.
	r = patch(adapted, []map[string]any{{"practice_id": tosCa.GetId(), "model_code": "Z"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("an unknown model: %d %s", r.status, r.body)
	}
	checkBadRequest(t, r, "adapts[0].model_code")
}

// orgNamed is the id of the demo organisation with that name.
func (a *api) orgNamed(t *testing.T, name string) string {
	t.Helper()
	resp, err := a.catalog.ListOrganizations(t.Context(), &catalogv1.ListOrganizationsRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range resp.GetOrganizations() {
		if o.GetName() == name {
			return o.GetId()
		}
	}
	t.Fatalf("no organisation %q", name)
	return ""
}
