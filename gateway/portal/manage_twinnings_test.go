package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// withLang puts the language cookie in the browser's jar.
func (b *browser) withLang(lang Lang) {
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: langCookie, Value: string(lang), Path: "/"}})
}

// An activity form with several problems lists them all in one answer, in
// the page's language; a link not written as the form asks says how to
// write one, not that the filled field is required.
func TestActivityFormListsEveryProblemAtOnce(t *testing.T) {
	for _, tc := range []struct {
		lang      Lang
		want, not []string
	}{
		{Italian, []string{"Titolo: Campo obbligatorio.", "Indica la data.",
			"Collegamenti: Scrivi un collegamento per riga, così: titolo | https://indirizzo."},
			[]string{"Collegamenti: Campo obbligatorio.", "This field", "Enter a"}},
		{English, []string{"Title: This field is required.", "Enter the date.",
			"Links: Write one link per line, like this: title | https://address."},
			[]string{"Links: This field is required.", "Campo obbligatorio"}},
	} {
		w := newWorld()
		// What the twinning service answers for this input: every field at once.
		st, _ := status.New(codes.InvalidArgument, "invalid activity").WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "activity.title", Description: "is required"},
			{Field: "activity.due_date", Description: "is required (YYYY-MM-DD)"},
			{Field: "activity.links[0].title", Description: "is required"},
			{Field: "activity.links[0].url", Description: "must be an http or https URL"},
		}})
		w.twinning.logErr = st.Err()
		b := startPortal(t, w)
		b.withLang(tc.lang)
		b.logIn("editor")
		a := b.post("/manage/twinnings/t-tosca/activities", url.Values{
			csrfField: {b.token("/manage/twinnings/t-tosca")}, "request_id": {"r1"},
			"kind": {"ACTIVITY_KIND_WORKSHOP"}, "title": {""}, "links": {"non è un link"}, "milestone": {"on"}, "due_date": {""},
		})
		if a.status != http.StatusBadRequest {
			t.Fatalf("%s: status %d, want 400; body %.800s", tc.lang, a.status, a.body)
		}
		if w.twinning.logged == nil {
			t.Errorf("%s: the form was not sent, so the service could not name every problem", tc.lang)
		}
		mustContain(t, a, tc.want...)
		for _, s := range tc.not {
			if strings.Contains(a.body, s) {
				t.Errorf("%s: the page says %q", tc.lang, s)
			}
		}
	}
}

// Italian pages say milestones, workshops and the live section in
// Italian, as the generated reports do ("tappe"); English pages keep
// their words.
func TestTwinningPagesSpeakOneLanguage(t *testing.T) {
	for id, text := range italian {
		s, ok := text.(string)
		if !ok {
			continue
		}
		for _, english := range []string{"milestone", "workshop", "live streaming"} {
			if strings.Contains(strings.ToLower(s), english) {
				t.Errorf("Italian message %s says %q: %q", id, english, s)
			}
		}
	}
	for _, tc := range []struct {
		lang      Lang
		path      string
		want, not []string
	}{
		{Italian, "/twinnings/t-tosca", []string{">In diretta</h2>", "<h3>Tappe</h3>", "(laboratorio)"}, []string{"Live streaming", ">Milestone"}},
		{Italian, "/manage/twinnings/t-tosca", []string{"Registra un&#39;attività o pianifica una tappa", "È una tappa pianificata", "Scadenza della tappa", "(tappa)"},
			[]string{"una milestone", "della milestone", "(milestone)", "(workshop)"}},
		{English, "/twinnings/t-tosca", []string{">Live streaming</h2>", "<h3>Milestones</h3>", "(workshop)"}, []string{"In diretta", "Tappe"}},
		{English, "/manage/twinnings/t-tosca", []string{"Log an activity or plan a milestone", "It is a planned milestone", "Milestone due date"}, []string{"tappa"}},
	} {
		b := startPortal(t, newWorld())
		b.withLang(tc.lang)
		b.logIn("editor")
		a := b.get(tc.path)
		if a.status != http.StatusOK {
			t.Fatalf("%s %s = %d", tc.lang, tc.path, a.status)
		}
		mustContain(t, a, tc.want...)
		for _, s := range tc.not {
			if strings.Contains(a.body, s) {
				t.Errorf("%s %s says %q", tc.lang, tc.path, s)
			}
		}
	}
}

// A twinning code or a practice slug another one has is marked on its
// field, with the sentence that says to choose another, as every field
// error is.
func TestTakenCodeAndSlugAreMarkedOnTheirFields(t *testing.T) {
	taken := func(reason, msg string) error {
		st, _ := status.New(codes.AlreadyExists, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "gemella"})
		return st.Err()
	}
	w := newWorld()
	w.twinning.createErr = taken("TWINNING_CODE_TAKEN", `a twinning with code "TOSCA-2012" already exists`)
	w.catalog.createErr = taken("PRACTICE_SLUG_TAKEN", `a practice with slug "tos-ca" already exists`)
	b := startPortal(t, w)
	b.logIn("editor")

	a := b.post("/manage/twinnings/new", url.Values{
		csrfField: {b.token("/manage/twinnings/new")}, "request_id": {"r1"}, "code": {"TOSCA-2012"}, "title": {"Un altro"},
		"offering_organization_ids": {"toscana"}, "receiving_organization_ids": {"calabria"},
	})
	if a.status != http.StatusConflict {
		t.Fatalf("taken code = %d, want 409; body %.800s", a.status, a.body)
	}
	mustContain(t, a, `aria-invalid="true"`,
		`<div id="f-code-error" class="invalid-feedback d-block" data-field="code">Esiste già un gemellaggio con il codice «TOSCA-2012»: scegline un altro.</div>`,
		`<a href="#f-code">Codice: Esiste già un gemellaggio con il codice «TOSCA-2012»`)

	a = b.post("/manage/practices/new", url.Values{
		csrfField: {b.token("/manage/practices/new")}, "request_id": {"r2"}, "title": {"Tos.Ca."}, "slug": {"tos-ca"}, "owner_organization_ids": {"toscana"},
	})
	if a.status != http.StatusConflict {
		t.Fatalf("taken slug = %d, want 409; body %.800s", a.status, a.body)
	}
	mustContain(t, a, `<div id="f-slug-error" class="invalid-feedback d-block" data-field="slug">Esiste già una buona pratica con l&#39;indirizzo «tos-ca»: scegline un altro.</div>`)
}

// Adding a transfer says it was added, not updated, in both languages.
func TestAddedTransferIsSaidAdded(t *testing.T) {
	for lang, want := range map[Lang]string{Italian: "Trasferimento aggiunto.", English: "Transfer added."} {
		w := newWorld()
		b := startPortal(t, w)
		b.withLang(lang)
		b.logIn("editor")
		a := b.post("/manage/twinnings/t-tosca/transfers", url.Values{
			csrfField: {b.token("/manage/twinnings/t-tosca")}, "request_id": {"r1"}, "practice_id": {"p-tosca"}, "model_code": {"A"},
			"from_organization_id": {"toscana"}, "to_organization_id": {"vibo"},
		})
		if a.status != http.StatusSeeOther || w.twinning.added == nil {
			t.Fatalf("%s: add a transfer = %d (sent: %v); body %.800s", lang, a.status, w.twinning.added != nil, a.body)
		}
		mustContain(t, b.get(a.header.Get("Location")), want)
	}
}

// Two twinnings with one title are told apart in /manage by their codes.
func TestManageListShowsEachTwinningsCode(t *testing.T) {
	w := newWorld()
	w.twinning.twinnings = append(w.twinning.twinnings, &twinningv1.Twinning{
		Id: "t-tosca-2", Code: "TOSCA-2013", Title: "Tos.Ca. – Valorizzare le competenze dei cittadini", Status: twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT,
	})
	b := startPortal(t, w)
	b.logIn("editor")
	a := b.get("/manage")
	mustContain(t, a,
		`<a href="/manage/twinnings/t-tosca">Tos.Ca. – Valorizzare le competenze dei cittadini</a> <span class="portal-code"><span class="visually-hidden">Codice: </span>TOSCA-2012</span>`,
		`<a href="/manage/twinnings/t-tosca-2">Tos.Ca. – Valorizzare le competenze dei cittadini</a> <span class="portal-code"><span class="visually-hidden">Codice: </span>TOSCA-2013</span>`)
}
