package reporttest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gemella/gemella/deploy/devstack/demo"
	"github.com/gemella/gemella/deploy/devstack/stack"
)

func startStack(t *testing.T) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the whole devstack on the embedded FerretDB and NATS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", CatalogAddr: "127.0.0.1:0", TwinningAddr: "127.0.0.1:0", DiscussionAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), LoadDemo: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Stop(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
	})
	return st
}

var httpClient = &http.Client{Timeout: time.Minute}

type client struct {
	t     *testing.T
	base  string
	token string
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func (c client) call(method, path string, body any) answer {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return answer{status: resp.StatusCode, header: resp.Header, raw: raw, json: out}
}

func (c client) must(method, path string, body any) map[string]any {
	c.t.Helper()
	a := c.call(method, path, body)
	if a.status != http.StatusOK {
		c.t.Fatalf("%s %s: %d %s", method, path, a.status, a.raw)
	}
	return a.json
}

func login(t *testing.T, base, email string) client {
	t.Helper()
	c := client{t: t, base: base}
	out := c.must(http.MethodPost, "/v1/sessions", map[string]string{"email": email, "password": demo.AccountPassword})
	c.token, _ = out["token"].(string)
	if c.token == "" {
		t.Fatalf("no token for %s", email)
	}
	return c
}

// section is the Markdown of a report's section.
func section(r map[string]any, key string) string {
	for _, s := range r["sections"].([]any) {
		m := s.(map[string]any)
		if m["key"] == key {
			return m["markdown"].(string)
		}
	}
	return ""
}

func reason(a answer) string {
	details, _ := a.json["details"].([]any)
	for _, d := range details {
		if m, ok := d.(map[string]any); ok && m["reason"] != nil {
			return m["reason"].(string)
		}
	}
	return ""
}

// The Tos.Ca. demo twinning gets a quarterly report drafted from what it
// recorded; editor.toscana submits it, the coordinator approves it, and
// only then may anyone read and download it; the PDF's text carries the
// twinning's title.
func TestTosCaQuarterlyReportFromDraftToPublic(t *testing.T) {
	st := startStack(t)
	base := st.GatewayURL()
	anon := client{t: t, base: base}
	editor := login(t, base, "editor.toscana@demo.gemella.test")
	coordinator := login(t, base, "coordinator@demo.gemella.test")
	member := login(t, base, "member@demo.gemella.test")

	tw := anon.must(http.MethodGet, "/v1/twinnings/"+demo.TosCaCode, nil)
	id, title := tw["id"].(string), tw["title"].(string)
	reports := "/v1/twinnings/" + id + "/reports"

	// What happens this quarter: model A is adopted, with a note, and a
	// workshop takes place today.
	rome, _ := time.LoadLocation("Europe/Rome")
	now := time.Now().In(rome)
	today := now.Format(time.DateOnly)
	quarter := fmt.Sprintf("%d-Q%d", now.Year(), (int(now.Month())-1)/3+1)
	var modelA string
	for _, tr := range tw["transfers"].([]any) {
		m := tr.(map[string]any)
		if m["model_code"] == "A" {
			modelA = m["id"].(string)
		}
	}
	if modelA == "" {
		t.Fatal("the demo twinning has no transfer of model A")
	}
	editor.must(http.MethodPatch, "/v1/twinnings/"+id+"/transfers/"+modelA, map[string]any{
		"transfer": map[string]any{"status": "TRANSFER_STATUS_ADOPTED"}, "note": "Libretto formativo adottato con delibera regionale.",
	})
	editor.must(http.MethodPost, "/v1/twinnings/"+id+"/activities", map[string]any{
		"kind": "ACTIVITY_KIND_WORKSHOP", "title": "Workshop di chiusura sul Libretto formativo", "date": today,
		"participants": []string{"Regione Toscana", "Regione Calabria"},
	})

	// Nobody outside the twinning drafts its reports.
	if a := anon.call(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_QUARTERLY", "quarter": quarter}); a.status != http.StatusUnauthorized {
		t.Errorf("anonymous draft: %d %s", a.status, a.raw)
	}
	if a := member.call(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_QUARTERLY", "quarter": quarter}); a.status != http.StatusForbidden {
		t.Errorf("member's draft: %d %s", a.status, a.raw)
	}
	if a := editor.call(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_QUARTERLY", "quarter": "2015-Q5"}); a.status != http.StatusBadRequest ||
		!strings.Contains(string(a.raw), `"field":"quarter"`) && !strings.Contains(string(a.raw), `"field": "quarter"`) {
		t.Errorf("bad quarter: %d %s", a.status, a.raw)
	}

	r := editor.must(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_QUARTERLY", "quarter": quarter})
	rid := r["id"].(string)
	if r["state"] != "REPORT_STATE_DRAFT" || r["quarter"] != quarter {
		t.Fatalf("drafted: %v", r)
	}
	if got := section(r, "activities"); !strings.Contains(got, "Workshop di chiusura sul Libretto formativo") {
		t.Errorf("the activities section does not name the quarter's workshop:\n%s", got)
	}
	if got := section(r, "transfers"); !strings.Contains(got, "adottato") || !strings.Contains(got, "Libretto formativo adottato con delibera regionale") {
		t.Errorf("the transfers section does not tell model A's adoption and its note:\n%s", got)
	}
	if got := section(r, "adoption"); !strings.Contains(got, "Modello A") || !strings.Contains(got, "**adottato**") || !strings.Contains(got, "adottati 1,") {
		t.Errorf("the adoption section does not give model A's outcome:\n%s", got)
	}
	if got := section(r, "objectives"); !strings.Contains(got, "Obiettivo regionale") || !strings.Contains(got, "Risultati attesi") {
		t.Errorf("the objectives section misses the objectives or the expected results:\n%s", got)
	}
	// The demo's community writes its posts when it is loaded: this quarter.
	figures, _ := r["discussion"].(map[string]any)
	if figures["posts"].(float64) < 1 || figures["participants"].(float64) < 1 || figures["threads"].(float64) < 1 {
		t.Errorf("the discussion's figures of this quarter: %v", figures)
	}
	if got := section(r, "discussion"); !strings.Contains(got, "messaggi") || !strings.Contains(got, "Discussioni attive") {
		t.Errorf("the discussion section has no figures or threads:\n%s", got)
	}

	// A quarter of 2015 names the demo's own activities and milestones.
	old := editor.must(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_QUARTERLY", "quarter": "2015-Q1"})
	if got := section(old, "activities"); !strings.Contains(got, "Workshop sul Libretto formativo e sul repertorio delle competenze") ||
		!strings.Contains(got, "Comitato di pilotaggio di avvio") || strings.Contains(got, "Visita di studio") {
		t.Errorf("2015-Q1 activities:\n%s", got)
	}
	if got := section(old, "milestones"); !strings.Contains(got, "Piano operativo del trasferimento approvato") || !strings.Contains(got, "svolta") {
		t.Errorf("2015-Q1 milestones:\n%s", got)
	}
	if got := section(old, "discussion"); !strings.Contains(got, "0 messaggi") {
		t.Errorf("2015-Q1 had no discussion yet:\n%s", got)
	}
	// One report a quarter: a second draft of 2015-Q1 is refused, and so
	// is a quarter before the twinning began.
	if a := coordinator.call(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_QUARTERLY", "quarter": "2015-Q1"}); a.status != http.StatusConflict ||
		!strings.Contains(string(a.raw), "REPORT_EXISTS") {
		t.Errorf("a second 2015-Q1 report: %d %s", a.status, a.raw)
	}
	if a := editor.call(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_QUARTERLY", "quarter": "2014-Q4"}); a.status != http.StatusBadRequest ||
		!strings.Contains(string(a.raw), "from 2015-Q1") {
		t.Errorf("a quarter before the twinning: %d %s", a.status, a.raw)
	}

	// The final report covers the whole twinning: every activity of the
	// demo, and the final milestone, due in 2016 and not done, is late.
	final := coordinator.must(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_FINAL"})
	if final["period_start"] != "2015-01-15" || final["period_end"] != "2016-06-30" || final["quarter"] != "" {
		t.Errorf("final report's period: %v..%v %v", final["period_start"], final["period_end"], final["quarter"])
	}
	if got := section(final, "activities"); !strings.Contains(got, "Visita di studio ai servizi integrati e ai nidi di Firenze") || !strings.Contains(got, "Comitato di pilotaggio di avvio") {
		t.Errorf("final activities:\n%s", got)
	}
	if got := section(final, "milestones"); !strings.Contains(got, "Rapporto finale sul trasferimento dei modelli – **in ritardo**: scadenza 30/06/2016") {
		t.Errorf("final milestones:\n%s", got)
	}
	if a := coordinator.call(http.MethodPost, reports, map[string]any{"kind": "REPORT_KIND_FINAL", "quarter": "2015-Q1"}); a.status != http.StatusBadRequest {
		t.Errorf("a final report with a quarter: %d %s", a.status, a.raw)
	}

	// The editor rewrites a section; a stale etag is refused.
	etag := r["etag"].(string)
	r = editor.must(http.MethodPatch, reports+"/"+rid, map[string]any{"etag": etag, "report": map[string]any{
		"sections": []any{map[string]any{"key": "summary", "markdown": "Un trimestre di adozioni per " + title + "."}},
	}})
	if section(r, "summary") != "Un trimestre di adozioni per "+title+"." || r["etag"] == etag {
		t.Errorf("edited: %v", r)
	}
	if a := editor.call(http.MethodPatch, reports+"/"+rid, map[string]any{"etag": etag, "report": map[string]any{
		"sections": []any{map[string]any{"key": "summary", "markdown": "Tardi."}},
	}}); a.status != http.StatusPreconditionFailed {
		t.Errorf("stale etag: %d %s", a.status, a.raw)
	}
	if a := editor.call(http.MethodPatch, reports+"/"+rid, map[string]any{"report": map[string]any{
		"sections": []any{map[string]any{"key": "nonsense", "markdown": "x"}},
	}}); a.status != http.StatusBadRequest || !strings.Contains(string(a.raw), "report.sections[0].key") {
		t.Errorf("unknown section: %d %s", a.status, a.raw)
	}

	// A draft is not public, and its state machine refuses what it must.
	if a := anon.call(http.MethodGet, reports+"/"+rid, nil); a.status != http.StatusNotFound {
		t.Errorf("anonymous GET of a draft: %d %s", a.status, a.raw)
	}
	if a := anon.call(http.MethodGet, reports+"/"+rid+"/download?format=pdf", nil); a.status != http.StatusNotFound {
		t.Errorf("anonymous download of a draft: %d", a.status)
	}
	if a := coordinator.call(http.MethodPost, reports+"/"+rid+":approve", map[string]any{}); a.status != http.StatusConflict ||
		reason(a) != "ILLEGAL_STATE_MOVE" || !strings.Contains(a.json["message"].(string), "the report is draft: approve is not allowed (allowed from draft: submit)") {
		t.Errorf("approve a draft: %d %s", a.status, a.raw)
	}
	if a := member.call(http.MethodPost, reports+"/"+rid+":submit", map[string]any{}); a.status != http.StatusNotFound {
		t.Errorf("submit by a member of no party: %d %s", a.status, a.raw)
	}
	if a := coordinator.call(http.MethodPost, reports+"/"+rid+":submit", map[string]any{}); a.status != http.StatusForbidden ||
		!strings.Contains(a.json["message"].(string), "only an editor of a party may submit its reports") {
		t.Errorf("submit by the coordinator, no party's editor: %d %s", a.status, a.raw)
	}

	r = editor.must(http.MethodPost, reports+"/"+rid+":submit", map[string]any{})
	if r["state"] != "REPORT_STATE_SUBMITTED" {
		t.Fatalf("submitted: %v", r)
	}
	if a := editor.call(http.MethodPost, reports+"/"+rid+":approve", map[string]any{}); a.status != http.StatusForbidden {
		t.Errorf("approve by the editor: %d %s", a.status, a.raw)
	}
	if a := anon.call(http.MethodGet, reports+"/"+rid, nil); a.status != http.StatusNotFound {
		t.Errorf("anonymous GET of a submitted report: %d", a.status)
	}
	r = coordinator.must(http.MethodPost, reports+"/"+rid+":approve", map[string]any{})
	if r["state"] != "REPORT_STATE_APPROVED" {
		t.Fatalf("approved: %v", r)
	}

	// Approved: public, listed for anyone, final.
	pub := anon.must(http.MethodGet, reports+"/"+rid, nil)
	if pub["state"] != "REPORT_STATE_APPROVED" || section(pub, "summary") != "Un trimestre di adozioni per "+title+"." {
		t.Errorf("anonymous GET of the approved report: %v", pub)
	}
	list := anon.must(http.MethodGet, reports, nil)
	if n := len(list["reports"].([]any)); n != 1 {
		t.Errorf("anonymous list: %d reports, want the approved one only", n)
	}
	if n := len(editor.must(http.MethodGet, reports, nil)["reports"].([]any)); n != 3 {
		t.Errorf("editor's list: %d reports, want 3", n)
	}
	if a := editor.call(http.MethodPatch, reports+"/"+rid, map[string]any{"report": map[string]any{
		"sections": []any{map[string]any{"key": "summary", "markdown": "Dopo."}},
	}}); a.status != http.StatusConflict || reason(a) != "ILLEGAL_STATE_MOVE" {
		t.Errorf("edit an approved report: %d %s", a.status, a.raw)
	}

	// Downloads.
	pdf := anon.call(http.MethodGet, reports+"/"+rid+"/download?format=pdf", nil)
	if pdf.status != http.StatusOK || pdf.header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(pdf.header.Get("Content-Disposition"), "attachment; filename=rapporto-TOSCA-") {
		t.Fatalf("PDF: %d %v", pdf.status, pdf.header)
	}
	if !bytes.HasPrefix(pdf.raw, []byte("%PDF-")) || !bytes.Contains(pdf.raw[len(pdf.raw)-32:], []byte("%%EOF")) {
		t.Fatalf("not a whole PDF: %q…", pdf.raw[:min(len(pdf.raw), 16)])
	}
	text := pdfText(pdf.raw)
	if !strings.Contains(text, title) {
		t.Errorf("the PDF's text does not contain the twinning's title %q:\n%s", title, text[:min(len(text), 600)])
	}
	if !strings.Contains(text, "Attività svolte") || !strings.Contains(text, "Workshop di chiusura sul Libretto formativo") {
		t.Errorf("the PDF's text misses a section or the workshop:\n%s", text[:min(len(text), 600)])
	}
	html := anon.call(http.MethodGet, reports+"/"+rid+"/download?format=html", nil)
	if html.status != http.StatusOK || !strings.HasPrefix(html.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(html.raw), "<h2>Attività svolte</h2>") || !strings.Contains(string(html.raw), "<strong>adottato</strong>") {
		t.Errorf("HTML: %d %s", html.status, html.raw[:min(len(html.raw), 400)])
	}
	// In English, the HTML's title and headings are English, the text as
	// written; the portal's English page asks for it so.
	english := anon.call(http.MethodGet, reports+"/"+rid+"/download?format=html&language=en", nil)
	if page := string(english.raw); english.status != http.StatusOK || !strings.Contains(page, `<html lang="en">`) ||
		!strings.Contains(page, "<h2>Activities carried out</h2>") || strings.Contains(page, "<h2>Attività svolte</h2>") || !strings.Contains(page, "<strong>adottato</strong>") {
		t.Errorf("English HTML: %d %s", english.status, english.raw[:min(len(english.raw), 400)])
	}
	req, _ := http.NewRequest(http.MethodGet, anon.base+"/twinnings/"+demo.TosCaCode+"/reports/"+rid+"/download?format=html", nil)
	req.AddCookie(&http.Cookie{Name: "gemella_lang", Value: "en"})
	if resp, err := httpClient.Do(req); err != nil {
		t.Errorf("the portal's English HTML download: %v", err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<h2>Activities carried out</h2>") {
			t.Errorf("the portal's English HTML download: %d %.400s", resp.StatusCode, page)
		}
	}
	if a := anon.call(http.MethodGet, reports+"/"+rid+"/download?format=html&language=de", nil); a.status != http.StatusBadRequest {
		t.Errorf("unknown language: %d", a.status)
	}
	// The portal's download button answers the same file.
	portalPDF := anon.call(http.MethodGet, "/twinnings/"+demo.TosCaCode+"/reports/"+rid+"/download?format=pdf", nil)
	if portalPDF.status != http.StatusOK || portalPDF.header.Get("Content-Type") != "application/pdf" || !strings.Contains(pdfText(portalPDF.raw), title) {
		t.Errorf("the portal's PDF download: %d %v", portalPDF.status, portalPDF.header)
	}
	if a := anon.call(http.MethodGet, reports+"/"+rid+"/download?format=odt", nil); a.status != http.StatusBadRequest {
		t.Errorf("unknown format: %d", a.status)
	}

	// Returned with a reason, the other report is a draft again.
	oid := old["id"].(string)
	editor.must(http.MethodPost, reports+"/"+oid+":submit", map[string]any{})
	if a := coordinator.call(http.MethodPost, reports+"/"+oid+":return", map[string]any{}); a.status != http.StatusBadRequest || !strings.Contains(string(a.raw), `reason`) {
		t.Errorf("return without a reason: %d %s", a.status, a.raw)
	}
	back := coordinator.must(http.MethodPost, reports+"/"+oid+":return", map[string]any{"reason": "Manca la sintesi."})
	if back["state"] != "REPORT_STATE_DRAFT" || back["return_reason"] != "Manca la sintesi." {
		t.Errorf("returned: %v", back)
	}

	// Each move left a thin event on the twinning stream.
	nc, err := nats.Connect(st.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, "TWINNING")
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"twinning.report.created", "twinning.report.submitted", "twinning.report.approved", "twinning.report.returned"} {
		var msg *jetstream.RawStreamMsg
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if msg, err = stream.GetLastMsgForSubject(ctx, subject); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Errorf("no %s event: %v", subject, err)
			continue
		}
		if !bytes.Contains(msg.Data, []byte(id)) {
			t.Errorf("%s does not name the twinning", subject)
		}
	}
}
