package portal

import (
	"crypto/tls"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// browser is a test client with a cookie jar that does not follow
// redirects, so a test sees each answer.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func startPortal(t *testing.T, w *world) *browser {
	t.Helper()
	p, err := New(Config{AssetsDir: "testdata/no-such-dir"}, w.backends(), slog.New(slog.DiscardHandler), WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: srv.URL, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) answer {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, headers ...string) answer {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

var csrfInPage = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token reads a form token off a page, as a browser would send it back.
func (b *browser) token(path string) string {
	b.t.Helper()
	a := b.get(path)
	m := csrfInPage.FindStringSubmatch(a.body)
	if m == nil {
		b.t.Fatalf("GET %s (%d): no CSRF token in the page", path, a.status)
	}
	return html.UnescapeString(m[1])
}

// logIn puts a session cookie for a member with the roles in the jar.
func (b *browser) logIn(roles ...string) {
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: token("m1", "Maico Centis", testNow.Add(10*time.Minute), roles...), Path: "/"}})
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func setCookie(a answer, name string) *http.Cookie {
	for _, raw := range a.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(raw)
		if err == nil && c.Name == name {
			return c
		}
	}
	return nil
}

func mustContain(t *testing.T, a answer, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(a.body, p) {
			t.Errorf("page (status %d) lacks %q", a.status, p)
		}
	}
}

// pageCases are the pages of the portal as visitors of each kind see
// them; every GET route has at least one.
var pageCases = []struct {
	path   string
	roles  []string // nil: anonymous; else logged in with these
	status int
	want   []string // in the Italian page
	not    []string // in neither page
}{
	{path: "/", status: 200, want: []string{`<html lang="it">`, "Gli ultimi gemellaggi", "Tos.Ca. – Valorizzare le competenze dei cittadini",
		"Maico Centis", "Comune di Pordenone", "Project manager", "Iscrizione: 10 aprile 2018 · Ultimo accesso: 16 aprile 2018", "In diretta dalla community", "Registrati alla community"},
		not: []string{"Un gemellaggio annullato", "Una bozza di gemellaggio"}},
	{path: "/feed", status: 200, want: []string{"/threads/th-general"}},
	{path: "/search", status: 200, want: []string{`action="/search"`, `data-testid="search-form"`, "Tutti i tipi",
		// A place is chosen by its name, not typed as a code.
		`<option value="">Ovunque</option>`, `<option value="ITI1">Toscana</option>`}, not: []string{`data-testid="search-total"`, "codice ISTAT"}},
	{path: "/search?q=competenze", status: 200, want: []string{`data-testid="results-practice"`, "Buone pratiche <span", `data-testid="results-twinning"`,
		"delle <mark>competenze</mark> &lt;script&gt;alert(1)&lt;/script&gt;", `href="/twinnings/`, `data-testid="results-thread"`,
		"Questa parte della ricerca non è disponibile in questo momento", "le <mark>competenze</mark> &amp; i &lt;cittadini&gt;",
		`data-testid="results-organization"`, `href="/organizations/o-toscana"`},
		not: []string{"<script>alert", "Una bozza di gemellaggio"}},
	{path: "/search?q=competenze&territory=ITF6", status: 200, want: []string{`<option value="ITF6" selected>ITF6</option>`}},
	{path: "/search?q=competenze&territory=ITI1", status: 200, want: []string{`data-testid="results-practice"`, "non hanno territorio né tema", `<option value="ITI1" selected>Toscana</option>`},
		not: []string{`data-testid="results-post"`, `data-testid="results-thread"`}},
	{path: "/search?kind=galassia", status: 400, want: []string{"usa un tipo che non esiste"}},
	{path: "/practices", status: 200, want: []string{"Catalogo delle buone pratiche", "lavoro (1.234)", "Regione Toscana", `<option value="ITI1">Toscana (2)</option>`,
		"1 buona pratica pubblicata", `<option value="newest" selected>più recenti</option>`, "1 gemellaggio"}, not: []string{"ITI1 (2)", "pertinenza"}},
	{path: "/practices?q=competenze", status: 200, want: []string{"1 buona pratica trovata", "<mark>competenze</mark> &amp; i &lt;cittadini&gt;"}},
	// A practice lists its cancelled twinnings, marked so, as its figures
	// count them; never drafts.
	{path: "/practices/tos-ca", status: 200, want: []string{"Modelli trasferibili", "Libretto formativo del Cittadino", "priorità 1, 4, 10", "Diffusione",
		`href="/twinnings/t-cancelled">Un gemellaggio annullato</a>`, "1 gemellaggio, 1 abbandonato"}, not: []string{"Una bozza di gemellaggio"}},
	{path: "/twinnings", status: 200, want: []string{"Tutti i gemellaggi", "Regione Toscana, Comune di Firenze → Regione Calabria, Comune di Vibo Valentia"},
		not: []string{"Un gemellaggio annullato", "Una bozza di gemellaggio", "TWINNING_STATUS_DRAFT"}},
	{path: "/twinnings/t-tosca", status: 200, want: []string{"I modelli trasferiti", "5 modelli", "Comune di Vibo Valentia", "Obiettivi", "Risultati attesi",
		"AGIRE POR 2007-2013", "In diretta", "Discussioni nel gemellaggio", "16 maggio 2015</time> – 0 partecipanti", "Vai alla discussione", "Workshop di avvio", "Libretto attivo"}},
	{path: "/twinnings/TOSCA-2012", status: 200, want: []string{"I modelli trasferiti"}},
	{path: "/threads/th-general", status: 200, want: []string{"Isabella Tisci", "<p>Il libretto <strong>funziona</strong>.</p>", "Accedi o registrati"},
		not: []string{`data-testid="reports"`, "Maico Centis"}},
	// A moderator sees on the thread who reported a post and why, as in
	// the queue, and moderates it from there.
	{path: "/threads/th-general", roles: []string{"moderator"}, status: 200, want: []string{`data-testid="reports"`, "Maico Centis", "Fuori tema: parla d&#39;altro", `data-testid="thread-moderation"`}},
	{path: "/threads/th-general", roles: []string{}, status: 200, want: []string{`data-testid="reply-form"`, "Segnala"}},
	{path: "/members", status: 200, want: []string{"Maico Centis", "Iscrizione: 10 aprile 2018 · Ultimo accesso: 16 aprile 2018"},
		not: []string{"Nella community da", "Joined 1 month ago", "Joined 2 months ago"}},
	{path: "/notifications", roles: []string{}, status: 200, want: []string{"1 notifica da leggere", "Isabella Tisci ha risposto", `value="/threads/th-general"`,
		`<option value="daily" selected>Un riepilogo al giorno</option>`, "Le e-mail vanno a maico@example.org.", `data-testid="bell"`}},
	{path: "/twinnings/t-tosca", roles: []string{}, status: 200, want: []string{`data-testid="unfollow"`, `name="kind" value="twinning"`}},
	{path: "/practices/tos-ca", roles: []string{}, status: 200, want: []string{`data-testid="follow"`, `name="kind" value="practice"`}},
	{path: "/privacy", status: 200, want: []string{"Informativa sulla privacy", "Gemella, titolare del trattamento", `href="mailto:info@gemella.example"`, "<h2>I tuoi diritti</h2>"}},
	{path: "/legal-notes", status: 200, want: []string{"Note legali", "Creative Commons"}},
	{path: "/accessibility", status: 200, want: []string{"Dichiarazione di accessibilità", "WCAG 2.1"}},
	{path: "/contacts", status: 200, want: []string{"Contatti", "info@gemella.example"}},
	{path: "/threads", status: 200, want: []string{"Le discussioni della community", `href="/threads/th-general"`, "Su un gemellaggio", "1 messaggio"}},
	{path: "/threads", roles: []string{}, status: 200, want: []string{`data-testid="general-thread-form"`}},
	{path: "/seek-offer", status: 200, want: []string{"Asili nido", "Comune di Vibo Valentia", `href="/needs/n1"`, `href="/offers/o-tosca"`, "modelli A, B, C"},
		not: []string{"Nuova richiesta di supporto"}},
	{path: "/seek-offer", roles: []string{"editor"}, status: 200, want: []string{"Nuova richiesta di supporto", "Nuova offerta di supporto"}},
	{path: "/needs/n-cert", status: 200, want: []string{"Certificazione delle competenze", "Regione Calabria", "Tos.Ca. – Valorizzare",
		"Parole in comune: certificazione, competenze e cittadini.", "Tema in comune: lavoro.", "Nello stesso paese.",
		"Già adottata con successo in 2 altri casi.", "c&#39;è un&#39;offerta aperta", `href="/offers/o-tosca"`}, not: []string{"Proponi un gemellaggio", "Chiudi la richiesta"}},
	{path: "/needs/n-cert", roles: []string{"editor", "org:calabria"}, status: 200, want: []string{
		`href="/manage/twinnings/new?need=n-cert&amp;offer=o-tosca&amp;practice=p-tosca"`, "Chiudi la richiesta"}},
	{path: "/needs/nothing", status: 404},
	{path: "/seek-offer/needs/new", status: 303},
	{path: "/seek-offer/needs/new", roles: []string{}, status: 403},
	{path: "/seek-offer/needs/new", roles: []string{"editor", "org:calabria"}, status: 200, want: []string{`<option value="calabria" selected>Regione Calabria</option>`}},
	{path: "/seek-offer/offers/new?practice=p-tosca", roles: []string{"editor"}, status: 200, want: []string{`name="model_codes" value="A" checked`, "Regione Toscana"}},
	{path: "/offers/o-tosca", status: 200, want: []string{"Offerta: Tos.Ca.", "fino a 2 gemellaggi alla volta", "Certificazione delle competenze", "Tema in comune: lavoro."}},
	{path: "/manage/twinnings/new?need=n-cert&practice=p-tosca&offer=o-tosca", roles: []string{"editor", "org:calabria"}, status: 200, want: []string{
		`data-testid="twinning-origin"`, `value="Certificazione delle competenze"`, `<option value="calabria" selected>`, `<option value="toscana" selected>`,
		`value="ORIGIN_NEED" selected`, `name="practice_id" value="p-tosca"`, `value="AGIRE POR 2007-2013"`}},
	{path: "/admin", status: 303},
	{path: "/admin", roles: []string{"editor"}, status: 403},
	{path: "/admin", roles: []string{"administrator"}, status: 200, want: []string{"Maico Centis", "Chiede di rappresentare Regione Calabria.", "Verifica", "Registra un&#39;organizzazione"}},
	{path: "/admin", roles: []string{"coordinator"}, status: 200, want: []string{"Registra un&#39;organizzazione", "Chiede di rappresentare Regione Calabria.", "Chi coordina vede le richieste"},
		not: []string{`data-testid="verify"`}},
	{path: "/members/m1", status: 200, want: []string{"Maico Centis", "Amministrazioni rappresentate"}, not: []string{"Assegna i ruoli"}},
	{path: "/members/m1", roles: []string{"administrator"}, status: 200, want: []string{"Assegna i ruoli scelti", "ROLE_COORDINATOR", "Verifica",
		`data-testid="revoke-form"`, `id="f-revoke-ROLE_MODERATOR"`, "Decisioni su ruoli e affiliazioni",
		"Ruolo «moderazione» assegnato da Anna Bianchi, 16 giugno 2018, 10:00 (motivo: modera il forum)"}},
	{path: "/members/m9", roles: []string{"administrator"}, status: 200, want: []string{`data-testid="block-form"`, "Sblocca l&#39;account", "Account bloccato dal 16 giugno 2018, 11:00."}},
	{path: "/members/m9", roles: []string{"moderator"}, status: 200, not: []string{`data-testid="block-form"`}},
	{path: "/organizations/toscana", status: 200, want: []string{"Regione Toscana", "Tos.Ca. – Valorizzare", "Le sue buone pratiche"}},
	// A member's page shows what they published and the twinnings of the
	// organisations they speak for; an organisation's, who speaks for it
	// (a pending request is nobody's voice yet).
	{path: "/members/m1", status: 200, want: []string{`data-testid="member-practices"`, "Buone pratiche pubblicate", `data-testid="member-twinnings"`}},
	{path: "/organizations/calabria", status: 200, want: []string{`data-testid="org-people"`, "Nessuna persona con affiliazione verificata."}, not: []string{"Maico Centis"}},
	{path: "/admin/organizations/new", roles: []string{"administrator"}, status: 200, want: []string{`name="kind"`, "Comune"}},
	{path: "/login", status: 200, want: []string{`autocomplete="current-password"`, `href="/password/forgot"`}},
	{path: "/password/forgot", status: 200, want: []string{`action="/password/forgot"`, `autocomplete="email"`}},
	{path: "/password/reset?token=abc", status: 200, want: []string{`action="/password/reset"`, `name="token" value="abc"`, `autocomplete="new-password"`}},
	{path: "/email/verify?token=abc", status: 200, want: []string{`action="/email/verify"`, `name="token" value="abc"`}},
	{path: "/register", status: 200, want: []string{"Nome e cognome", "Regione Calabria", `name="privacy_consent"`, `href="/privacy"`}},
	{path: "/stories/new?twinning=t-tosca", roles: []string{}, status: 200, want: []string{`value="twinning:t-tosca" selected`}},
	{path: "/stories/new", status: 303},
	{path: "/profile", roles: []string{}, status: 200, want: []string{"maico@example.org", "Iscrizione: "},
		not: []string{"Nella community da", "Joined 1 month ago", "Joined 2 months ago"}},
	{path: "/manage", roles: []string{}, status: 403, want: []string{"Accesso negato"}},
	{path: "/manage", roles: []string{"editor"}, status: 200, want: []string{"Nuova buona pratica"}},
	{path: "/manage/practices/new", roles: []string{"editor"}, status: 200, want: []string{`name="models[1].code"`}},
	{path: "/manage/practices/p-tosca", roles: []string{"editor"}, status: 200, want: []string{`value="Tos.Ca. – Valorizzare le competenze dei cittadini"`, "Archivia", `name="models[6].code"`},
		not: []string{`data-testid="practice-delete"`}},
	{path: "/manage/practices/p-tosca", roles: []string{"coordinator"}, status: 200, want: []string{"Archivia", `data-testid="read-only"`}, not: []string{`data-testid="practice-form"`}},
	{path: "/manage/practices/p-tosca", roles: []string{"editor", "org:calabria"}, status: 200, want: []string{`data-testid="read-only"`}, not: []string{`data-testid="practice-form"`, "Archivia"}},
	// Only a draft is offered for deletion, to its editors: a published
	// practice or an active twinning sends back to its page.
	{path: "/manage/practices/p-tosca/delete", roles: []string{"editor"}, status: 303},
	{path: "/manage/twinnings/t-tosca/delete", roles: []string{"editor"}, status: 303},
	{path: "/manage/twinnings/t-draft/delete", roles: []string{"editor", "org:calabria"}, status: 303},
	{path: "/manage/twinnings/t-draft/delete", roles: []string{"editor"}, status: 200, want: []string{"Eliminare la bozza del gemellaggio «Una bozza di gemellaggio»?", `data-testid="confirm-delete"`}},
	{path: "/manage/twinnings/t-draft", roles: []string{"editor"}, status: 200, want: []string{`data-testid="twinning-delete"`}},
	{path: "/manage/twinnings/t-tosca", roles: []string{"editor"}, status: 200, not: []string{`data-testid="twinning-delete"`}},
	{path: "/manage/twinnings/new", roles: []string{"editor"}, status: 200, want: []string{"Nuovo gemellaggio"}},
	{path: "/manage/twinnings/t-tosca", roles: []string{"editor"}, status: 200, want: []string{"Sospendi", "Segna come completata", `data-testid="transfer-form"`},
		not: []string{"Concludi", "Annulla il gemellaggio"}},
	{path: "/manage/twinnings/t-tosca", roles: []string{"coordinator"}, status: 200, want: []string{"Sospendi", "Concludi", "Annulla il gemellaggio"}},
	{path: "/manage/twinnings/t-tosca", roles: []string{"editor", "org:calabria"}, status: 200, want: []string{`name="status"`}, not: []string{"Sospendi", `data-testid="transfer-form"`}},
	{path: "/moderation", roles: []string{"editor"}, status: 403},
	{path: "/moderation", roles: []string{"moderator"}, status: 200, want: []string{"Messaggi segnalati", "Registro della moderazione", "Nessuna decisione di moderazione finora."}},
	{path: "/practices/nothing", status: 404, want: []string{"Pagina non trovata"}},
	{path: "/no/such/page", status: 404, want: []string{"Pagina non trovata"}},
}

func TestEveryPageRenders(t *testing.T) {
	tests := pageCases
	missingID := regexp.MustCompile(`\[[a-z_]+\.[a-z_.0-9]+\]|%!|\(MISSING\)|\(EXTRA `)
	for _, tc := range tests {
		// Every page in both languages: a message id missing in either,
		// or a message given the wrong arguments, fails the test.
		for _, lang := range []Lang{Italian, English} {
			t.Run(string(lang)+tc.path, func(t *testing.T) {
				b := startPortal(t, newWorld())
				u, _ := url.Parse(b.base)
				b.client.Jar.SetCookies(u, []*http.Cookie{{Name: langCookie, Value: string(lang), Path: "/"}})
				if tc.roles != nil {
					b.logIn(tc.roles...)
				}
				a := b.get(tc.path)
				if a.status != tc.status {
					t.Fatalf("GET %s = %d, want %d; body:\n%.2000s", tc.path, a.status, tc.status, a.body)
				}
				if lang == Italian {
					mustContain(t, a, tc.want...)
				}
				for _, n := range tc.not {
					if strings.Contains(a.body, n) {
						t.Errorf("page shows %q", n)
					}
				}
				if m := missingID.FindString(a.body); m != "" {
					t.Errorf("page shows a missing or misused message: %s", m)
				}
			})
		}
	}
}

func TestUserTextIsEscaped(t *testing.T) {
	w := newWorld()
	w.catalog.practices[0].Title = `<script>alert("title")</script>`
	w.catalog.practices[0].Description = `<img src=x onerror=alert(1)>`
	w.discussion.members[0].DisplayName = `<b onmouseover=alert(2)>Maico</b>`
	w.discussion.posts[0].AuthorName = `<script>alert(3)</script>`
	b := startPortal(t, w)

	for _, path := range []string{"/", "/practices", "/practices/tos-ca", "/threads/th-general", "/members"} {
		a := b.get(path)
		for _, raw := range []string{`<script>alert`, `<img src=x`, `<b onmouseover`} {
			if strings.Contains(a.body, raw) {
				t.Errorf("GET %s puts user text %q into the page unescaped", path, raw)
			}
		}
	}
	practice := b.get("/practices/tos-ca")
	mustContain(t, practice, `&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;`)
	if strings.Contains(practice.body, "onerror") {
		t.Error("the practice's description puts an event handler into the page")
	}
	// The one field taken as HTML: the discussion service's sanitised body.
	mustContain(t, b.get("/threads/th-general"), `<p>Il libretto <strong>funziona</strong>.</p>`, `&lt;script&gt;alert(3)&lt;/script&gt;`)
}

// Practice texts are Markdown, rendered with the posts' sanitiser.
func TestPracticeTextsAreRenderedFromMarkdown(t *testing.T) {
	w := newWorld()
	w.catalog.practices[0].Description = "Il **Libretto formativo**:\n\n- modello A\n- modello B\n\n<script>alert(1)</script> [clic](javascript:alert(2))"
	w.catalog.practices[0].Results = "Tempi _dimezzati_."
	a := startPortal(t, w).get("/practices/tos-ca")
	mustContain(t, a, "<strong>Libretto formativo</strong>", "<li>modello A</li>", "<em>dimezzati</em>")
	for _, raw := range []string{"**", "- modello", "<script>alert", "javascript:"} {
		if strings.Contains(a.body, raw) {
			t.Errorf("the practice page shows %q", raw)
		}
	}
}

// A practice's languages are named in the reader's language, not given as
// the codes it stores; a code nobody knows is still shown.
func TestPracticeLanguagesAreNamedInTheReadersLanguage(t *testing.T) {
	w := newWorld()
	w.catalog.practices[0].Languages = []string{"it", "en", "fur", "zz"}
	for lang, want := range map[Lang]string{
		Italian: "<dd>italiano, inglese, friulano, zz</dd>",
		English: "<dd>Italian, English, Friulian, zz</dd>",
	} {
		b := startPortal(t, w)
		u, _ := url.Parse(b.base)
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: langCookie, Value: string(lang), Path: "/"}})
		mustContain(t, b.get("/practices/tos-ca"), want)
	}
	l := newLocale(English, func() time.Time { return testNow })
	for code, want := range map[string]string{"de": "German", " sl ": "Slovenian", "IT": "Italian", "not a code": "not a code", "": ""} {
		if got := l.LanguageName(code); got != want {
			t.Errorf("LanguageName(%q) = %q, want %q", code, got, want)
		}
	}
}

// Only the discussion service's body_html fields are ever taken as HTML.
func TestOnlyBodyHTMLIsTrustedByTemplates(t *testing.T) {
	uses := regexp.MustCompile(`sanitizedHTML\s+([^}\s)]+)`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, _ := fs.ReadFile(templateFS, path)
		for _, m := range uses.FindAllStringSubmatch(string(src), -1) {
			if !strings.HasSuffix(m[1], ".GetBodyHtml") {
				t.Errorf("%s: sanitizedHTML applied to %s; only body_html fields may be", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFormsNeedACSRFToken(t *testing.T) {
	w := newWorld()
	b := startPortal(t, w)
	b.logIn()
	form := url.Values{"body": {"Ciao a tutti"}}

	a := b.post("/threads/th-general/posts", form)
	if a.status != http.StatusForbidden {
		t.Fatalf("reply without a token = %d, want 403", a.status)
	}
	mustContain(t, a, "Il modulo è scaduto o non proviene da questo sito")
	if w.discussion.added != nil {
		t.Fatal("the post was sent to the discussion service without a token")
	}

	form.Set(csrfField, "forged-"+strings.Repeat("x", 40))
	if a := b.post("/threads/th-general/posts", form); a.status != http.StatusForbidden {
		t.Fatalf("reply with a forged token = %d, want 403", a.status)
	}

	form.Set(csrfField, b.token("/threads/th-general"))
	if a := b.post("/threads/th-general/posts", form, "Sec-Fetch-Site", "cross-site"); a.status != http.StatusForbidden {
		t.Fatalf("cross-site reply = %d, want 403", a.status)
	}
	a = b.post("/threads/th-general/posts", form)
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/threads/th-general#post-p-new") {
		t.Fatalf("reply with a token = %d to %q, want 303 to the post", a.status, a.header.Get("Location"))
	}
	if got := w.discussion.added.GetPost().GetBody(); got != "Ciao a tutti" {
		t.Errorf("posted body %q", got)
	}

	// A token belongs to its session: after logging in as someone else it
	// no longer works.
	stale := form.Get(csrfField)
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: token("m9", "Altro", testNow.Add(time.Hour)), Path: "/"}})
	form.Set(csrfField, stale)
	if a := b.post("/threads/th-general/posts", form); a.status != http.StatusForbidden {
		t.Fatalf("reply with another session's token = %d, want 403", a.status)
	}
}

func TestFieldViolationsAreShownNextToTheirFields(t *testing.T) {
	w := newWorld()
	st, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "practice.summary", Description: "is required before the practice is submitted"},
		{Field: "models[0].code", Description: "must be a capital letter followed by up to two capital letters or digits, e.g. A"},
		{Field: "themes[1]", Description: "must not be blank"},
		{Field: "contact.email", Description: "a rule no table knows"},
	}})
	w.catalog.createErr = st.Err()
	b := startPortal(t, w)
	b.logIn("editor")

	form := url.Values{
		csrfField:                {b.token("/manage/practices/new")},
		"title":                  {"Sportello"},
		"owner_organization_ids": {"toscana"},
		"summary":                {"Una <sintesi>"},
		"models[0].code":         {"a"},
		"models[0].title":        {"Modello a"},
		"themes":                 {"lavoro, ;"},
	}
	a := b.post("/manage/practices/new", form)
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %.1500s", a.status, a.body)
	}
	mustContain(t, a,
		`id="form-errors"`, "Correggi i campi indicati.",
		`id="f-summary" name="summary" rows="4" aria-describedby="f-summary-error" aria-invalid="true"`,
		`<div id="f-summary-error" class="invalid-feedback d-block" data-field="summary">Va compilato prima di inviare la buona pratica per la validazione.</div>`,
		`<a href="#f-summary">Sintesi: Va compilato prima`,
		`<a href="#f-models-0-code">Modello n. 1 – Codice del modello: Usa una lettera maiuscola`,
		`data-field="themes">Campo obbligatorio.</div>`, `<a href="#f-themes-1">Temi: Campo obbligatorio.`,
		`<a href="#f-contact-email">E-mail del referente: Valore non accettato: controllalo e riprova.`,
		`value="Modello a"`, `Una &lt;sintesi&gt;</textarea>`)
	for _, raw := range []string{"practice.summary", "models[0].code:", "must be", "is required", "goroutine", ".go:"} {
		if strings.Contains(a.body, raw) {
			t.Errorf("the page shows the service's words or internals: %q", raw)
		}
	}
}

// A form missing what it needs names the missing fields, in the page's
// language, before any service is asked: no "Non hai i permessi".
func TestEmptyFormsNameTheirMissingFields(t *testing.T) {
	for _, tc := range []struct {
		lang Lang
		want []string
	}{
		{Italian, []string{"Correggi i campi indicati.", "Codice: Campo obbligatorio.", "Titolo: Campo obbligatorio.",
			"Amministrazioni offerenti: Campo obbligatorio.", "Amministrazioni destinatarie: Campo obbligatorio."}},
		{English, []string{"Please correct the fields shown.", "Code: This field is required.", "Title: This field is required.",
			"Offering administrations: This field is required.", "Receiving administrations: This field is required."}},
	} {
		w := newWorld()
		b := startPortal(t, w)
		u, _ := url.Parse(b.base)
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: langCookie, Value: string(tc.lang), Path: "/"}})
		b.logIn("editor")
		a := b.post("/manage/twinnings/new", url.Values{csrfField: {b.token("/manage/twinnings/new")}})
		if a.status != http.StatusBadRequest {
			t.Fatalf("%s: empty twinning form = %d, want 400", tc.lang, a.status)
		}
		mustContain(t, a, tc.want...)
		if strings.Contains(a.body, "permessi") || strings.Contains(a.body, "not allowed") {
			t.Errorf("%s: the empty form speaks of permissions", tc.lang)
		}
		if w.twinning.created != nil {
			t.Errorf("%s: the empty form was sent to the twinning service", tc.lang)
		}
	}
}

func TestBackendFailuresArePagesWithoutInternals(t *testing.T) {
	w := newWorld()
	w.catalog.getErr = status.Error(codes.Internal, "driver failed on mongodb://admin:hunter2@10.0.0.7")
	b := startPortal(t, w)
	a := b.get("/practices/tos-ca")
	if a.status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", a.status)
	}
	mustContain(t, a, "Si è verificato un errore inatteso")
	if strings.Contains(a.body, "hunter2") {
		t.Error("the error page leaks the backend's message")
	}

	// A service the gateway does not reach: its parts of the home page say
	// so, the rest is shown.
	p, err := New(Config{}, Backends{Catalog: w.catalog}, slog.New(slog.DiscardHandler), WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("home without twinning and discussion = %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "Questa parte non è disponibile in questo momento") || !strings.Contains(body, "Le ultime buone pratiche") {
		t.Errorf("home without twinning and discussion:\n%.3000s", body)
	}
}

func TestLanguageSwitchPersistsInACookie(t *testing.T) {
	b := startPortal(t, newWorld())
	a := b.get("/twinnings/t-tosca")
	mustContain(t, a, `<html lang="it">`, "I modelli trasferiti", `lang="en" data-testid="language-switch">English</button>`)

	a = b.post("/language", url.Values{csrfField: {b.token("/twinnings/t-tosca")}, "lang": {"en"}, "return": {"/twinnings/t-tosca"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/twinnings/t-tosca" {
		t.Fatalf("switch = %d to %q, want 303 back to the page", a.status, a.header.Get("Location"))
	}
	c := setCookie(a, langCookie)
	if c == nil || c.Value != "en" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge < 30*24*3600 {
		t.Fatalf("language cookie %+v, want en, HttpOnly, SameSite=Lax, long-lived", c)
	}
	a = b.get("/twinnings/t-tosca")
	mustContain(t, a, `<html lang="en">`, "The models transferred", "16 May 2015</time> – 0 participants", "Go to the discussion", ">Italiano</button>")
	a = b.get("/")
	mustContain(t, a, "Latest twinnings", "Joined on 10 April 2018 · Last login: 16 April 2018")

	// A switch never sends the browser to another site.
	a = b.post("/language", url.Values{csrfField: {b.token("/")}, "lang": {"it"}, "return": {"//evil.example/"}})
	if loc := a.header.Get("Location"); loc != "/" {
		t.Errorf("switch with a foreign return = %q, want /", loc)
	}
}

func TestLoginKeepsTheTokenInASessionCookie(t *testing.T) {
	w := newWorld()
	tok := token("m1", "Maico Centis", testNow.Add(15*time.Minute), "editor")
	// The cookie lives until the session expires by the real clock (the
	// cookie jar's); the token's own expiry is checked on the portal's.
	w.discussion.session = &discussionv1.Session{Token: tok, ExpireTime: ts(time.Now().Add(15 * time.Minute)), Member: w.discussion.members[0]}
	b := startPortal(t, w)

	a := b.post("/login", url.Values{csrfField: {b.token("/login")}, "email": {"maico@example.org"}, "password": {"una password lunga"}, "next": {"/twinnings/t-tosca"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/twinnings/t-tosca" {
		t.Fatalf("login = %d to %q; body %.500s", a.status, a.header.Get("Location"), a.body)
	}
	c := setCookie(a, SessionCookie)
	if c == nil || c.Value != tok || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
		t.Fatalf("session cookie %+v, want the token, HttpOnly, SameSite=Lax, not Secure over plain HTTP", c)
	}
	if setCookie(a, csrfCookie) == nil {
		t.Error("log-in does not renew the CSRF id")
	}

	a = b.get("/twinnings/t-tosca")
	mustContain(t, a, "Maico Centis", "Gestisci il gemellaggio")
	if got := w.rec.lastAuth(); got != "Bearer "+tok {
		t.Errorf("backend calls carry authorization %q, want the bearer token", got)
	}

	// A wrong password is a message on the form.
	w.discussion.loginErr = status.Error(codes.Unauthenticated, "wrong e-mail or password")
	a = b.post("/login", url.Values{csrfField: {b.token("/login")}, "email": {"maico@example.org"}, "password": {"sbagliata"}})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("wrong password = %d, want 401", a.status)
	}
	mustContain(t, a, "E-mail o password errate.", `value="maico@example.org"`)
	if strings.Contains(a.body, "sbagliata") {
		t.Error("the page sends the password back")
	}
}

func TestCookiesAreSecureOverTLS(t *testing.T) {
	w := newWorld()
	w.discussion.session = &discussionv1.Session{Token: token("m1", "M", testNow.Add(time.Hour)), ExpireTime: ts(time.Now().Add(time.Hour))}
	p, err := New(Config{}, w.backends(), slog.New(slog.DiscardHandler), WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(p)
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // test server

	resp, err := client.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if !c.Secure || !c.HttpOnly {
			t.Errorf("cookie %s over TLS: Secure=%v HttpOnly=%v", c.Name, c.Secure, c.HttpOnly)
		}
	}
	tok := html.UnescapeString(csrfInPage.FindStringSubmatch(string(body))[1])
	resp, err = client.PostForm(srv.URL+"/login", url.Values{csrfField: {tok}, "email": {"a@b.it"}, "password": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			session = c
		}
	}
	if session == nil || !session.Secure {
		t.Fatalf("session cookie over TLS: %+v, want Secure", session)
	}
}

func TestExpiredSessionIsForgotten(t *testing.T) {
	b := startPortal(t, newWorld())
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: token("m1", "Maico", testNow.Add(-time.Minute)), Path: "/"}})
	a := b.get("/")
	mustContain(t, a, "La sessione è scaduta: accedi di nuovo.", `href="/login"`)
	if c := setCookie(a, SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("expired session cookie not cleared: %+v", c)
	}
}

func TestSessionIsRefreshedBeforeItExpires(t *testing.T) {
	w := newWorld()
	fresh := token("m1", "Maico Centis", testNow.Add(15*time.Minute), "editor")
	w.discussion.session = &discussionv1.Session{Token: fresh, ExpireTime: ts(time.Now().Add(15 * time.Minute))}
	b := startPortal(t, w)
	u, _ := url.Parse(b.base)

	// Far from expiry: no refresh.
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: token("m1", "Maico Centis", testNow.Add(12*time.Minute)), Path: "/"}})
	b.get("/")
	if w.discussion.refreshed != 0 {
		t.Fatalf("a token 12 minutes from expiry was refreshed")
	}

	// Two minutes from expiry: the page gets a fresh token and the cookie keeps it.
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: token("m1", "Maico Centis", testNow.Add(2*time.Minute)), Path: "/"}})
	a := b.get("/")
	if w.discussion.refreshed != 1 {
		t.Fatalf("refreshed %d times, want once", w.discussion.refreshed)
	}
	if c := setCookie(a, SessionCookie); c == nil || c.Value != fresh || !c.HttpOnly {
		t.Fatalf("refreshed session cookie %+v, want the fresh token", c)
	}
	mustContain(t, a, "Gestione") // the fresh token's editor role

	// A session the service no longer refreshes (logged out elsewhere, too
	// old) ends here.
	w.discussion.refreshErr = status.Error(codes.Unauthenticated, "session logged out")
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: token("m1", "Maico Centis", testNow.Add(time.Minute)), Path: "/"}})
	a = b.get("/")
	mustContain(t, a, "La sessione è scaduta", `href="/login"`)
}

func TestLogoutEndsTheSession(t *testing.T) {
	w := newWorld()
	b := startPortal(t, w)
	b.logIn()
	a := b.post("/logout", url.Values{csrfField: {b.token("/")}})
	if a.status != http.StatusSeeOther || w.discussion.deleted != 1 {
		t.Fatalf("logout = %d, DeleteSession called %d times; want 303 and once", a.status, w.discussion.deleted)
	}
	if c := setCookie(a, SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout does not drop the session cookie: %+v", c)
	}
	if c := setCookie(a, csrfCookie); c == nil || c.Value == "" {
		t.Errorf("logout does not renew the CSRF id: %+v", c)
	}
}

// A form sent after the session expired asks to log in again, rather than
// refusing the form as forged.
func TestFormAfterTheSessionExpiredAsksToLogIn(t *testing.T) {
	w := newWorld()
	b := startPortal(t, w)
	b.logIn()
	tok := b.token("/threads/th-general")
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: token("m1", "Maico Centis", testNow.Add(-time.Minute)), Path: "/"}})
	a := b.post("/threads/th-general/posts", url.Values{csrfField: {tok}, "body": {"ciao"}}, "Referer", b.base+"/threads/th-general")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/login?next=%2Fthreads%2Fth-general") {
		t.Fatalf("reply with an expired session = %d to %q, want 303 to the log-in page", a.status, a.header.Get("Location"))
	}
	if w.discussion.added != nil {
		t.Error("the reply was sent without a session")
	}
}

func TestDatesAndNumbersInTheChosenLanguage(t *testing.T) {
	it, en := newLocale(Italian, func() time.Time { return testNow }), newLocale(English, func() time.Time { return testNow })
	tests := []struct {
		name   string
		got    string
		expect string
	}{
		{"two months ago, it", it.Ago(time.Date(2018, time.April, 10, 9, 0, 0, 0, rome)), "2 mesi fa"},
		{"two months ago, en", en.Ago(time.Date(2018, time.April, 10, 9, 0, 0, 0, rome)), "2 months ago"},
		{"one month, it", it.Ago(time.Date(2018, time.May, 16, 12, 0, 0, 0, rome)), "1 mese fa"},
		{"not yet a month", it.Ago(time.Date(2018, time.May, 16, 12, 0, 1, 0, rome)), "30 giorni fa"},
		{"years", en.Ago("2015-05-16"), "3 years ago"},
		{"hours", it.Ago(testNow.Add(-90 * time.Minute)), "1 ora fa"},
		{"minutes", en.Ago(testNow.Add(-5 * time.Minute)), "5 minutes ago"},
		{"just now", it.Ago(testNow.Add(-10 * time.Second)), "adesso"},
		{"future", en.Ago(testNow.Add(time.Hour)), "just now"},
		{"date, it", it.Date("2015-05-16"), "16 maggio 2015"},
		{"date, en", en.Date(ts(time.Date(2015, time.May, 16, 23, 30, 0, 0, time.UTC))), "17 May 2015"},
		{"unreadable date", it.Date("someday"), "someday"},
		{"no date", it.Date(""), ""},
		{"number, it", it.Num(1234567), "1.234.567"},
		{"number, en", en.Num(int32(1234567)), "1,234,567"},
		{"plural, it", it.N("thread.participants", int32(0)), "0 partecipanti"},
		{"singular, en", en.N("thread.participants", 1), "1 participant"},
	}
	for _, tc := range tests {
		if tc.got != tc.expect {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.expect)
		}
	}
}

// Both languages have every message, and every id the templates and the
// code name, plus a label for every value of every enum the pages show.
func TestMessageCatalogueIsComplete(t *testing.T) {
	for id, m := range italian {
		en, ok := english[id]
		if !ok {
			t.Errorf("%q has no English text", id)
			continue
		}
		if _, isForms := m.(forms); isForms != isFormsValue(en) {
			t.Errorf("%q is a plural in one language only", id)
		}
	}
	for id := range english {
		if _, ok := italian[id]; !ok {
			t.Errorf("%q has no Italian text", id)
		}
	}
	if _, err := catalogueOf(map[Lang]messages{Italian: italian, English: english}); err != nil {
		t.Errorf("the tables do not load: %v", err)
	}
	used := map[string]bool{}
	single := regexp.MustCompile(`\.T\(?\s*"([a-z_.0-9]+)"`)
	plural := regexp.MustCompile(`\.N\(?\s*"([a-z_.0-9]+)"`)
	ids := regexp.MustCompile(`"((?:flash|error|form|rule|section)\.[a-z_.]+)"`)
	var sources []string
	_ = fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			src, _ := fs.ReadFile(templateFS, path)
			sources = append(sources, string(src))
		}
		return nil
	})
	goFiles, _ := fs.Glob(os.DirFS("."), "*.go")
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") || f == "messages.go" {
			continue
		}
		src, _ := fs.ReadFile(os.DirFS("."), f)
		sources = append(sources, string(src))
	}
	for _, src := range sources {
		for _, m := range single.FindAllStringSubmatch(src, -1) {
			if !strings.HasSuffix(m[1], ".") {
				used[m[1]] = true
			}
		}
		for _, m := range plural.FindAllStringSubmatch(src, -1) {
			used[m[1]] = true
		}
		for _, m := range ids.FindAllStringSubmatch(src, -1) {
			if !strings.HasSuffix(m[1], ".") {
				used[m[1]] = true
			}
		}
	}
	for _, id := range liveCategories {
		used[id] = true
	}
	for _, status := range []string{"400", "403", "404", "429", "500", "503"} {
		used["error.title."+status] = true
	}
	for _, move := range []string{"submit", "publish", "archive"} {
		used["manage.practice.move."+move] = true
	}
	for _, move := range []string{"propose", "approve", "activate", "suspend", "resume", "complete", "cancel"} {
		used["manage.twinning.move."+move] = true
	}
	for _, k := range reportReasons {
		used["report.reason."+k] = true
	}
	for _, k := range []string{"theme", "sector", "territory"} {
		used["catalogue."+k] = true
	}
	for _, k := range []string{"results", "evidence", "resources", "prerequisites"} {
		used["practice."+k] = true
	}
	for _, enum := range []string{
		"gemella.twinning.v1.TwinningStatus", "gemella.twinning.v1.TransferStatus", "gemella.twinning.v1.ActivityKind",
		"gemella.twinning.v1.MilestoneState", "gemella.twinning.v1.Origin", "gemella.catalog.v1.PracticeStatus",
		"gemella.discussion.v1.PostState", "gemella.discussion.v1.StoryStatus", "gemella.discussion.v1.AffiliationStatus",
		"gemella.discussion.v1.Role",
	} {
		et, err := protoregistry.GlobalTypes.FindEnumByName(protoreflect.FullName(enum))
		if err != nil {
			t.Fatalf("enum %s: %v", enum, err)
		}
		values := et.Descriptor().Values()
		for i := range values.Len() {
			used["enum."+string(values.Get(i).Name())] = true
		}
	}
	var missing []string
	for id := range used {
		if _, ok := italian[id]; !ok {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	for _, id := range missing {
		t.Errorf("message %q is used but not in the catalogue", id)
	}
}

// Every GET route of the portal is among the pages TestEveryPageRenders
// renders in both languages.
func TestEveryRouteIsRendered(t *testing.T) {
	src, err := os.ReadFile("portal.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`"GET (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 25 {
		t.Fatalf("found %d GET routes in portal.go; the reading is broken", len(routes))
	}
	for path := range infoPages {
		routes = append(routes, []string{"", path})
	}
	for _, rt := range routes {
		pattern := rt[1]
		if pattern == "/feed" || strings.HasPrefix(pattern, "/static") {
			continue // the live feed's fragment, and files
		}
		re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(strings.TrimSuffix(pattern, "{$}")), `[^/?]+`) + `(\?.*)?$`)
		found := false
		for _, c := range pageCases {
			if re.MatchString(c.path) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("the route GET %s is not among the pages rendered", pattern)
		}
	}
}

func isFormsValue(m any) bool {
	_, ok := m.(forms)
	return ok
}

func TestRedirectsStayOnTheSite(t *testing.T) {
	for target, want := range map[string]string{
		"/twinnings/x?y=1":      "/twinnings/x?y=1",
		"//evil.example/":       "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		"":                      "/",
	} {
		if got := localPath(target, "/"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", target, got, want)
		}
	}
}

func TestHighlightKeepsOnlyMarks(t *testing.T) {
	got := highlight(`a &lt;b&gt; <mark>c&amp;d</mark> <script>`)
	want := []segment{{Text: "a <b> "}, {Text: "c&d", Mark: true}, {Text: " <script>"}}
	if !slices.Equal(got, want) {
		t.Errorf("highlight = %+v, want %+v", got, want)
	}
}

func TestAssetsAreServedFromTheConfiguredFolder(t *testing.T) {
	w := newWorld()
	dir := t.TempDir()
	dist := dir + "/bootstrap-italia/dist"
	for _, f := range []string{"css/bootstrap-italia.min.css", "js/bootstrap-italia.bundle.min.js", "fonts/Lora/lora.woff2", "svg/sprites.svg", "../package.json"} {
		if err := os.MkdirAll(path.Dir(dist+"/"+f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dist+"/"+f, []byte("/* "+f+" */"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs strings.Builder
	p, err := New(Config{AssetsDir: dir}, w.backends(), slog.New(slog.NewTextHandler(&logs, nil)), WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	if rec := get("/"); !strings.Contains(rec.Body.String(), `href="/static/bootstrap-italia/css/bootstrap-italia.min.css"`) {
		t.Error("the page does not link the stylesheet")
	}
	for path, want := range map[string]int{
		"/static/bootstrap-italia/css/bootstrap-italia.min.css": 200,
		"/static/bootstrap-italia/fonts/Lora/lora.woff2":        200,
		"/static/bootstrap-italia/css/":                         404,
		"/static/bootstrap-italia/package.json":                 404,
		"/static/bootstrap-italia/../package.json":              404,
		"/static/portal/portal.js":                              200,
		"/static/portal/":                                       404,
	} {
		if rec := get(path); rec.Code != want && !(want == 404 && rec.Code >= 300 && rec.Code < 400) {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, want)
		}
	}

	logs.Reset()
	p, err = New(Config{AssetsDir: dir + "/missing"}, w.backends(), slog.New(slog.NewTextHandler(&logs, nil)), WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "make web") {
		t.Errorf("missing assets are not reported: %s", logs.String())
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "bootstrap-italia.min.css") || !strings.Contains(rec.Body.String(), "/static/portal/portal.css") {
		t.Errorf("without assets the home page = %d and links bootstrap-italia or lacks its own stylesheet", rec.Code)
	}
}

// A path that is not UTF-8 names no page: "not found", in words, on every
// route that takes an id (the fakes, like the services, would fail on it).
func TestAPathThatIsNotUTF8IsNotFound(t *testing.T) {
	b := startPortal(t, newWorld())
	for _, path := range []string{"/practices/%FF", "/twinnings/%FF", "/twinnings/%FF/reports", "/threads/%FF", "/members/%FF",
		"/needs/%FF", "/offers/%FF", "/organizations/%FF", "/manage/practices/%C0%AF"} {
		a := b.get(path)
		if a.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, a.status)
		}
	}
}

// The figures of a practice agree with their numbers: 1 gemellaggio, 5
// trasferimenti in corso; 1 twinning, 5 transfers in progress.
func TestAdoptionFiguresAgreeWithTheirNumbers(t *testing.T) {
	for lang, want := range map[Lang][]string{
		Italian: {"<strong>1</strong> gemellaggio<", "<strong>5</strong> trasferimenti in corso<", "<strong>0</strong> modelli adottati<"},
		English: {"<strong>1</strong> twinning<", "<strong>5</strong> transfers in progress<", "<strong>0</strong> models adopted<"},
	} {
		b := startPortal(t, newWorld())
		u, _ := url.Parse(b.base)
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: langCookie, Value: string(lang), Path: "/"}})
		mustContain(t, b.get("/practices/tos-ca"), want...)
	}
}

// The practice form with Lingue = "italiano, EN" and a model with a title
// but no code: each wrong language is named by its value, each message is
// shown once, the sentences under a field are joined as sentences, and the
// empty code is said to be required, not to have the wrong shape.
func TestPerValueAndEmptyFieldErrorsOnThePracticeForm(t *testing.T) {
	const iso = "must be an ISO 639-1 code of two lower-case letters, e.g. it"
	w := newWorld()
	st, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "practice.languages[0]", Description: iso},
		{Field: "practice.languages[1]", Description: iso},
		{Field: "practice.languages[1]", Description: iso},
		{Field: "practice.models[0].code", Description: "must be a capital letter followed by up to two capital letters or digits, e.g. A"},
	}})
	w.catalog.createErr = st.Err()
	b := startPortal(t, w)
	b.logIn("editor")
	a := b.post("/manage/practices/new", url.Values{
		csrfField:                {b.token("/manage/practices/new")},
		"title":                  {"Sportello"},
		"owner_organization_ids": {"toscana"},
		"languages":              {"italiano, EN"},
		"models[0].code":         {""},
		"models[0].title":        {"Modello senza codice"},
	})
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %.1500s", a.status, a.body)
	}
	mustContain(t, a,
		`<a href="#f-languages">Lingue: «italiano» non è un codice di lingua`,
		`<a href="#f-languages">Lingue: «EN» non è un codice di lingua`,
		`data-field="languages">«italiano» non è un codice di lingua: usa due lettere minuscole, per esempio it. «EN» non è un codice di lingua`,
		`<a href="#f-models-0-code">Modello n. 1 – Codice del modello: Campo obbligatorio.`)
	if n := strings.Count(a.body, `Lingue: «EN»`); n != 1 {
		t.Errorf("the summary names «EN» %d times, want once", n)
	}
	for _, bad := range []string{".;", "Usa una lettera maiuscola", "Lingue: Indica le lingue"} {
		if strings.Contains(a.body, bad) {
			t.Errorf("the page says %q", bad)
		}
	}
}
