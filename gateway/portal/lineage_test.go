package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// Tos.Ca.'s page draws its descendants as a tree (Calabria's version, and
// Vibo's version of that one), the adoptions of the descendants, and
// where its models travelled grouped by region; an editor of Regione
// Calabria, whose transfer of B was adopted, is offered to write their
// own version, and the offer opens the form prefilled from model B with
// the adaptation it will declare.
func TestPracticePageShowsTheLineageAndOffersAnAdaptedVersion(t *testing.T) {
	w := newWorld()
	tosca := w.catalog.practices[0]
	for _, m := range tosca.Models {
		m.Adoption = &catalogv1.AdoptionFigures{ReceivingOrganizationIds: []string{"calabria"}}
		if m.Code == "D" {
			m.Adoption.ReceivingOrganizationIds = []string{"vibo"}
		}
	}
	w.catalog.orgs[2].Territory = &catalogv1.Territory{Code: "ITF6", Name: "Calabria"}
	w.catalog.orgs[3].ParentId = "calabria"
	w.catalog.practices = append(w.catalog.practices,
		&catalogv1.Practice{
			Id: "p-cal", Slug: "competenze-calabria", Title: "Competenze in Calabria", OwnerOrganizationIds: []string{"calabria"},
			Status:   catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED,
			Adapts:   []*catalogv1.PracticeAdaptation{{PracticeId: "p-tosca", ModelCode: "B", TwinningId: "t-tosca"}},
			Adoption: &catalogv1.AdoptionFigures{Adopted: 2},
		})
	for _, tr := range w.twinning.twinnings[2].Transfers {
		if tr.ModelCode == "B" {
			tr.Status = twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED
		}
	}
	b := startPortal(t, w)
	b.logIn("editor", "org:calabria")

	page := b.get("/practices/tos-ca")
	if page.status != http.StatusOK {
		t.Fatalf("practice page: %d", page.status)
	}
	mustContain(t, page, `data-testid="lineage-descendants"`, "Competenze in Calabria", "adatta il modello B",
		`data-testid="descendant-adoptions"`, "2 adozioni delle versioni derivate",
		`data-testid="practice-travels"`, "<strong>Calabria</strong>", "Comune di Vibo Valentia", "Regione Calabria")
	if strings.Contains(page.body, "[lineage.") || strings.Contains(page.body, "[travel.") {
		t.Errorf("an untranslated message on the page")
	}
	// Vibo is a municipality without a NUTS code: its region is its parent's.
	travels := page.body[strings.Index(page.body, `data-testid="practice-travels"`):]
	if strings.Contains(travels[:strings.Index(travels, "</section>")], "Altri territori") {
		t.Errorf("Vibo Valentia is not placed in Calabria: %s", travels)
	}
	offer := "/manage/practices/new?" + url.Values{"adapts": {"p-tosca"}, "model": {"B"}, "twinning": {"t-tosca"}, "owner": {"calabria"}}.Encode()
	mustContain(t, page, `data-testid="adapt-offers"`, strings.ReplaceAll(offer, "&", "&amp;"))
	if strings.Contains(page.body, "modello A: crea la tua versione") {
		t.Errorf("a model whose transfer is not adopted is offered")
	}
	tw := b.get("/twinnings/t-tosca")
	mustContain(t, tw, `data-testid="adapt-model"`)

	form := b.get(offer)
	if form.status != http.StatusOK {
		t.Fatalf("prefilled form: %d", form.status)
	}
	mustContain(t, form, `data-testid="adapts-note"`, `name="adapts[0].practice_id" value="p-tosca"`, `name="adapts[0].model_code" value="B"`,
		`name="adapts[0].twinning_id" value="t-tosca"`, "Libretto formativo del Cittadino")

	created := b.post("/manage/practices/new", url.Values{
		csrfField: {b.token("/manage/practices/new")}, "request_id": {"r1"}, "title": {"Il libretto in Calabria"}, "owner_organization_ids": {"calabria"},
		"adapts[0].practice_id": {"p-tosca"}, "adapts[0].model_code": {"B"}, "adapts[0].twinning_id": {"t-tosca"},
	})
	if created.status >= 400 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	got := w.catalog.created.GetPractice().GetAdapts()
	if len(got) != 1 || got[0].GetPracticeId() != "p-tosca" || got[0].GetModelCode() != "B" || got[0].GetTwinningId() != "t-tosca" {
		t.Errorf("the new practice declares %v, want model B of Tos.Ca. through t-tosca", got)
	}
}

// A practice without lineage says so, and an anonymous visitor is offered
// nothing.
func TestPracticePageWithoutLineage(t *testing.T) {
	b := startPortal(t, newWorld())
	page := b.get("/practices/tos-ca")
	mustContain(t, page, "Questa buona pratica non adatta modelli di altre")
	if strings.Contains(page.body, `data-testid="adapt-offers"`) {
		t.Errorf("an anonymous visitor is offered to adapt a model")
	}
}

func TestAdaptationErrorsInWords(t *testing.T) {
	w := wording{l: newLocale(Italian, nil)}
	for rule, want := range map[string]string{
		"must not be the practice itself: a practice cannot adapt its own model":                "non può adattare un proprio modello",
		"would form a cycle: that practice already adapts this one, directly or through others": "deriva già da questa",
	} {
		got, ok := w.say(ruleWords, rule)
		if !ok || !strings.Contains(got, want) {
			t.Errorf("%q → %q (%v), want %q", rule, got, ok, want)
		}
	}
}
