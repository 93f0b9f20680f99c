package portal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

type twinningFormData struct {
	Form *form
	// Twinning is the twinning being edited; nil for a new one.
	Twinning      *twinningv1.Twinning
	Organizations []*catalogv1.Organization
	Orgs          orgNames
	ObjectiveRows []int
	// Moves are the state moves the twinning's state allows.
	Moves []string
	// Move, Transfer and Activity are the other forms of the page; the
	// one that failed holds what was sent and its errors.
	Move     *form
	Transfer *form
	Activity *form
	// TransferUpdate is the failed status form of one transfer, by id.
	TransferUpdate map[string]*form
	Practices      []*catalogv1.Practice
	Origins        []twinningv1.Origin
	Statuses       []twinningv1.TransferStatus
	Kinds          []twinningv1.ActivityKind
}

// TransferForm is the status form of a transfer: the failed one as sent,
// an empty one otherwise.
func (d twinningFormData) TransferForm(id string) *form {
	if f, ok := d.TransferUpdate[id]; ok {
		return f
	}
	return newForm(nil)
}

const emptyObjectiveRows = 1

func (p *Portal) newTwinningForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(url.Values{
		"request_id":          {newRequestID()},
		"objectives[0].level": {visitOf(r).L.T("twinning.level.regional")},
		"objectives[1].level": {visitOf(r).L.T("twinning.level.municipal")},
		"origin":              {twinningv1.Origin_ORIGIN_DIRECT.String()},
	})
	p.showTwinningForm(w, r, http.StatusOK, twinningFormData{Form: f})
}

// showTwinningForm fills in what every twinning form page needs besides
// the forms themselves.
func (p *Portal) showTwinningForm(w http.ResponseWriter, r *http.Request, code int, d twinningFormData) {
	if d.Form == nil {
		d.Form = newForm(twinningToForm(d.Twinning))
	}
	for _, f := range []**form{&d.Move, &d.Transfer, &d.Activity} {
		if *f == nil {
			*f = newForm(nil)
		}
	}
	rows := indexedRows(d.Form.Values, "objectives") + emptyObjectiveRows
	for i := range rows {
		d.ObjectiveRows = append(d.ObjectiveRows, i)
	}
	d.Origins = []twinningv1.Origin{twinningv1.Origin_ORIGIN_DIRECT, twinningv1.Origin_ORIGIN_NEED, twinningv1.Origin_ORIGIN_OFFER}
	d.Statuses = []twinningv1.TransferStatus{
		twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED, twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS,
		twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED, twinningv1.TransferStatus_TRANSFER_STATUS_PARTIALLY_ADOPTED,
		twinningv1.TransferStatus_TRANSFER_STATUS_DROPPED,
	}
	for k := twinningv1.ActivityKind_ACTIVITY_KIND_WORKSHOP; k <= twinningv1.ActivityKind_ACTIVITY_KIND_MILESTONE; k++ {
		d.Kinds = append(d.Kinds, k)
	}
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			ordered, byID, err := p.orgs.all(ctx)
			if err == nil {
				d.Organizations, d.Orgs = ordered, orgNames(byID)
			}
		},
		func() {
			if d.Twinning == nil {
				return
			}
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: 100, Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED})
			if err == nil {
				d.Practices = resp.GetPractices()
			}
		},
	)
	title := visitOf(r).L.T("manage.twinning.new")
	if d.Twinning != nil {
		d.Moves = twinningMoves(d.Twinning.GetStatus())
		title = d.Twinning.GetTitle()
	}
	p.renderTitled(w, r, code, "twinning-form", title, d)
}

// twinningMoves are the state moves offered from a state; the twinning
// service decides who may make them.
func twinningMoves(s twinningv1.TwinningStatus) []string {
	switch s {
	case twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT:
		return []string{"propose", "cancel"}
	case twinningv1.TwinningStatus_TWINNING_STATUS_PROPOSED:
		return []string{"approve", "cancel"}
	case twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED:
		return []string{"activate", "cancel"}
	case twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE:
		return []string{"suspend", "complete", "cancel"}
	case twinningv1.TwinningStatus_TWINNING_STATUS_SUSPENDED:
		return []string{"resume", "cancel"}
	}
	return nil
}

// createTwinning creates a draft twinning from the form.
func (p *Portal) createTwinning(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	ctx, cancel := p.call(r)
	defer cancel()
	tw, err := p.b.Twinning.CreateTwinning(ctx, &twinningv1.CreateTwinningRequest{Twinning: twinningFromForm(f), RequestId: f.Val("request_id")})
	if err != nil {
		p.twinningFailed(w, r, twinningFormData{Form: f}, f, err)
		return
	}
	p.redirect(w, r, "/manage/twinnings/"+url.PathEscape(tw.GetId()), "flash.twinning_saved")
}

// editTwinningForm shows the twinning's details form and its transfer,
// activity and state forms.
func (p *Portal) editTwinningForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	tw, ok := p.loadTwinning(w, r)
	if !ok {
		return
	}
	p.showTwinningForm(w, r, http.StatusOK, twinningFormData{Twinning: tw})
}

func (p *Portal) loadTwinning(w http.ResponseWriter, r *http.Request) (*twinningv1.Twinning, bool) {
	ctx, cancel := p.call(r)
	defer cancel()
	tw, err := p.b.Twinning.GetTwinning(ctx, &twinningv1.GetTwinningRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return nil, false
	}
	return tw, true
}

// saveTwinning changes the twinning's details.
func (p *Portal) saveTwinning(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	changed := twinningFromForm(f)
	changed.Id, changed.Etag = r.PathValue("id"), f.Val("etag")
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Twinning.UpdateTwinning(ctx, &twinningv1.UpdateTwinningRequest{Twinning: changed, UpdateMask: &fieldmaskpb.FieldMask{Paths: twinningFormPaths}})
	if err != nil {
		p.twinningFailed(w, r, twinningFormData{Form: f}, f, err)
		return
	}
	p.redirect(w, r, "/manage/twinnings/"+url.PathEscape(changed.GetId()), "flash.twinning_saved")
}

// moveTwinning proposes, approves, activates, suspends, resumes,
// completes or cancels a twinning.
func (p *Portal) moveTwinning(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	req := &twinningv1.TransitionTwinningRequest{Id: r.PathValue("id"), Etag: f.Val("etag"), Reason: f.Val("reason")}
	moves := map[string]func(context.Context, *twinningv1.TransitionTwinningRequest, ...grpc.CallOption) (*twinningv1.Twinning, error){
		"propose":  p.b.Twinning.ProposeTwinning,
		"approve":  p.b.Twinning.ApproveTwinning,
		"activate": p.b.Twinning.ActivateTwinning,
		"suspend":  p.b.Twinning.SuspendTwinning,
		"resume":   p.b.Twinning.ResumeTwinning,
		"complete": p.b.Twinning.CompleteTwinning,
		"cancel":   p.b.Twinning.CancelTwinning,
	}
	move, ok := moves[f.Val("move")]
	if !ok {
		p.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	if _, err := move(ctx, req); err != nil {
		p.twinningFailed(w, r, twinningFormData{Move: f}, f, err)
		return
	}
	p.redirect(w, r, "/manage/twinnings/"+url.PathEscape(req.GetId()), "flash.twinning_moved")
}

// addTransfer adds the transfer of one model from an offering party to a
// receiving party.
func (p *Portal) addTransfer(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	id := r.PathValue("id")
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Twinning.AddTransfer(ctx, &twinningv1.AddTransferRequest{
		TwinningId: id,
		Transfer: &twinningv1.Transfer{
			PracticeId: f.Val("practice_id"), ModelCode: f.Val("model_code"),
			FromOrganizationId: f.Val("from_organization_id"), ToOrganizationId: f.Val("to_organization_id"),
			StartDate: f.Val("start_date"), EndDate: f.Val("end_date"),
		},
		RequestId: f.Val("request_id"),
	})
	if err != nil {
		p.twinningFailed(w, r, twinningFormData{Transfer: f}, f, err)
		return
	}
	p.redirect(w, r, "/manage/twinnings/"+url.PathEscape(id)+"#transfers", "flash.transfer_saved")
}

// updateTransfer moves a transfer's status and/or adds a progress note.
func (p *Portal) updateTransfer(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	id, transferID := r.PathValue("id"), r.PathValue("transfer")
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Twinning.UpdateTransfer(ctx, &twinningv1.UpdateTransferRequest{
		TwinningId: id,
		Transfer:   &twinningv1.Transfer{Id: transferID, Status: twinningv1.TransferStatus(twinningv1.TransferStatus_value[f.Val("status")])},
		Note:       f.Val("note"),
		Etag:       f.Val("etag"),
	})
	if err != nil {
		p.twinningFailed(w, r, twinningFormData{TransferUpdate: map[string]*form{transferID: f}}, f, err)
		return
	}
	p.redirect(w, r, "/manage/twinnings/"+url.PathEscape(id)+"#transfers", "flash.transfer_saved")
}

// logActivity adds an activity or a planned milestone to the log.
func (p *Portal) logActivity(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	id := r.PathValue("id")
	a := &twinningv1.Activity{
		Kind:         twinningv1.ActivityKind(twinningv1.ActivityKind_value[f.Val("kind")]),
		Title:        f.Val("title"),
		Description:  f.Val("description"),
		Date:         f.Val("date"),
		Participants: nonBlank(strings.Split(f.Val("participants"), "\n")),
		Outcome:      f.Val("outcome"),
		Milestone:    f.Val("milestone") != "",
		DueDate:      f.Val("due_date"),
	}
	for _, l := range linksFromText(f.Val("links")) {
		a.Links = append(a.Links, &twinningv1.Link{Title: l.GetTitle(), Url: l.GetUrl()})
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Twinning.LogActivity(ctx, &twinningv1.LogActivityRequest{TwinningId: id, Activity: a, RequestId: f.Val("request_id")})
	if err != nil {
		p.twinningFailed(w, r, twinningFormData{Activity: f}, f, err)
		return
	}
	p.redirect(w, r, "/manage/twinnings/"+url.PathEscape(id)+"#activities", "flash.activity_saved")
}

// updateActivity marks a milestone done today.
func (p *Portal) updateActivity(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	id := r.PathValue("id")
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Twinning.UpdateActivity(ctx, &twinningv1.UpdateActivityRequest{
		TwinningId: id,
		Activity:   &twinningv1.Activity{Id: r.PathValue("activity"), Done: true, Date: p.now().In(rome).Format("2006-01-02")},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"done", "date"}},
	})
	if err != nil {
		p.twinningFailed(w, r, twinningFormData{Move: f}, f, err)
		return
	}
	p.redirect(w, r, "/manage/twinnings/"+url.PathEscape(id)+"#activities", "flash.activity_saved")
}

// twinningFailed shows the twinning's page again with the failed form.
func (p *Portal) twinningFailed(w http.ResponseWriter, r *http.Request, d twinningFormData, f *form, err error) {
	fl := p.explain(r, f, err)
	if fl.mustLogIn || fl.unexpected {
		p.fail(w, r, err)
		return
	}
	if id := r.PathValue("id"); id != "" {
		tw, ok := p.loadTwinning(w, r)
		if !ok {
			return
		}
		d.Twinning = tw
	}
	p.showTwinningForm(w, r, fl.status, d)
}

// twinningFormPaths are the fields the twinning form edits.
var twinningFormPaths = []string{
	"code", "title", "summary", "objectives", "expected_results", "programme", "origin", "origin_ref",
	"offering_organization_ids", "receiving_organization_ids", "coordinator_organization_id",
	"start_date", "end_date", "live_stream_url", "territory_codes",
}

func twinningFromForm(f *form) *twinningv1.Twinning {
	tw := &twinningv1.Twinning{
		Code:                      f.Val("code"),
		Title:                     f.Val("title"),
		Summary:                   f.Val("summary"),
		ExpectedResults:           nonBlank(strings.Split(f.Val("expected_results"), "\n")),
		Origin:                    twinningv1.Origin(twinningv1.Origin_value[f.Val("origin")]),
		OriginRef:                 f.Val("origin_ref"),
		OfferingOrganizationIds:   nonBlank(f.Vals("offering_organization_ids")),
		ReceivingOrganizationIds:  nonBlank(f.Vals("receiving_organization_ids")),
		CoordinatorOrganizationId: f.Val("coordinator_organization_id"),
		StartDate:                 f.Val("start_date"),
		EndDate:                   f.Val("end_date"),
		LiveStreamUrl:             f.Val("live_stream_url"),
		TerritoryCodes:            splitList(f.Val("territory_codes")),
	}
	if f.Val("programme.name") != "" || f.Val("programme.priorities") != "" {
		tw.Programme = &twinningv1.Programme{Name: f.Val("programme.name"), Priorities: splitList(f.Val("programme.priorities"))}
	}
	for i := range indexedRows(f.Values, "objectives") {
		key := fmt.Sprintf("objectives[%d].", i)
		if text := f.Val(key + "text"); text != "" {
			tw.Objectives = append(tw.Objectives, &twinningv1.Objective{Level: f.Val(key + "level"), Text: text})
		}
	}
	return tw
}

func twinningToForm(tw *twinningv1.Twinning) url.Values {
	if tw == nil {
		return url.Values{}
	}
	v := url.Values{
		"etag":                        {tw.GetEtag()},
		"code":                        {tw.GetCode()},
		"title":                       {tw.GetTitle()},
		"summary":                     {tw.GetSummary()},
		"expected_results":            {strings.Join(tw.GetExpectedResults(), "\n")},
		"programme.name":              {tw.GetProgramme().GetName()},
		"programme.priorities":        {strings.Join(tw.GetProgramme().GetPriorities(), ", ")},
		"origin":                      {tw.GetOrigin().String()},
		"origin_ref":                  {tw.GetOriginRef()},
		"offering_organization_ids":   tw.GetOfferingOrganizationIds(),
		"receiving_organization_ids":  tw.GetReceivingOrganizationIds(),
		"coordinator_organization_id": {tw.GetCoordinatorOrganizationId()},
		"start_date":                  {tw.GetStartDate()},
		"end_date":                    {tw.GetEndDate()},
		"live_stream_url":             {tw.GetLiveStreamUrl()},
		"territory_codes":             {strings.Join(tw.GetTerritoryCodes(), ", ")},
	}
	for i, o := range tw.GetObjectives() {
		key := fmt.Sprintf("objectives[%d].", i)
		v.Set(key+"level", o.GetLevel())
		v.Set(key+"text", o.GetText())
	}
	return v
}
