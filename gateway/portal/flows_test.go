package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

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

	// An editor is refused by the portal itself.
	b.logIn("editor")
	if a := b.post("/admin/members/m1/roles", url.Values{csrfField: {b.token("/")}, "roles": {"ROLE_MODERATOR"}}); a.status != http.StatusForbidden {
		t.Errorf("an editor granting roles = %d, want 403", a.status)
	}
}
