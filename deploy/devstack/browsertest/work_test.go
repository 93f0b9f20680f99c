package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// The work the platform exists for, as its people do it in the portal:
// seek and offer, administration, moderation, and forms that say what is
// missing before anything else.

// tap clicks an element that changes the page without leaving it (a
// summary that opens a form, a radio button).
func (tb *tab) tap(selector string) {
	tb.t.Helper()
	tb.do("tap "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// logInAs logs a demo account in, after logging out whoever was in.
func logInAs(tb *tab, email, password string) {
	tb.t.Helper()
	tb.visit("/")
	if eval[int](tb, `document.querySelectorAll('form[action="/logout"]').length`) > 0 {
		tb.click(`form[action="/logout"] button`)
	}
	logIn(tb, email, password)
}

// editor.calabria posts a need, sees Tos.Ca. suggested with its reasons in
// words, and starts a twinning proposal from it, prefilled.
func TestEditorPostsANeedAndProposesATwinningFromAMatch(t *testing.T) {
	tb := newTab(t)
	tb.visit("/")
	logInAs(tb, "editor.calabria@demo.gemella.test", demo.AccountPassword)

	tb.visit("/seek-offer")
	tb.checkAccessibility("seek-offer")
	tb.click(`a[href="/seek-offer/needs/new"]`)
	tb.screenshot("need-form")
	tb.checkAccessibility("need form")
	title := fmt.Sprintf("Riconoscere e certificare le competenze dei cittadini %d", time.Now().UnixNano()%1_000_000)
	tb.fill(map[string]string{
		"#f-title":   title,
		"#f-problem": "La Regione vuole un repertorio delle qualificazioni e la certificazione delle competenze dei cittadini acquisite sul lavoro.",
		"#f-themes":  "certificazione delle competenze, lavoro",
	})
	tb.click(`[data-testid=need-form] button[type=submit]`)
	if got := tb.text("h1"); got != title {
		tb.fatalf("after posting, the page is %q, want the need's page", got)
	}
	if got := tb.text(".alert"); !strings.Contains(got, "Richiesta pubblicata") {
		tb.errorf("no confirmation after posting the need: %q", got)
	}
	matches := tb.text("[data-testid=need-matches]")
	if !strings.Contains(matches, "Tos.Ca.") {
		tb.fatalf("the need's page does not suggest Tos.Ca.: %q", matches)
	}
	tosca := fmt.Sprintf(`[data-testid=match][data-practice=%q]`, demo.TosCaSlug)
	reasons := tb.text(tosca + " [data-testid=match-reasons]")
	for _, want := range []string{"Parole in comune:", "competenze", "Temi in comune: certificazione delle competenze e lavoro.", "offerta aperta"} {
		if !strings.Contains(reasons, want) {
			tb.errorf("the reasons for Tos.Ca. lack %q: %q", want, reasons)
		}
	}
	tb.screenshot("need")
	tb.checkAccessibility("need")

	tb.click(tosca + " [data-testid=start-twinning]")
	if got := tb.text("[data-testid=twinning-origin]"); !strings.Contains(got, title) || !strings.Contains(got, "Tos.Ca.") {
		tb.fatalf("the proposal does not say where it starts from: %q", got)
	}
	prefilled := eval[map[string]string](tb, `({
		title: document.querySelector("#f-title").value,
		origin: document.querySelector("#f-origin").value,
		receiving: Array.from(document.querySelector("#f-receiving_organization_ids").selectedOptions).map(o => o.text).join(", "),
		offering: Array.from(document.querySelector("#f-offering_organization_ids").selectedOptions).map(o => o.text).join(", "),
	})`)
	if prefilled["title"] != title || prefilled["origin"] != "ORIGIN_NEED" || prefilled["receiving"] != "Regione Calabria" || prefilled["offering"] != "Regione Toscana" {
		tb.errorf("the proposal is prefilled with %v", prefilled)
	}
	tb.screenshot("twinning-proposal")
	tb.checkAccessibility("twinning proposal")
	tb.fill(map[string]string{"#f-code": fmt.Sprintf("CERT-%d", time.Now().UnixNano()%1_000_000)})
	tb.click(`[data-testid=twinning-form] button[type=submit]`)
	if got := tb.text(".alert"); !strings.Contains(got, "Gemellaggio salvato") {
		tb.fatalf("the proposal was not saved: %q", got)
	}
	if got := tb.text(".portal-meta"); !strings.Contains(got, "bozza") {
		tb.errorf("the new twinning is %q, want a draft", got)
	}
	if got := tb.text("[data-testid=twinning-moves]"); !strings.Contains(got, "Proponi") || strings.Contains(got, "Approva") {
		tb.errorf("an editor of a party is offered %q, want Proponi and no Approva", got)
	}
}

// The administrator verifies a pending affiliation from /admin, which
// makes the member an editor, grants and revokes a role with a reason, and
// reads every decision on the member's page; the new editor then creates a
// practice.
func TestAdministratorVerifiesAnAffiliationAndTheEditorCreatesAPractice(t *testing.T) {
	tb := newTab(t)
	m := registerAndLogIn(tb)
	tb.visit("/profile")
	tb.choose("[data-testid=affiliation-form] select", "Comune di Firenze")
	tb.click("[data-testid=affiliation-form] button[type=submit]")

	logInAs(tb, "admin@demo.gemella.test", demo.AccountPassword)
	tb.visit("/admin")
	card := fmt.Sprintf(`[data-testid=pending][data-member=%q]`, m.name)
	if got := tb.text(card); !strings.Contains(got, "Comune di Firenze") {
		tb.fatalf("/admin does not show the request of %s to speak for Comune di Firenze: %q", m.name, tb.text("[data-testid=pending-affiliations]"))
	}
	tb.screenshot("admin")
	tb.checkAccessibility("admin")
	memberPage := eval[string](tb, `document.querySelector(`+js(card+" h3 a")+`).getAttribute("href")`)
	tb.click(card + ` [data-testid=verify]`)
	if got := tb.text(".alert"); !strings.Contains(got, "Verifica registrata") {
		tb.fatalf("verifying did not work: %q", got)
	}
	if got := tb.text(card); got != "" {
		tb.errorf("the verified request is still waiting: %q", got)
	}
	tb.visit(memberPage)
	if got := tb.text("[data-testid=member-affiliations]"); !strings.Contains(got, "verificata") || !strings.Contains(got, "Demo Amministratrice") {
		tb.errorf("the member's page does not record who verified the affiliation: %q", got)
	}
	if got := tb.text("[data-testid=member-decisions]"); !strings.Contains(got, "Affiliazione a Comune di Firenze verificata da Demo Amministratrice") {
		tb.errorf("the decisions on the member do not name the verification: %q", got)
	}
	tb.tap("#f-role-ROLE_MODERATOR")
	tb.fill(map[string]string{"#f-grant-reason": "Modera il forum della Toscana"})
	tb.click("[data-testid=grant-form] button[type=submit]")
	if got := tb.text(".alert"); !strings.Contains(got, "Ruoli assegnati") {
		tb.fatalf("granting a role did not work: %q", got)
	}
	tb.tap("#f-revoke-ROLE_MODERATOR")
	tb.click("[data-testid=revoke-form] button[type=submit]")
	if got := tb.text("[data-testid=revoke-form]"); !strings.Contains(got, "Campo obbligatorio") {
		tb.fatalf("a revocation without a reason is not refused by the form: %q", got)
	}
	// The refusal comes from the page's script or, when the script had not
	// run yet, from the server's answer, which does not keep the ticked
	// box: start again from a fresh member page either way.
	tb.visit(memberPage)
	tb.tap("#f-revoke-ROLE_MODERATOR")
	tb.fill(map[string]string{"#f-revoke-reason": "Il forum ha già chi modera"})
	tb.click("[data-testid=revoke-form] button[type=submit]")
	if got := tb.text(".alert"); !strings.Contains(got, "Ruoli revocati") {
		tb.fatalf("revoking a role did not work: %q", got)
	}
	decisions := tb.text("[data-testid=member-decisions]")
	for _, want := range []string{
		"Ruolo «moderazione» revocato da Demo Amministratrice", "motivo: Il forum ha già chi modera",
		"Ruolo «moderazione» assegnato da Demo Amministratrice", "motivo: Modera il forum della Toscana",
	} {
		if !strings.Contains(decisions, want) {
			tb.errorf("the member's decisions lack %q: %q", want, decisions)
		}
	}
	tb.screenshot("member-decisions")
	tb.checkAccessibility("member")

	logInAs(tb, m.email, m.password)
	tb.visit("/manage/practices/new")
	title := fmt.Sprintf("Sportello della prima infanzia %d", time.Now().UnixNano()%1_000_000)
	tb.fill(map[string]string{"#f-title": title, "#f-summary": "Un unico sportello per i servizi alla prima infanzia."})
	tb.choose("#f-owner_organization_ids", "Comune di Firenze")
	tb.click(`[data-testid=practice-form] button[type=submit]`)
	if got := tb.text("h1"); got != title {
		tb.fatalf("the new editor could not create a practice: the page is %q", got)
	}
	if eval[int](tb, `document.querySelectorAll("[data-move=publish]").length`) != 0 {
		tb.errorf("an editor is offered to publish a draft")
	}
	if eval[int](tb, `document.querySelectorAll("[data-move=submit]").length`) != 1 {
		tb.errorf("the editor is not offered to send the draft for validation")
	}
	tb.checkAccessibility("practice form")
}

// A moderator hides a reported post and restores it from the queue.
func TestModeratorHidesAReportedPostAndRestoresItFromTheQueue(t *testing.T) {
	tb := newTab(t)
	author := registerAndLogIn(tb)
	tb.visit("/twinnings/" + demo.TosCaCode)
	tb.click("[data-testid=general-discussion-link]")
	thread := eval[string](tb, `location.pathname`)
	body := fmt.Sprintf("Offerta imperdibile di corsi a pagamento (%s)", author.name)
	tb.fill(map[string]string{"#f-body": body})
	tb.click("[data-testid=reply-form] button[type=submit]")
	tb.waitText("[data-testid=posts]", body)
	postID := eval[string](tb, fmt.Sprintf(`Array.from(document.querySelectorAll("[data-testid=posts] > li")).find(li => li.textContent.includes(%s)).id.replace("post-", "")`, js(body)))

	reporter := registerAndLogIn(tb)
	tb.visit(thread)
	post := "#post-" + postID
	tb.tap(post + " details.portal-report summary")
	tb.tap(post + ` input[name=kind][value=spam]`)
	tb.fill(map[string]string{post + " input[name=note]": "pubblicità di corsi"})
	tb.checkAccessibility("report form")
	tb.click(post + ` [data-testid=report-form] button[type=submit]`)
	if got := tb.text(".alert"); !strings.Contains(got, "messaggio è stato segnalato") {
		tb.fatalf("the report was not sent: %q", got)
	}

	logInAs(tb, "moderator@demo.gemella.test", demo.AccountPassword)
	tb.visit("/moderation")
	queued := fmt.Sprintf(`[data-testid=queued-post][data-post=%q]`, postID)
	if got := tb.text("[data-testid=moderation-reported] " + queued); !strings.Contains(got, body) {
		tb.fatalf("the reported post is not in the queue: %q", tb.text("[data-testid=moderation-reported]"))
	}
	if got := tb.text("[data-testid=moderation-reported] " + queued + " [data-testid=reports]"); !strings.Contains(got, reporter.name) || !strings.Contains(got, "pubblicità di corsi") {
		tb.fatalf("the queue does not say who reported the post and why: %q", got)
	}
	tb.checkAccessibility("moderation")
	tb.fill(map[string]string{"[data-testid=moderation-reported] " + queued + " input[name=reason]": "Pubblicità"})
	tb.click("[data-testid=moderation-reported] " + queued + " [data-testid=hide]")
	if got := tb.text(".alert"); !strings.Contains(got, "Messaggio nascosto") {
		tb.fatalf("hiding did not work: %q", got)
	}
	hidden := "[data-testid=moderation-hidden] " + queued
	if got := tb.text(hidden); !strings.Contains(got, "Nascosto da te. Motivo: Pubblicità") {
		tb.fatalf("the hidden post is not in the queue with its reason: %q", tb.text("[data-testid=moderation-hidden]"))
	}
	tb.screenshot("moderation")
	tb.fill(map[string]string{hidden + " input[name=reason]": "Era un annuncio del Comune"})
	tb.click(hidden + " [data-testid=restore]")
	if got := tb.text(".alert"); !strings.Contains(got, "Messaggio ripristinato") {
		tb.fatalf("restoring did not work: %q", got)
	}
	if got := tb.text(queued); got != "" {
		tb.errorf("the restored post is still in the queue: %q", got)
	}
	entries := eval[string](tb, fmt.Sprintf(`Array.from(document.querySelectorAll(%s)).map(e => e.textContent).join(" | ")`,
		js(fmt.Sprintf("[data-testid=log-entry][data-post=%q]", postID))))
	for _, want := range []string{"Messaggio ripristinato da Demo Moderatore", "motivo: Era un annuncio del Comune", "Messaggio nascosto da Demo Moderatore", "motivo: Pubblicità"} {
		if !strings.Contains(entries, want) {
			tb.errorf("the moderation log lacks %q: %q", want, entries)
		}
	}
	tb.checkAccessibility("moderation log")
	tb.visit(thread)
	if got := tb.text(post); !strings.Contains(got, body) || !strings.Contains(got, "Ripristinato da chi modera") {
		tb.errorf("the restored post reads %q", got)
	}
}

// An empty twinning form names its missing fields, in Italian and in
// English, instead of refusing the member.
func TestEmptyTwinningFormNamesItsMissingFields(t *testing.T) {
	tb := newTab(t)
	tb.visit("/")
	logInAs(tb, "editor.toscana@demo.gemella.test", demo.AccountPassword)
	for _, lang := range []struct {
		name string
		want []string
	}{
		{"it", []string{"Codice: Campo obbligatorio.", "Titolo: Campo obbligatorio.", "Amministrazioni offerenti: Campo obbligatorio.", "Amministrazioni destinatarie: Campo obbligatorio."}},
		{"en", []string{"Code: This field is required.", "Title: This field is required.", "Offering administrations: This field is required.", "Receiving administrations: This field is required."}},
	} {
		tb.visit("/manage/twinnings/new")
		if lang.name == "en" {
			tb.click("[data-testid=language-switch]")
		}
		tb.click(`[data-testid=twinning-form] button[type=submit]`)
		got := tb.text("#form-errors")
		for _, w := range lang.want {
			if !strings.Contains(got, w) {
				tb.errorf("%s: the empty form's errors lack %q: %q", lang.name, w, got)
			}
		}
		if strings.Contains(got, "permess") || strings.Contains(got, "allowed") {
			tb.errorf("%s: the empty form speaks of permissions: %q", lang.name, got)
		}
		tb.checkAccessibility("empty twinning form " + lang.name)
	}
	tb.screenshot("twinning-form-errors-en")
}

// An anonymous visitor of /admin is sent to log in.
func TestAdminSendsAnonymousVisitorsToLogIn(t *testing.T) {
	if suite.setupErr != nil {
		t.Fatalf("browser test suite: %v", suite.setupErr)
	}
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(suite.gateway + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=%2Fadmin") {
		t.Fatalf("anonymous /admin = %d to %q, want 303 to the log-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// On a phone the menu collapses behind the burger button and opens on a
// tap; the header leaves the page most of the screen.
func TestSmallScreensCollapseTheMenu(t *testing.T) {
	tb := newTab(t)
	tb.do("phone-sized window", chromedp.EmulateViewport(390, 800, chromedp.EmulateMobile))
	tb.visit("/")
	header := eval[float64](tb, `document.querySelector("header").getBoundingClientRect().height`)
	if header > 800/4 {
		tb.errorf("on a phone the header is %.0f px of 800", header)
	}
	visible := `(() => { const e = document.querySelector("#nav-main a[href='/practices']"); const r = e.getBoundingClientRect();
		return r.width > 0 && r.right > 0 && r.left < innerWidth && getComputedStyle(e).visibility !== "hidden"; })()`
	if eval[bool](tb, visible) {
		tb.errorf("on a phone the menu is open before a tap")
	}
	tb.tap("[data-testid=menu-toggle]")
	tb.waitFor("the menu opened", visible)
	tb.screenshot("menu-phone")
	tb.checkAccessibility("open menu on a phone")
	tb.do("desktop-sized window", chromedp.EmulateViewport(1280, 1000))
}

// The footer's pages, the discussions index and a sorted catalogue are
// readable by everyone.
func TestFooterPagesIndexAndCatalogue(t *testing.T) {
	tb := newTab(t)
	tb.visit("/")
	for _, link := range []string{"/legal-notes", "/privacy", "/accessibility", "/contacts"} {
		if eval[int](tb, fmt.Sprintf(`document.querySelectorAll('[data-testid=footer-links] a[href=%q]').length`, link)) != 1 {
			tb.errorf("the footer has no link to %s", link)
		}
	}
	for _, page := range []string{"/privacy", "/legal-notes", "/accessibility", "/contacts"} {
		tb.visit(page)
		if got := tb.text("[data-testid=info-page]"); len(got) < 200 {
			tb.errorf("%s has no text: %q", page, got)
		}
		tb.checkAccessibility(page)
	}
	tb.visit("/threads")
	if got := tb.text("[data-testid=threads]"); !strings.Contains(got, "Tos.Ca.") {
		tb.errorf("/threads does not list the Tos.Ca. discussion: %q", got)
	}
	tb.checkAccessibility("threads")
	tb.visit("/practices?sort=title")
	if got := tb.text("[data-testid=catalogue-count]"); !strings.Contains(got, "buone pratiche pubblicate") {
		tb.errorf("the catalogue does not count its practices: %q", got)
	}
	titles := eval[[]string](tb, `Array.from(document.querySelectorAll("[data-testid=catalogue-results] h3")).map(h => h.textContent.trim())`)
	for i := 1; i < len(titles); i++ {
		if strings.ToLower(titles[i-1]) > strings.ToLower(titles[i]) {
			tb.errorf("sorted by title, %q comes before %q", titles[i-1], titles[i])
		}
	}
	if territory := tb.text("#f-territory"); strings.Contains(territory, "ITI1") || !strings.Contains(territory, "Toscana") {
		tb.errorf("the territory filter reads %q, want names", territory)
	}
	tb.checkAccessibility("sorted catalogue")
	tb.visit("/practices/" + demo.TosCaSlug)
	if got := eval[int](tb, `document.querySelectorAll("[data-testid=markdown] strong, [data-testid=markdown] li, [data-testid=markdown] p").length`); got == 0 {
		tb.errorf("the practice's texts are not rendered from Markdown")
	}
	if body := tb.text("main"); strings.Contains(body, "**") {
		tb.errorf("the practice page shows literal Markdown")
	}
}
