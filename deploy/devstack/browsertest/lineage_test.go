package browsertest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// editor.calabria writes Regione Calabria's own version of Tos.Ca.'s model
// B from the prefilled form; Tos.Ca.'s page then draws it in its lineage,
// the adapted practice's page names Tos.Ca. as where it comes from, and
// both pages pass the accessibility check.
func TestEditorWritesAnAdaptedVersionAndTheLineageShowsIt(t *testing.T) {
	tb := newTab(t)
	tb.visit("/")
	logInAs(tb, "editor.calabria@demo.gemella.test", demo.AccountPassword)

	tb.visit("/manage/practices/new?" + url.Values{"adapts": {demo.TosCaSlug}, "model": {"B"}}.Encode())
	if got := tb.text("[data-testid=adapts-note]"); !strings.Contains(got, "modello B") || !strings.Contains(got, "Tos.Ca.") {
		tb.fatalf("the form does not say it adapts model B of Tos.Ca.: %q", got)
	}
	if got := eval[string](tb, `document.querySelector("#f-models-0-title").value`); got == "" {
		tb.errorf("the form is not prefilled from the model")
	}
	tb.checkAccessibility("adapted practice form")
	title := fmt.Sprintf("Standard delle competenze in Calabria %d", time.Now().UnixNano()%1_000_000)
	tb.fill(map[string]string{"#f-title": title})
	tb.choose("#f-owner_organization_ids", "Regione Calabria")
	tb.click(`[data-testid=practice-form] button[type=submit]`)
	if got := tb.text("h1"); got != title {
		tb.fatalf("after saving, the page is %q, want the practice's form", got)
	}

	tb.visit("/practices/" + demo.TosCaSlug)
	if got := tb.text("[data-testid=lineage-descendants]"); !strings.Contains(got, title) || !strings.Contains(got, "modello B") {
		tb.fatalf("Tos.Ca.'s lineage does not show the Calabrian version adapting model B: %q", got)
	}
	if got := tb.text("[data-testid=practice-travels]"); !strings.Contains(got, "Calabria") {
		tb.errorf("where Tos.Ca. travelled does not name Calabria: %q", got)
	}
	tb.screenshot("practice-lineage")
	tb.checkAccessibility("practice lineage")

	// A draft's page is its editors' desk page, which shows the lineage too.
	tb.click(`[data-testid=lineage-descendants] a`)
	if got := tb.text("[data-testid=lineage-ancestors]"); !strings.Contains(got, "Tos.Ca.") {
		tb.errorf("the adapted practice does not name Tos.Ca. as where it comes from: %q", got)
	}
	tb.checkAccessibility("adapted practice lineage")
}
