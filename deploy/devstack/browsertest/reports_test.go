package browsertest

import (
	"strings"
	"testing"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// The reports tab of Tos.Ca.: editor.toscana drafts the report of a
// quarter, corrects a section and submits it; the coordinator approves it;
// an anonymous visitor then finds it in the tab with its downloads. Each
// page passes axe.
func TestReportsTabFromDraftToPublic(t *testing.T) {
	tb := newTab(t)
	logInAs(tb, "editor.toscana@demo.gemella.test", demo.AccountPassword)
	tb.visit("/twinnings/" + demo.TosCaCode)
	tb.click(`[data-testid=reports-tab]`)
	if got := tb.text("h1"); got != "Rapporti del gemellaggio" {
		tb.fatalf("the reports tab is %q", got)
	}
	tb.checkAccessibility("reports tab")

	tb.fill(map[string]string{"#f-quarter": "2015-Q2"})
	tb.click(`[data-testid=report-create]`)
	if got := tb.text("h1"); !strings.Contains(got, "Rapporto trimestrale 2015-Q2") {
		tb.fatalf("after drafting, the page is %q", got)
	}
	activities := eval[string](tb, `document.querySelector("#f-section-activities").value`)
	if !strings.Contains(activities, "Visita di studio ai servizi integrati e ai nidi di Firenze") {
		tb.fatalf("the drafted activities do not name the study visit: %q", activities)
	}
	tb.checkAccessibility("report editor")
	tb.fill(map[string]string{"#f-section-summary": "Un trimestre di visite e di dirette."})
	tb.click(`[data-testid=report-save]`)
	if got := tb.text(".alert"); !strings.Contains(got, "Sezioni salvate") {
		tb.fatalf("saving the sections said %q", got)
	}
	if n := eval[int](tb, `document.querySelectorAll("[data-move=approve]").length`); n != 0 {
		tb.errorf("the editor is offered the coordinator's approval")
	}
	tb.click(`[data-move=submit]`)
	if got := tb.text("[data-testid=report-state]"); !strings.Contains(got, "inviato") {
		tb.fatalf("after submitting, the report is %q", got)
	}
	here := eval[string](tb, `location.pathname`)

	logInAs(tb, "coordinator@demo.gemella.test", demo.AccountPassword)
	tb.visit(here)
	if n := eval[int](tb, `document.querySelectorAll("[data-move=submit]").length`); n != 0 {
		tb.errorf("the coordinator is offered the editor's submission")
	}
	tb.checkAccessibility("submitted report")
	tb.click(`[data-move=approve]`)
	if got := tb.text("[data-testid=report-state]"); !strings.Contains(got, "approvato") {
		tb.fatalf("after approving, the report is %q", got)
	}

	tb.click(`form[action="/logout"] button`)
	tb.visit(here)
	if got := tb.text("main"); !strings.Contains(got, "Un trimestre di visite e di dirette.") {
		tb.fatalf("an anonymous visitor does not read the approved report: %q", firstLine(got))
	}
	if n := eval[int](tb, `document.querySelectorAll("[data-testid=report-moves], [data-testid=report-editor]").length`); n != 0 {
		tb.errorf("an anonymous visitor is offered the editor or the moves")
	}
	tb.visit("/twinnings/" + demo.TosCaCode + "/reports")
	if got := tb.text("[data-testid=reports-list]"); !strings.Contains(got, "Trimestre 2015-Q2") || !strings.Contains(got, "PDF") {
		tb.fatalf("the public list does not show the approved report with its downloads: %q", got)
	}
	if n := eval[int](tb, `document.querySelectorAll("[data-testid=reports-new]").length`); n != 0 {
		tb.errorf("an anonymous visitor is offered the drafting form")
	}
	tb.checkAccessibility("public reports tab")
}
