package portal

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// fakeReports serves one approved report, titled as the twinning service
// titles it (in Italian), and keeps the last render it was asked for.
type fakeReports struct {
	twinningv1.ReportServiceClient
	report   *twinningv1.Report
	rendered *twinningv1.RenderReportRequest
}

func (f *fakeReports) GetReport(_ context.Context, req *twinningv1.GetReportRequest, _ ...grpc.CallOption) (*twinningv1.Report, error) {
	if req.GetId() != f.report.GetId() {
		return nil, status.Errorf(codes.NotFound, "report %s not found", req.GetId())
	}
	return f.report, nil
}

func (f *fakeReports) ListReports(context.Context, *twinningv1.ListReportsRequest, ...grpc.CallOption) (*twinningv1.ListReportsResponse, error) {
	return &twinningv1.ListReportsResponse{Reports: []*twinningv1.Report{f.report}}, nil
}

func (f *fakeReports) RenderReport(_ context.Context, req *twinningv1.RenderReportRequest, _ ...grpc.CallOption) (*twinningv1.RenderedReport, error) {
	f.rendered = req
	return &twinningv1.RenderedReport{ContentType: "text/html; charset=utf-8", Filename: "r.html", Data: []byte("<!doctype html>")}, nil
}

func newFakeReports() *fakeReports {
	return &fakeReports{report: &twinningv1.Report{
		Id: "r-1", TwinningId: "t-tosca", TwinningCode: "TOSCA-2012", TwinningTitle: "Tos.Ca. – Valorizzare le competenze dei cittadini",
		Kind: twinningv1.ReportKind_REPORT_KIND_QUARTERLY, Quarter: "2015-Q2", PeriodStart: "2015-04-01", PeriodEnd: "2015-06-30",
		Title: "Rapporto trimestrale 2015-Q2 – Tos.Ca. – Valorizzare le competenze dei cittadini",
		State: twinningv1.ReportState_REPORT_STATE_APPROVED,
		Sections: []*twinningv1.ReportSection{
			{Key: "summary", Title: "Sintesi del periodo", Markdown: "Un trimestre **di attività**."},
			{Key: "activities", Title: "Attività svolte", Markdown: "- Visita di studio"},
		},
	}}
}

func startPortalIn(t *testing.T, w *world, reports *fakeReports, lang Lang) *browser {
	t.Helper()
	bk := w.backends()
	bk.Reports = reports
	p, err := New(Config{AssetsDir: "testdata/no-such-dir"}, bk, slog.New(slog.DiscardHandler), WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: langCookie, Value: string(lang), Path: "/"}})
	return &browser{t: t, base: srv.URL, client: &http.Client{
		Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// A report's page in English is titled and headed in English, though the
// twinning service titles the report in Italian; its text stays as written.
// The HTML download is asked for in the reader's language.
func TestAReportPageSpeaksTheReadersLanguage(t *testing.T) {
	for lang, want := range map[Lang][]string{
		English: {"<title>Quarterly report 2015-Q2 – Tos.Ca.", "<h1>Quarterly report 2015-Q2 – Tos.Ca. – Valorizzare le competenze dei cittadini</h1>",
			`<h2 id="section-summary">Summary of the period</h2>`, `<h2 id="section-activities">Activities carried out</h2>`, "<strong>di attività</strong>"},
		Italian: {"<title>Rapporto trimestrale 2015-Q2 – Tos.Ca.", "<h1>Rapporto trimestrale 2015-Q2 – Tos.Ca. – Valorizzare le competenze dei cittadini</h1>",
			`<h2 id="section-summary">Sintesi del periodo</h2>`},
	} {
		t.Run(string(lang), func(t *testing.T) {
			reports := newFakeReports()
			b := startPortalIn(t, newWorld(), reports, lang)
			a := b.get("/twinnings/t-tosca/reports/r-1")
			if a.status != http.StatusOK {
				t.Fatalf("GET the report = %d:\n%.2000s", a.status, a.body)
			}
			mustContain(t, a, want...)
			if lang == English {
				for _, italian := range []string{"Rapporto trimestrale", "Sintesi del periodo", "Attività svolte"} {
					if strings.Contains(a.body, italian) {
						t.Errorf("the English page says %q", italian)
					}
				}
			}
			list := b.get("/twinnings/t-tosca/reports")
			mustContain(t, list, want[1][len("<h1>"):len(want[1])-len("</h1>")])
			if a := b.get("/twinnings/t-tosca/reports/r-1/download?format=html"); a.status != http.StatusOK || reports.rendered.GetLanguage() != string(lang) {
				t.Errorf("download = %d, rendered in %q, want %q", a.status, reports.rendered.GetLanguage(), lang)
			}
		})
	}
}
