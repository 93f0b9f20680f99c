package browsertest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// The stories of the portal, as people live them, against the demo data of
// the seed: Tos.Ca. transfers models A, B, C from Regione Toscana to Regione
// Calabria and D, E from Comune di Firenze to Comune di Vibo Valentia.

// transferRow is one row of a twinning page's models table.
type transferRow struct {
	Model  string `json:"model"`
	From   string `json:"from"`
	To     string `json:"to"`
	Status string `json:"status"`
}

// The home page shows the latest twinnings with Tos.Ca.; its twinning page
// shows the five models with who transfers what to whom, and the general
// discussion with its participants and a link into it.
func TestHomeLeadsToTheTosCaTwinning(t *testing.T) {
	tb := newTab(t)
	tb.visit("/")
	if got := tb.text("[data-testid=latest-twinnings]"); !strings.Contains(got, "Tos.Ca.") {
		tb.fatalf("the latest twinnings do not show Tos.Ca.: %q", got)
	}
	tb.screenshot("home")
	tb.checkAccessibility("home")
	if got := tb.text("[data-testid=latest-members]"); !strings.Contains(got, "Iscrizione:") || !strings.Contains(got, "Ultimo accesso") {
		tb.errorf("the latest members show no organisation, role, joined and last log-in (needs the discussion service in the stack): %q", got)
	}

	tb.click(`[data-testid=latest-twinnings] h3 a`)
	if got := tb.text("h1"); !strings.Contains(got, "Tos.Ca.") {
		tb.fatalf("the twinning page is %q", got)
	}
	rows := eval[[]transferRow](tb, `Array.from(document.querySelectorAll("[data-testid=twinning-models] tbody tr")).map(tr => ({
		model: tr.dataset.model, from: tr.cells[1].textContent.trim(), to: tr.cells[2].textContent.trim(), status: tr.cells[3].textContent.trim() }))`)
	want := map[string][2]string{
		"A": {"Regione Toscana", "Regione Calabria"}, "B": {"Regione Toscana", "Regione Calabria"}, "C": {"Regione Toscana", "Regione Calabria"},
		"D": {"Comune di Firenze", "Comune di Vibo Valentia"}, "E": {"Comune di Firenze", "Comune di Vibo Valentia"},
	}
	var models []string
	for _, r := range rows {
		models = append(models, r.Model)
		w, ok := want[r.Model]
		if !ok || r.From != w[0] || r.To != w[1] || r.Status == "" {
			tb.errorf("model %s goes %q → %q (%s), want %q → %q", r.Model, r.From, r.To, r.Status, w[0], w[1])
		}
	}
	slices.Sort(models)
	if !slices.Equal(models, []string{"A", "B", "C", "D", "E"}) {
		tb.errorf("the models table shows models %v, want A to E", models)
	}
	for _, section := range []string{"Obiettivi", "Risultati attesi", "Programma e priorità", "Attività", "In diretta"} {
		if !strings.Contains(tb.text("main"), section) {
			tb.errorf("the twinning page has no %q section", section)
		}
	}
	tb.screenshot("twinning")
	tb.checkAccessibility("twinning")

	discussion := tb.text("[data-testid=twinning-discussion]")
	if !strings.Contains(discussion, "partecipant") || !strings.Contains(discussion, "Vai alla discussione") {
		tb.fatalf("the twinning page shows no general discussion with participants and a link (needs the discussion service in the stack): %q", discussion)
	}
}

// The catalogue finds Tos.Ca. by its words; its page shows the models,
// results, adoption and discussion.
func TestCatalogueFindsTheTosCaPractice(t *testing.T) {
	tb := newTab(t)
	tb.visit("/practices")
	tb.fill(map[string]string{"#f-q": "competenze"})
	tb.click(`form.portal-filters button[type=submit]`)
	results := tb.text("[data-testid=catalogue-results]")
	if !strings.Contains(results, "Tos.Ca.") {
		tb.fatalf("searching for \"competenze\" does not find Tos.Ca.: %q", results)
	}
	tb.screenshot("catalogue")
	tb.checkAccessibility("catalogue")

	tb.visit("/practices/" + demo.TosCaSlug)
	models := eval[int](tb, `document.querySelectorAll("[data-testid=practice-models] tbody tr").length`)
	if models != 5 {
		tb.errorf("the practice page lists %d models, want 5", models)
	}
	// "1 gemellaggio", "2 gemellaggi": the figure agrees with its number.
	if got := tb.text("[data-testid=practice-adoption]"); !strings.Contains(got, "gemellaggio") && !strings.Contains(got, "gemellaggi") {
		tb.errorf("the practice page has no adoption figures: %q", got)
	}
	tb.screenshot("practice")
	tb.checkAccessibility("practice")
	if got := tb.text("[data-testid=practice-discussion]"); strings.Contains(got, "non è disponibile") {
		tb.errorf("the practice's discussion is unavailable (needs the discussion service in the stack): %q", got)
	}
}

// Italian by default; the switch turns the portal to English and the
// choice survives a reload and other pages.
func TestLanguageSwitch(t *testing.T) {
	tb := newTab(t)
	tb.visit("/")
	if lang := eval[string](tb, `document.documentElement.lang`); lang != "it" {
		tb.fatalf("the default language is %q, want it", lang)
	}
	if !strings.Contains(tb.text("main"), "Gli ultimi gemellaggi") {
		tb.fatalf("the Italian home page has no \"Gli ultimi gemellaggi\"")
	}
	tb.click("[data-testid=language-switch]")
	if lang := eval[string](tb, `document.documentElement.lang`); lang != "en" {
		tb.fatalf("after the switch the language is %q, want en", lang)
	}
	if !strings.Contains(tb.text("main"), "Latest twinnings") {
		tb.fatalf("the English home page has no \"Latest twinnings\"")
	}
	tb.visit("/twinnings/" + demo.TosCaCode)
	if got := tb.text("main"); !strings.Contains(got, "The models transferred") || !strings.Contains(got, "From") {
		tb.fatalf("the twinning page is not in English after the switch")
	}
	tb.screenshot("twinning-en")
	tb.click("[data-testid=language-switch]")
	if lang := eval[string](tb, `document.documentElement.lang`); lang != "it" {
		tb.fatalf("switching back gives %q, want it", lang)
	}
}

// A visitor signs up, logs in, and replies in the Tos.Ca. general
// discussion; the reply is there.
func TestRegisterLogInAndReplyInTheTosCaDiscussion(t *testing.T) {
	tb := newTab(t)
	name := registerAndLogIn(tb).name

	tb.visit("/twinnings/" + demo.TosCaCode)
	if eval[int](tb, `document.querySelectorAll("[data-testid=general-discussion-link]").length`) == 0 {
		tb.fatalf("the Tos.Ca. page has no link into its general discussion")
	}
	tb.click("[data-testid=general-discussion-link]")
	reply := fmt.Sprintf("A Vibo Valentia il libretto formativo ci serve: grazie! (%s)", name)
	tb.fill(map[string]string{"#f-body": reply})
	tb.click("[data-testid=reply-form] button[type=submit]")
	tb.waitText("[data-testid=posts]", reply)
	if got := tb.text("[data-testid=posts] li:last-child"); !strings.Contains(got, name) {
		tb.errorf("the reply is not signed by %s: %q", name, got)
	}
	tb.screenshot("thread")
	tb.checkAccessibility("thread")
}

// A post that carries a script shows as text and runs nothing.
func TestScriptInAPostDoesNotRun(t *testing.T) {
	tb := newTab(t)
	registerAndLogIn(tb)
	tb.visit("/twinnings/" + demo.TosCaCode)
	tb.click("[data-testid=general-discussion-link]")
	marker := fmt.Sprintf("marker-%d", time.Now().UnixNano())
	body := marker + ` <script>window.__gemellaXSS = 1; alert("xss")</script>` +
		` <img src=x onerror="window.__gemellaXSS = 2; alert('xss')">` +
		` [click](javascript:window.__gemellaXSS=3) <iframe src="javascript:alert(1)"></iframe>`
	tb.fill(map[string]string{"#f-body": body})
	tb.click("[data-testid=reply-form] button[type=submit]")
	tb.waitText("[data-testid=posts]", marker)
	time.Sleep(500 * time.Millisecond) // room for an onerror that would fire
	if ran := eval[bool](tb, `window.__gemellaXSS !== undefined`); ran {
		tb.errorf("a script of the post ran")
	}
	if msg, ok := tb.dialogOpened(); ok {
		tb.errorf("the post opened a dialog: %q", msg)
	}
	active := eval[int](tb, `document.querySelectorAll(
		'[data-testid=posts] script, [data-testid=posts] iframe, [data-testid=posts] [onerror], [data-testid=posts] a[href^="javascript:"]').length`)
	if active != 0 {
		tb.errorf("the post put %d active elements in the page", active)
	}
}

// A member asks to speak for Regione Toscana through the profile form; an
// administrator verifies the affiliation and makes them a coordinator
// (through the API: the portal has no administration pages); the new
// editor then writes a practice through the forms, sends it for
// validation and publishes it, and the public catalogue lists it.
func TestEditorPublishesAPractice(t *testing.T) {
	tb := newTab(t)
	member := registerAndLogIn(tb)

	tb.visit("/profile")
	tb.choose("[data-testid=affiliation-form] select", "Regione Toscana")
	tb.click("[data-testid=affiliation-form] button[type=submit]")
	if got := tb.text(".alert"); !strings.Contains(got, "Richiesta inviata") {
		tb.fatalf("the affiliation request was not sent: %q", got)
	}

	admin := apiLogIn(t, demo.DemoAdministratorEmail, demo.DemoPassword)
	self := apiLogIn(t, member.email, member.password)
	toscana := organizationID(t, "Regione Toscana")
	api(t, "POST", "/v1/members/"+self.Member.ID+"/affiliations/"+toscana+":decide", admin.Token, map[string]any{"verify": true}, nil)
	api(t, "POST", "/v1/members/"+self.Member.ID+":grantRoles", admin.Token, map[string]any{"roles": []string{"ROLE_COORDINATOR"}}, nil)

	// A new log-in carries the new roles.
	tb.click(`form[action="/logout"] button`)
	logIn(tb, member.email, member.password)

	title := fmt.Sprintf("Sportello unico delle competenze %d", time.Now().UnixNano()%1_000_000)
	tb.visit("/manage")
	tb.click(`a[href="/manage/practices/new"]`)
	tb.fill(map[string]string{
		"#f-title":                title,
		"#f-summary":              "Uno sportello unico per riconoscere le competenze dei cittadini.",
		"#f-description":          "Gli operatori accolgono, orientano e registrano le competenze nel libretto.",
		"#f-problem":              "Competenze acquisite sul lavoro che nessuno riconosce.",
		"#f-results":              "Tempi di riconoscimento dimezzati in due anni.",
		"#f-themes":               "lavoro, competenze",
		"#f-languages":            "it",
		"#f-models-0-code":        "A",
		"#f-models-0-title":       "Sportello",
		"#f-models-0-description": "Accoglienza e registrazione.",
		"#f-territory-code":       "ITI1",
		"#f-territory-name":       "Toscana",
		"#f-programme-name":       "PAR GOL",
		"#f-contact-name":         "Ufficio competenze",
		"#f-contact-email":        "competenze@example.org",
	})
	tb.choose("#f-owner_organization_ids", "Regione Toscana")
	tb.click(`[data-testid=practice-form] button[type=submit]`)
	if got := tb.text("h1"); got != title {
		tb.fatalf("after saving, the page is %q, want the practice's form", got)
	}

	tb.click(`[data-move=submit]`)
	if !strings.Contains(tb.text(".portal-meta"), "in validazione") {
		tb.fatalf("after sending it for validation the practice is %q", tb.text(".portal-meta"))
	}
	tb.click(`[data-move=publish]`)
	if !strings.Contains(tb.text(".portal-meta"), "pubblicata") {
		tb.fatalf("after publishing the practice is %q", tb.text(".portal-meta"))
	}

	tb.visit("/practices")
	if got := tb.text("[data-testid=catalogue-results]"); !strings.Contains(got, title) {
		tb.fatalf("the catalogue does not list the new practice: %q", got)
	}
}

// member is a member the test signed up.
type member struct {
	name, email, password string
}

// registerAndLogIn signs a new member up through the portal's forms and
// logs them in.
func registerAndLogIn(tb *tab) member {
	tb.t.Helper()
	n := time.Now().UnixNano() % 1_000_000_000
	m := member{
		name:     fmt.Sprintf("Lucia Test%d", n),
		email:    fmt.Sprintf("lucia.%d@vibo.example", n),
		password: "una-password-lunga-2015",
	}
	tb.visit("/register")
	tb.fill(map[string]string{
		"#f-display_name":      m.name,
		"#f-email":             m.email,
		"#f-password":          m.password,
		"#f-organization_name": "Comune di Vibo Valentia",
		"#f-role_title":        "Funzionario",
	})
	tb.tap("#f-privacy_consent")
	tb.click(`[data-testid=register-form] button[type=submit]`)
	if !strings.Contains(tb.text(".alert"), "Registrazione completata") {
		tb.fatalf("signing up did not lead to the log-in page")
	}
	logIn(tb, m.email, m.password)
	return m
}

// logIn logs in through the portal's form.
func logIn(tb *tab, email, password string) {
	tb.t.Helper()
	tb.visit("/login")
	tb.fill(map[string]string{"#f-email": email, "#f-password": password})
	tb.click(`[data-testid=login-form] button[type=submit]`)
	if eval[int](tb, `document.querySelectorAll('form[action="/logout"]').length`) == 0 {
		tb.fatalf("logging in as %s did not work; at %s the page says %q", email, eval[string](tb, `location.href`), eval[string](tb, `document.body ? document.body.innerText.slice(0, 600) : ""`))
	}
}
