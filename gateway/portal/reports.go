package portal

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"google.golang.org/grpc"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// The reports tab of a twinning: its reports (all of them to its parties'
// editors and the coordinators, the approved ones to anyone), a form that
// drafts one for a quarter or the whole twinning, the editor of a draft's
// sections, the buttons of the moves the visitor may make, and the
// downloads. The twinning service decides every call; the portal shows
// only what the visitor may do.

func (p *Portal) reportRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /twinnings/{id}/reports", p.reports)
	mux.HandleFunc("POST /twinnings/{id}/reports", p.createReport)
	mux.HandleFunc("GET /twinnings/{id}/reports/{report}", p.reportPage)
	mux.HandleFunc("POST /twinnings/{id}/reports/{report}", p.saveReport)
	mux.HandleFunc("POST /twinnings/{id}/reports/{report}/state", p.moveReport)
	mux.HandleFunc("GET /twinnings/{id}/reports/{report}/download", p.downloadReport)
}

// reportLabels name the fields of the report forms.
var reportLabels = map[string]string{
	"kind": "reports.f.kind", "quarter": "reports.f.quarter", "reason": "reports.f.reason",
	"sections": "reports.f.sections", "sections[].markdown": "reports.f.section", "sections[].key": "reports.f.section",
}

// reportMay is what the visitor may do with a twinning's reports.
type reportMay struct {
	Draft, Edit, Submit, Decide bool
}

func reportRights(u *user, tw *twinningv1.Twinning) reportMay {
	party := u.EditsAny(tw.GetOfferingOrganizationIds()) || u.EditsAny(tw.GetReceivingOrganizationIds())
	return reportMay{Draft: party || u.IsCoordinator(), Edit: party || u.IsCoordinator(), Submit: party, Decide: u.IsCoordinator()}
}

type reportsData struct {
	Twinning *twinningv1.Twinning
	Reports  []*twinningv1.Report
	May      reportMay
	Form     *form
	// Quarter is the current quarter, the form's suggestion.
	Quarter string
}

type reportData struct {
	Twinning *twinningv1.Twinning
	Report   *twinningv1.Report
	May      reportMay
	Form     *form
	Move     *form
}

// IsDraft, IsSubmitted tell the template the report's state.
func (d reportData) IsDraft() bool {
	return d.Report.GetState() == twinningv1.ReportState_REPORT_STATE_DRAFT
}

func (d reportData) IsSubmitted() bool {
	return d.Report.GetState() == twinningv1.ReportState_REPORT_STATE_SUBMITTED
}

func currentQuarter(now time.Time) string {
	now = now.In(rome)
	return strconv.Itoa(now.Year()) + "-Q" + strconv.Itoa((int(now.Month())-1)/3+1)
}

// reports lists a twinning's reports, with the form that drafts one.
func (p *Portal) reports(w http.ResponseWriter, r *http.Request) {
	p.showReports(w, r, http.StatusOK, nil)
}

func (p *Portal) showReports(w http.ResponseWriter, r *http.Request, code int, f *form) {
	tw, ok := p.loadTwinning(w, r)
	if !ok {
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	list, err := p.b.Reports.ListReports(ctx, &twinningv1.ListReportsRequest{TwinningId: tw.GetId(), PageSize: 100})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if f == nil {
		f = newForm(url.Values{"kind": {"quarterly"}, "quarter": {currentQuarter(time.Now())}}).withLabels(reportLabels)
	}
	d := reportsData{Twinning: tw, Reports: list.GetReports(), May: reportRights(visitOf(r).User, tw), Form: f, Quarter: currentQuarter(time.Now())}
	p.renderTitled(w, r, code, "reports", visitOf(r).L.T("reports.title", tw.GetTitle()), d)
}

// createReport drafts a report of a quarter or of the whole twinning.
func (p *Portal) createReport(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r)).withLabels(reportLabels)
	req := &twinningv1.CreateReportRequest{TwinningId: r.PathValue("id"), Kind: twinningv1.ReportKind_REPORT_KIND_QUARTERLY, Quarter: f.Val("quarter"), RequestId: f.Val("request_id")}
	if f.Val("kind") == "final" {
		req.Kind, req.Quarter = twinningv1.ReportKind_REPORT_KIND_FINAL, ""
	} else if !f.require(visitOf(r).L, "quarter") {
		p.showReports(w, r, http.StatusBadRequest, f)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	rep, err := p.b.Reports.CreateReport(ctx, req)
	if err != nil {
		if fl := p.explain(r, f, err); fl.mustLogIn || fl.unexpected {
			p.fail(w, r, err)
		} else {
			p.showReports(w, r, fl.status, f)
		}
		return
	}
	p.redirect(w, r, reportPath(rep), "flash.report_created")
}

func reportPath(rep *twinningv1.Report) string {
	return "/twinnings/" + url.PathEscape(rep.GetTwinningId()) + "/reports/" + url.PathEscape(rep.GetId())
}

// reportPage shows a report: to those who may, the editor of a draft and
// the buttons of its moves.
func (p *Portal) reportPage(w http.ResponseWriter, r *http.Request) {
	p.showReport(w, r, http.StatusOK, nil, nil)
}

func (p *Portal) showReport(w http.ResponseWriter, r *http.Request, code int, f, move *form) {
	tw, ok := p.loadTwinning(w, r)
	if !ok {
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	rep, err := p.b.Reports.GetReport(ctx, &twinningv1.GetReportRequest{TwinningId: tw.GetId(), Id: r.PathValue("report")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if f == nil {
		v := url.Values{"etag": {rep.GetEtag()}}
		for _, s := range rep.GetSections() {
			v.Set("section."+s.GetKey(), s.GetMarkdown())
		}
		f = newForm(v).withLabels(reportLabels)
	}
	if move == nil {
		move = newForm(url.Values{}).withLabels(reportLabels)
	}
	d := reportData{Twinning: tw, Report: rep, May: reportRights(visitOf(r).User, tw), Form: f, Move: move}
	p.renderTitled(w, r, code, "report", visitOf(r).L.ReportTitle(rep), d)
}

// ReportTitle is a report's title in the reader's language. The twinning
// service titles a report in Italian, the language of the documents it
// renders; the page says it in the portal's own words.
func (l *locale) ReportTitle(rep *twinningv1.Report) string {
	if rep.GetKind() == twinningv1.ReportKind_REPORT_KIND_FINAL || rep.GetQuarter() == "" {
		return l.T("reports.title_final", rep.GetTwinningTitle())
	}
	return l.T("reports.title_quarterly", rep.GetQuarter(), rep.GetTwinningTitle())
}

// saveReport rewrites the sections of a draft.
func (p *Portal) saveReport(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r)).withLabels(reportLabels)
	req := &twinningv1.UpdateReportRequest{TwinningId: r.PathValue("id"), Etag: f.Val("etag"), Report: &twinningv1.Report{Id: r.PathValue("report")}}
	for _, key := range reportSectionKeys {
		if vals, ok := f.Values["section."+key]; ok {
			req.Report.Sections = append(req.Report.Sections, &twinningv1.ReportSection{Key: key, Markdown: vals[0]})
		}
	}
	ctx, cancel := p.call(r)
	defer cancel()
	rep, err := p.b.Reports.UpdateReport(ctx, req)
	if err != nil {
		p.twinningReportFailed(w, r, f, nil, err)
		return
	}
	p.redirect(w, r, reportPath(rep), "flash.report_saved")
}

// reportSectionKeys are the sections of a report, in order.
var reportSectionKeys = []string{"summary", "activities", "milestones", "transfers", "adoption", "discussion", "objectives"}

// moveReport submits, approves or returns a report.
func (p *Portal) moveReport(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r)).withLabels(reportLabels)
	req := &twinningv1.TransitionReportRequest{TwinningId: r.PathValue("id"), Id: r.PathValue("report"), Etag: f.Val("etag"), Reason: f.Val("reason")}
	moves := map[string]func(context.Context, *twinningv1.TransitionReportRequest, ...grpc.CallOption) (*twinningv1.Report, error){
		"submit": p.b.Reports.SubmitReport, "approve": p.b.Reports.ApproveReport, "return": p.b.Reports.ReturnReport,
	}
	move, ok := moves[f.Val("move")]
	if !ok {
		p.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if f.Val("move") == "return" && !f.require(visitOf(r).L, "reason") {
		p.showReport(w, r, http.StatusBadRequest, nil, f)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	rep, err := move(ctx, req)
	if err != nil {
		p.twinningReportFailed(w, r, nil, f, err)
		return
	}
	p.redirect(w, r, reportPath(rep), "flash.report_moved")
}

func (p *Portal) twinningReportFailed(w http.ResponseWriter, r *http.Request, f, move *form, err error) {
	target := f
	if target == nil {
		target = move
	}
	fl := p.explain(r, target, err)
	if fl.mustLogIn || fl.unexpected {
		p.fail(w, r, err)
		return
	}
	p.showReport(w, r, fl.status, f, move)
}

// downloadReport sends the report as a PDF or HTML file.
func (p *Portal) downloadReport(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := p.call(r)
	defer cancel()
	format := r.URL.Query().Get("format")
	if format != "pdf" {
		format = "html"
	}
	// The HTML is titled in the reader's language; the PDF is the report
	// as filed, in Italian.
	out, err := p.b.Reports.RenderReport(ctx, &twinningv1.RenderReportRequest{TwinningId: r.PathValue("id"), Id: r.PathValue("report"), Format: format, Language: string(visitOf(r).L.Lang)})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", out.GetContentType())
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": out.GetFilename()}))
	w.Header().Set("Content-Length", strconv.Itoa(len(out.GetData())))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-cache")
	_, _ = w.Write(out.GetData())
}
