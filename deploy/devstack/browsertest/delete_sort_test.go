package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// An editor deletes a draft practice and a draft twinning from their
// manage pages, after a page that asks to confirm; a published practice
// offers no delete.
func TestEditorDeletesADraftAfterConfirming(t *testing.T) {
	tb := newTab(t)
	logInAs(tb, "editor.toscana@demo.gemella.test", demo.AccountPassword)

	tb.visit("/manage/practices/new")
	title := fmt.Sprintf("Bozza da eliminare %d", time.Now().UnixNano()%1_000_000)
	tb.fill(map[string]string{"#f-title": title})
	tb.choose("#f-owner_organization_ids", "Regione Toscana")
	tb.click(`[data-testid=practice-form] button[type=submit]`)
	if got := tb.text("h1"); got != title {
		tb.fatalf("the draft was not created: the page is %q", got)
	}
	draftPage := eval[string](tb, `location.pathname`)
	tb.click(`[data-testid=practice-delete] a`)
	if got := tb.text("h1"); !strings.Contains(got, "Eliminare la bozza") || !strings.Contains(got, title) {
		tb.fatalf("the confirmation page is %q", got)
	}
	if got := tb.text("[data-testid=delete-warning]"); !strings.Contains(got, "per sempre") {
		tb.errorf("the confirmation does not say what is lost: %q", got)
	}
	tb.screenshot("confirm-delete")
	tb.checkAccessibility("confirm delete")
	tb.click(`[data-testid=confirm-delete]`)
	if got := tb.text(".alert"); !strings.Contains(got, "Bozza della buona pratica eliminata") {
		tb.fatalf("deleting did not work: %q", got)
	}
	if got := tb.text("main"); strings.Contains(got, title) {
		tb.errorf("the manage page still lists the deleted draft")
	}
	tb.visit(draftPage)
	if got := tb.text("h1"); got == title {
		tb.errorf("the deleted draft's page still opens")
	}

	// Published work is archived, never deleted: no button.
	tb.visit("/manage/practices/" + demo.TosCaSlug)
	if n := eval[int](tb, `document.querySelectorAll("[data-testid=practice-delete]").length`); n != 0 {
		tb.errorf("a published practice offers to delete it")
	}

	tb.visit("/manage/twinnings/new")
	code := fmt.Sprintf("DEL-%d", time.Now().UnixNano()%1_000_000)
	tb.fill(map[string]string{"#f-code": code, "#f-title": "Gemellaggio da eliminare " + code})
	tb.choose("#f-offering_organization_ids", "Regione Toscana")
	tb.choose("#f-receiving_organization_ids", "Regione Calabria")
	tb.click(`[data-testid=twinning-form] button[type=submit]`)
	if n := eval[int](tb, `document.querySelectorAll("[data-testid=twinning-delete] a").length`); n != 1 {
		tb.fatalf("the draft twinning offers no delete: %q", tb.text("main"))
	}
	tb.click(`[data-testid=twinning-delete] a`)
	tb.click(`[data-testid=confirm-delete]`)
	if got := tb.text(".alert"); !strings.Contains(got, "Bozza del gemellaggio eliminata") {
		tb.fatalf("deleting the twinning did not work: %q", got)
	}
}

// The catalogue's sort select orders the results and keeps the order in
// the address (the page links carry it).
func TestCatalogueSortSelect(t *testing.T) {
	tb := newTab(t)
	tb.visit("/practices")
	labels := tb.text("#f-sort")
	for _, want := range []string{"più recenti", "più adottate", "titolo"} {
		if !strings.Contains(labels, want) {
			tb.errorf("the sort select lacks %q: %q", want, labels)
		}
	}
	tb.choose("#f-sort", "titolo")
	tb.click(`form.portal-filters button[type=submit]`)
	if !strings.Contains(eval[string](tb, `location.search`), "sort=title") {
		tb.errorf("the sort is not in the address: %q", eval[string](tb, `location.search`))
	}
	titles := eval[[]string](tb, `Array.from(document.querySelectorAll("[data-testid=catalogue-results] h3")).map(h => h.textContent.trim())`)
	if len(titles) < 2 {
		tb.fatalf("the catalogue shows %d practices", len(titles))
	}
	for i := 1; i < len(titles); i++ {
		if strings.ToLower(titles[i-1]) > strings.ToLower(titles[i]) {
			tb.errorf("sorted by title, %q comes before %q", titles[i-1], titles[i])
		}
	}
	tb.checkAccessibility("catalogue sorted")
}

// A moderator sees on the thread page who reported a post and why, hides
// it there and restores it there.
func TestModeratorSeesReportersAndRestoresFromTheThread(t *testing.T) {
	tb := newTab(t)
	author := registerAndLogIn(tb)
	tb.visit("/twinnings/" + demo.TosCaCode)
	tb.click("[data-testid=general-discussion-link]")
	thread := eval[string](tb, `location.pathname`)
	body := fmt.Sprintf("Vendo corsi a pagamento, scrivetemi (%s)", author.name)
	tb.fill(map[string]string{"#f-body": body})
	tb.click("[data-testid=reply-form] button[type=submit]")
	tb.waitText("[data-testid=posts]", body)
	postID := eval[string](tb, fmt.Sprintf(`Array.from(document.querySelectorAll("[data-testid=posts] > li")).find(li => li.textContent.includes(%s)).id.replace("post-", "")`, js(body)))
	post := "#post-" + postID

	reporter := registerAndLogIn(tb)
	tb.visit(thread)
	tb.tap(post + " details.portal-report summary")
	tb.tap(post + ` input[name=kind][value=spam]`)
	tb.fill(map[string]string{post + " input[name=note]": "annuncio commerciale"})
	tb.click(post + ` [data-testid=report-form] button[type=submit]`)
	if n := eval[int](tb, `document.querySelectorAll(`+js(post+" [data-testid=reports]")+`).length`); n != 0 {
		tb.errorf("a member sees who reported the post")
	}

	logInAs(tb, "moderator@demo.gemella.test", demo.AccountPassword)
	tb.visit(thread)
	if got := tb.text(post + " [data-testid=reports]"); !strings.Contains(got, reporter.name) || !strings.Contains(got, "annuncio commerciale") {
		tb.fatalf("the thread does not tell the moderator who reported the post and why: %q", got)
	}
	tb.checkAccessibility("thread with reports")
	tb.fill(map[string]string{post + " [data-testid=thread-moderation] input[name=reason]": "Pubblicità"})
	tb.click(post + ` [data-testid=thread-moderation] button[value=hide]`)
	if got := tb.text(".alert"); !strings.Contains(got, "Messaggio nascosto") {
		tb.fatalf("hiding from the thread did not work: %q", got)
	}
	tb.visit(thread)
	tb.fill(map[string]string{post + " [data-testid=thread-moderation] input[name=reason]": "Era un annuncio del Comune"})
	tb.click(post + ` [data-testid=thread-moderation] button[value=restore]`)
	if got := tb.text(".alert"); !strings.Contains(got, "Messaggio ripristinato") {
		tb.fatalf("restoring from the thread did not work: %q", got)
	}
	tb.visit(thread)
	if got := tb.text(post); !strings.Contains(got, body) {
		tb.errorf("the restored post reads %q", got)
	}
}
