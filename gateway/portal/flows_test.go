package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// An editor of Regione Calabria posts a need and lands on its page with
// the suggestions.
func TestEditorPostsANeed(t *testing.T) {
	w := newWorld()
	b := startPortal(t, w)
	b.logIn("editor", "org:calabria")
	form := url.Values{
		csrfField: {b.token("/seek-offer/needs/new")}, "request_id": {"r1"}, "organization_id": {"calabria"},
		"title": {"Certificare le competenze"}, "problem": {"Servono standard regionali."}, "themes": {"lavoro, competenze"},
		"territory.code": {"ITF6"}, "language": {"it"},
	}
	a := b.post("/seek-offer/needs/new", form)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/needs/n-new" {
		t.Fatalf("post a need = %d to %q, want 303 to its page; body %.800s", a.status, a.header.Get("Location"), a.body)
	}
	got := w.catalog.so.createdNeed
	if got.GetNeed().GetOrganizationId() != "calabria" || strings.Join(got.GetNeed().GetThemes(), "|") != "lavoro|competenze" || got.GetRequestId() != "r1" {
		t.Errorf("the need sent is %v", got)
	}

	// Another organisation's need is refused before it is sent, in words.
	w.catalog.so.createdNeed = nil
	form.Set("organization_id", "toscana")
	a = b.post("/seek-offer/needs/new", form)
	if a.status != http.StatusForbidden || w.catalog.so.createdNeed != nil {
		t.Fatalf("a need for another organisation = %d (sent: %v), want 403 unsent", a.status, w.catalog.so.createdNeed != nil)
	}
	mustContain(t, a, "Solo chi redige per Regione Toscana può scriverne le richieste.")

	// An empty form names its fields.
	a = b.post("/seek-offer/needs/new", url.Values{csrfField: {form.Get(csrfField)}})
	mustContain(t, a, "Amministrazione che chiede supporto: Campo obbligatorio.", "Titolo della richiesta: Campo obbligatorio.", "Il problema: Campo obbligatorio.")
}

// An administrator verifies a pending affiliation from /admin, refuses one
// only with a reason, and grants a role from the member's page.
func TestAdministratorDecidesAffiliationsAndGrantsRoles(t *testing.T) {
	w := newWorld()
	b := startPortal(t, w)
	b.logIn("administrator")
	tok := b.token("/admin")

	a := b.post("/admin/members/m1/affiliations/calabria", url.Values{csrfField: {tok}, "action": {"refuse"}})
	if a.status != http.StatusBadRequest || len(w.discussion.decided.affiliate) != 0 {
		t.Fatalf("a refusal without a reason = %d (sent %d), want 400 unsent", a.status, len(w.discussion.decided.affiliate))
	}
	mustContain(t, a, "Motivo: Campo obbligatorio.")

	a = b.post("/admin/members/m1/affiliations/calabria", url.Values{csrfField: {tok}, "action": {"verify"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/admin" {
		t.Fatalf("verify = %d to %q", a.status, a.header.Get("Location"))
	}
	if d := w.discussion.decided.affiliate; len(d) != 1 || !d[0].GetVerify() || d[0].GetMemberId() != "m1" || d[0].GetOrganizationId() != "calabria" {
		t.Fatalf("decisions sent: %v", d)
	}

	a = b.post("/admin/members/m1/roles", url.Values{csrfField: {tok}, "roles": {"ROLE_MODERATOR", "ROLE_EDITOR"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/members/m1" {
		t.Fatalf("grant = %d to %q", a.status, a.header.Get("Location"))
	}
	if g := w.discussion.decided.grants; len(g) != 1 || len(g[0].GetRoles()) != 1 || g[0].GetRoles()[0] != discussionv1.Role_ROLE_MODERATOR {
		t.Errorf("grants sent: %v (editor follows an affiliation and is never granted)", g)
	}

	// A revocation needs a reason, which the portal asks before sending.
	a = b.post("/admin/members/m1/roles/revoke", url.Values{csrfField: {tok}, "roles": {"ROLE_MODERATOR"}})
	if a.status != http.StatusBadRequest || len(w.discussion.decided.revokes) != 0 {
		t.Fatalf("a revocation without a reason = %d (sent %d), want 400 unsent", a.status, len(w.discussion.decided.revokes))
	}
	mustContain(t, a, "Motivo: Campo obbligatorio.")
	a = b.post("/admin/members/m1/roles/revoke", url.Values{csrfField: {tok}, "reason": {"non modera più"}})
	if a.status != http.StatusBadRequest || len(w.discussion.decided.revokes) != 0 {
		t.Fatalf("a revocation of no role = %d, want 400 unsent", a.status)
	}
	mustContain(t, a, "Scegli almeno un ruolo da revocare.")
	a = b.post("/admin/members/m1/roles/revoke", url.Values{csrfField: {tok}, "roles": {"ROLE_MODERATOR"}, "reason": {"non modera più"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/members/m1" {
		t.Fatalf("revoke = %d to %q", a.status, a.header.Get("Location"))
	}
	if r := w.discussion.decided.revokes; len(r) != 1 || r[0].GetReason() != "non modera più" || r[0].GetRoles()[0] != discussionv1.Role_ROLE_MODERATOR || r[0].GetMemberId() != "m1" {
		t.Errorf("revocations sent: %v", r)
	}
	// Blocking needs a reason too.
	if a := b.post("/admin/members/m9/block", url.Values{csrfField: {tok}, "action": {"block"}}); a.status != http.StatusBadRequest || len(w.discussion.decided.blocks) != 0 {
		t.Fatalf("a block without a reason = %d, want 400 unsent", a.status)
	}
	a = b.post("/admin/members/m9/block", url.Values{csrfField: {tok}, "action": {"block"}, "reason": {"messaggi pubblicitari"}})
	if a.status != http.StatusSeeOther || len(w.discussion.decided.blocks) != 1 || w.discussion.decided.blocks[0].GetReason() != "messaggi pubblicitari" {
		t.Fatalf("block = %d, sent %v", a.status, w.discussion.decided.blocks)
	}
	w.discussion.revokeErr = status.Error(codes.FailedPrecondition, "you cannot revoke your own administrator role: ask another administrator")
	a = b.post("/admin/members/m1/roles/revoke", url.Values{csrfField: {tok}, "roles": {"ROLE_ADMINISTRATOR"}, "reason": {"lascio"}})
	mustContain(t, a, "Non puoi revocare a te stesso il ruolo di amministratore")

	// An editor is refused by the portal itself.
	b.logIn("editor")
	if a := b.post("/admin/members/m1/roles", url.Values{csrfField: {b.token("/")}, "roles": {"ROLE_MODERATOR"}}); a.status != http.StatusForbidden {
		t.Errorf("an editor granting roles = %d, want 403", a.status)
	}
}

// A member reports a post with a reason; a moderator sees a hidden post
// in the queue, says why it was hidden, and restores it from the queue
// or from the thread.
func TestReportAndModeration(t *testing.T) {
	w := newWorld()
	w.discussion.posts = append(w.discussion.posts,
		&discussionv1.Post{Id: "post-hidden", ThreadId: "th-general", AuthorId: "m3", AuthorName: "Antonio Greco", BodyHtml: "<p>Compra ora!</p>",
			State: discussionv1.PostState_POST_STATE_HIDDEN, ModerationReason: "hidden pending review: reported by 3 members", ReportCount: 3, CreateTime: ts(testNow.Add(-time.Hour)),
			ModeratedBy: "reports", NeedsReview: true, Reports: []*discussionv1.PostReport{
				{MemberId: "m5", MemberName: "Lucia Neri", Reason: "Pubblicità o spam: link a un sito esterno", ReportTime: ts(testNow.Add(-90 * time.Minute))}}},
		&discussionv1.Post{Id: "post-mod", ThreadId: "th-general", AuthorId: "m4", AuthorName: "Paolo Innocenti", BodyHtml: "<p>Insulti</p>",
			State: discussionv1.PostState_POST_STATE_HIDDEN, ModerationReason: "Linguaggio offensivo", CreateTime: ts(testNow.Add(-2 * time.Hour))})
	w.discussion.mod.log = []*discussionv1.ModerationEntry{
		{PostId: "post-mod", ThreadId: "th-general", Action: discussionv1.ModerationAction_MODERATION_ACTION_HIDDEN, ModeratorId: "m-mod", ModeratorName: "Marta Moderatrice",
			Reason: "Linguaggio offensivo", CreateTime: ts(testNow.Add(-time.Hour))},
		{PostId: "post-hidden", ThreadId: "th-general", Action: discussionv1.ModerationAction_MODERATION_ACTION_HIDDEN_BY_REPORTS, CreateTime: ts(testNow.Add(-80 * time.Minute))},
	}
	b := startPortal(t, w)
	b.logIn()
	tok := b.token("/threads/th-general")

	a := b.post("/posts/post-1/report", url.Values{csrfField: {tok}, "thread_id": {"th-general"}, "note": {"link a un sito esterno"}})
	if a.status != http.StatusBadRequest || len(w.discussion.mod.reports) != 0 {
		t.Fatalf("a report without a reason = %d, want 400 unsent", a.status)
	}
	mustContain(t, a, "Scegli il motivo della segnalazione.")
	a = b.post("/posts/post-1/report", url.Values{csrfField: {tok}, "thread_id": {"th-general"}, "kind": {"spam"}, "note": {"link a un sito esterno"}})
	if a.status != http.StatusSeeOther || len(w.discussion.mod.reports) != 1 || w.discussion.mod.reports[0].GetReason() != "Pubblicità o spam: link a un sito esterno" {
		t.Fatalf("report = %d, sent %v", a.status, w.discussion.mod.reports)
	}

	// Readers see why a post is hidden, and no body.
	thread := b.get("/threads/th-general")
	mustContain(t, thread, "Nascosto in attesa di revisione: segnalato da 3 persone.", "Nascosto da chi modera. Motivo: Linguaggio offensivo")

	b.logIn("moderator")
	queue := b.get("/moderation")
	mustContain(t, queue, "Messaggi nascosti", `data-post="post-hidden"`, `data-post="post-mod"`, "Compra ora!", "Conferma: resta nascosto", `data-testid="restore"`,
		"Chi l&#39;ha segnalato e perché", "Lucia Neri: «Pubblicità o spam: link a un sito esterno»", `data-testid="dismiss"`,
		"Messaggio nascosto da Marta Moderatrice, 16 giugno 2018, 11:00 (motivo: Linguaggio offensivo)", "Messaggio nascosto in attesa di revisione per le segnalazioni ricevute")
	tok = b.token("/moderation")
	a = b.post("/moderation/posts/post-mod", url.Values{csrfField: {tok}, "action": {"restore"}})
	if a.status != http.StatusBadRequest || len(w.discussion.mod.restored) != 0 {
		t.Fatalf("a restore without a reason = %d, want 400 unsent", a.status)
	}
	a = b.post("/moderation/posts/post-mod", url.Values{csrfField: {tok}, "action": {"restore"}, "reason": {"Critica legittima"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/moderation" || len(w.discussion.mod.restored) != 1 {
		t.Fatalf("restore from the queue = %d to %q", a.status, a.header.Get("Location"))
	}
	mustContain(t, b.get("/threads/th-general"), `data-testid="thread-moderation"`, "Ripristina")
	a = b.post("/moderation/posts/post-hidden", url.Values{csrfField: {tok}, "action": {"restore"}, "reason": {"Falso allarme"}, "back": {"thread"}, "thread_id": {"th-general"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/threads/th-general#post-post-hidden" {
		t.Fatalf("restore from the thread = %d to %q", a.status, a.header.Get("Location"))
	}
	a = b.post("/moderation/posts/post-hidden", url.Values{csrfField: {tok}, "action": {"dismiss"}})
	if a.status != http.StatusBadRequest || len(w.discussion.mod.dismissed) != 0 {
		t.Fatalf("a dismissal without a reason = %d, want 400 unsent", a.status)
	}
	a = b.post("/moderation/posts/post-hidden", url.Values{csrfField: {tok}, "action": {"dismiss"}, "reason": {"Segnalazioni infondate"}})
	if a.status != http.StatusSeeOther || len(w.discussion.mod.dismissed) != 1 || w.discussion.mod.dismissed[0].GetReason() != "Segnalazioni infondate" {
		t.Fatalf("dismiss = %d, sent %v", a.status, w.discussion.mod.dismissed)
	}
}

// The author edits a post within the edit window, and only then.
func TestAuthorEditsAPostWithinTheWindow(t *testing.T) {
	w := newWorld()
	w.discussion.posts = append(w.discussion.posts, &discussionv1.Post{Id: "post-mine", ThreadId: "th-general", AuthorId: "m1", AuthorName: "Maico Centis",
		Body: "Ciao", BodyHtml: "<p>Ciao</p>", State: discussionv1.PostState_POST_STATE_VISIBLE, CreateTime: ts(testNow.Add(-5 * time.Minute))})
	b := startPortal(t, w)
	b.logIn()
	page := b.get("/threads/th-general")
	mustContain(t, page, `href="/threads/th-general?edit=post-mine#post-post-mine"`, `action="/posts/post-mine/delete"`)
	if strings.Contains(page.body, "edit=post-1") {
		t.Error("another member's post is offered for editing")
	}
	mustContain(t, b.get("/threads/th-general?edit=post-mine"), `data-testid="edit-form"`, ">Ciao</textarea>")
	a := b.post("/posts/post-mine/edit", url.Values{csrfField: {b.token("/threads/th-general")}, "thread_id": {"th-general"}, "body": {"Ciao a tutti"}})
	if a.status != http.StatusSeeOther || len(w.discussion.mod.edited) != 1 || w.discussion.mod.edited[0].GetBody() != "Ciao a tutti" {
		t.Fatalf("edit = %d, sent %v", a.status, w.discussion.mod.edited)
	}
	w.discussion.posts[1].CreateTime = ts(testNow.Add(-time.Hour))
	if strings.Contains(b.get("/threads/th-general").body, "edit=post-mine") {
		t.Error("a post older than the edit window is offered for editing")
	}
}

// The catalogue counts what it found, sorts it and pages it.
func TestCatalogueCountsSortsAndPages(t *testing.T) {
	w := newWorld()
	for i := range 24 {
		w.catalog.practices = append(w.catalog.practices, &catalogv1.Practice{
			Id: fmt.Sprintf("p%02d", i), Slug: fmt.Sprintf("pratica-%02d", i), Title: fmt.Sprintf("Pratica %02d", 23-i),
			Status:   catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED,
			Adoption: &catalogv1.AdoptionFigures{Twinnings: int32(i % 5)}, PublishTime: ts(testNow.Add(-time.Duration(i) * time.Hour)),
		})
	}
	b := startPortal(t, w)
	a := b.get("/practices?sort=title")
	mustContain(t, a, "25 buone pratiche pubblicate", "Pagina 1 di 3", `href="/practices?p=2&amp;sort=title" rel="next"`)
	first := strings.Index(a.body, "Pratica 00")
	if first < 0 || strings.Index(a.body, "Pratica 01") < first || strings.Contains(a.body, "Tos.Ca. – Valorizzare") {
		t.Errorf("page 1 by title is not Pratica 00, 01, …")
	}
	a = b.get("/practices?sort=title&p=3")
	mustContain(t, a, "Pagina 3 di 3", "Tos.Ca. – Valorizzare", `rel="prev"`)
	a = b.get("/practices?sort=adopted")
	if i, j := strings.Index(a.body, ">Pratica 19<"), strings.Index(a.body, ">Pratica 23<"); i < 0 || j >= 0 && j < i {
		t.Errorf("most adopted first: Pratica 19 (4 twinnings) should come before Pratica 23 (0)")
	}
	mustContain(t, b.get("/practices?q=competenze"), "25 buone pratiche trovate", `<option value="relevance" selected>pertinenza</option>`)
}

// Without the consent, every problem the portal can see shows at once
// (the name, the e-mail, the password and the consent), without asking
// the community service: the fake has no RegisterMember, so a call would
// fail the test.
func TestSignUpWithoutConsentShowsEveryProblemAtOnce(t *testing.T) {
	w := newWorld()
	b := startPortal(t, w)
	form := url.Values{csrfField: {b.token("/register")}, "email": {"non-valida"}, "password": {"123"}}
	a := b.post("/register", form)
	if a.status != http.StatusBadRequest {
		t.Fatalf("sign-up = %d, want 400", a.status)
	}
	mustContain(t, a, "Indica un indirizzo e-mail valido", "Scrivi almeno 12 caratteri.",
		"Per registrarti serve il consenso all&#39;informativa sulla privacy.", `id="f-display_name"`)
	for _, field := range []string{"display_name", "email", "password", "privacy_consent"} {
		if !strings.Contains(a.body, `href="#f-`+field+`"`) {
			t.Errorf("the error summary does not link %s", field)
		}
	}
}

// Signing up needs the consent to the privacy notice, checked before the
// community service is asked; the footer links the AgID pages.
func TestSignUpNeedsThePrivacyConsent(t *testing.T) {
	w := newWorld()
	b := startPortal(t, w)
	form := url.Values{csrfField: {b.token("/register")}, "display_name": {"Lucia Rossi"}, "email": {"lucia@example.org"}, "password": {"una password lunga"}}
	a := b.post("/register", form)
	if a.status != http.StatusBadRequest {
		t.Fatalf("sign-up without consent = %d, want 400", a.status)
	}
	mustContain(t, a, "Per registrarti serve il consenso all&#39;informativa sulla privacy.")
	if strings.Contains(a.body, "una password lunga") {
		t.Error("the page sends the password back")
	}
	home := b.get("/")
	for _, link := range []string{`href="/privacy"`, `href="/legal-notes"`, `href="/accessibility"`, `href="/contacts"`} {
		if !strings.Contains(home.body, link) {
			t.Errorf("the footer lacks %s", link)
		}
	}
}
