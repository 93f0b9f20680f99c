package portal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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
	// Moves are the state moves the twinning's state allows and the
	// member may make.
	Moves []string
	// May says what else the member may do to this twinning.
	May twinningRights
	// Move, Transfer and Activity are the other forms of the page; the
	// one that failed holds what was sent and its errors.
	Move     *form
	Transfer *form
	Activity *form
	// TransferUpdate is the failed status form of one transfer, by id.
	TransferUpdate map[string]*form
	// Practices are the published practices a transfer may take a model
	// from; Practice is the one chosen, whose models the form offers.
	Practices []*catalogv1.Practice
	Practice  *catalogv1.Practice
	// From and To are the parties a new transfer may go from (those the
	// member speaks for, or all offering parties for a coordinator) and to.
	From    []*catalogv1.Organization
	To      []*catalogv1.Organization
	Origins []twinningv1.Origin
	Kinds   []twinningv1.ActivityKind
	// Origin describes the need, offer and practice a new proposal
	// starts from, when it starts from a match.
	Origin *twinningOrigin
}

// twinningOrigin is the match a proposal starts from.
type twinningOrigin struct {
	Need     *catalogv1.Need
	Offer    *catalogv1.Offer
	Practice *catalogv1.Practice
}

// twinningRights are the member's rights on a twinning, as the twinning
// service's policy grants them (services/twinning/internal/app/policy.go)
// and as its state allows.
type twinningRights struct {
	Edit            bool
	AddTransfer     bool
	LogActivity     bool
	UpdateTransfers bool
}

// UpdateTransfer reports whether the member may move this transfer.
func (t twinningRights) updateTransfer(u *user, tr *twinningv1.Transfer) bool {
	return t.UpdateTransfers && (u.IsCoordinator() || u.EditorOf(tr.GetToOrganizationId()) || u.EditorOf(tr.GetFromOrganizationId()))
}

func rightsOn(u *user, tw *twinningv1.Twinning) twinningRights {
	parties := append(slices.Clone(tw.GetOfferingOrganizationIds()), tw.GetReceivingOrganizationIds()...)
	party := u.IsCoordinator() || u.EditsAny(parties)
	st := tw.GetStatus()
	live := st != twinningv1.TwinningStatus_TWINNING_STATUS_COMPLETED && st != twinningv1.TwinningStatus_TWINNING_STATUS_CANCELLED
	return twinningRights{
		Edit:            party && live,
		LogActivity:     party && live,
		AddTransfer:     (u.IsCoordinator() || u.EditsAny(tw.GetOfferingOrganizationIds())) && live && st != twinningv1.TwinningStatus_TWINNING_STATUS_SUSPENDED,
		UpdateTransfers: st == twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE,
	}
}

// TransferForm is the status form of a transfer: the failed one as sent,
// an empty one otherwise.
func (d twinningFormData) TransferForm(id string) *form {
	if f, ok := d.TransferUpdate[id]; ok {
		return f
	}
	return newForm(nil).withLabels(transferLabels)
}

// transferRow is one transfer of the edit page: the statuses it may move
// to, when the member may move it.
type transferRow struct {
	*twinningv1.Transfer
	Next []twinningv1.TransferStatus
}

// Rows are the transfers with what the member may do to each.
func (d twinningFormData) Rows(u *user) []transferRow {
	var out []transferRow
	for _, tr := range d.Twinning.GetTransfers() {
		row := transferRow{Transfer: tr}
		if d.May.updateTransfer(u, tr) {
			row.Next = transferNext[tr.GetStatus()]
		}
		out = append(out, row)
	}
	return out
}

// transferNext mirrors the twinning service's state machine of a transfer
// (services/twinning/internal/domain/twinning/status.go): the statuses a
// transfer may move to from each one.
var transferNext = map[twinningv1.TransferStatus][]twinningv1.TransferStatus{
	twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED: {twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS, twinningv1.TransferStatus_TRANSFER_STATUS_DROPPED},
	twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS: {
		twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED, twinningv1.TransferStatus_TRANSFER_STATUS_PARTIALLY_ADOPTED,
		twinningv1.TransferStatus_TRANSFER_STATUS_DROPPED,
	},
}

const emptyObjectiveRows = 1

func (p *Portal) newTwinningForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	l := visitOf(r).L
	f := newForm(url.Values{
		"request_id":          {newRequestID()},
		"objectives[0].level": {l.T("twinning.level.regional")},
		"objectives[1].level": {l.T("twinning.level.municipal")},
		"origin":              {twinningv1.Origin_ORIGIN_DIRECT.String()},
	}).withLabels(twinningLabels)
	d := twinningFormData{Form: f}
	q := r.URL.Query()
	if q.Get("need") != "" || q.Get("offer") != "" {
		d.Origin = p.loadOrigin(r, q.Get("need"), q.Get("offer"), q.Get("practice"))
		d.Origin.prefill(f)
	}
	p.showTwinningForm(w, r, http.StatusOK, d)
}

// loadOrigin reads the need, offer and practice a proposal starts from;
// what cannot be read is left out.
func (p *Portal) loadOrigin(r *http.Request, needID, offerID, practiceID string) *twinningOrigin {
	o := &twinningOrigin{}
	get := func(fn func(ctx context.Context)) func() {
		return func() {
			ctx, cancel := p.call(r)
			defer cancel()
			fn(ctx)
		}
	}
	parallel(
		get(func(ctx context.Context) {
			if needID != "" {
				o.Need, _ = p.b.Catalog.GetNeed(ctx, &catalogv1.GetNeedRequest{Id: needID})
			}
		}),
		get(func(ctx context.Context) {
			if offerID != "" {
				o.Offer, _ = p.b.Catalog.GetOffer(ctx, &catalogv1.GetOfferRequest{Id: offerID})
			}
		}),
		get(func(ctx context.Context) {
			if practiceID != "" {
				o.Practice, _ = p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: practiceID})
			}
		}),
	)
	if o.Practice == nil && o.Offer != nil {
		ctx, cancel := p.call(r)
		defer cancel()
		o.Practice, _ = p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: o.Offer.GetPracticeId()})
	}
	return o
}

// prefill writes what the match says into a new twinning's form: the
// need's organisation receives, the offer's organisation (or the
// practice's owners) offer, the need's words say what it is for.
func (o *twinningOrigin) prefill(f *form) {
	if n := o.Need; n != nil {
		f.Values.Set("origin", twinningv1.Origin_ORIGIN_NEED.String())
		f.Values.Set("origin_ref", n.GetId())
		f.Values.Set("title", n.GetTitle())
		f.Values.Set("summary", n.GetProblem())
		f.Values.Set("objectives[0].text", n.GetTitle())
		f.Values["receiving_organization_ids"] = []string{n.GetOrganizationId()}
		if c := n.GetTerritory().GetCode(); c != "" {
			f.Values.Set("territory_codes", c)
		}
	} else if o.Offer != nil {
		f.Values.Set("origin", twinningv1.Origin_ORIGIN_OFFER.String())
		f.Values.Set("origin_ref", o.Offer.GetId())
	}
	if o.Offer != nil {
		f.Values["offering_organization_ids"] = []string{o.Offer.GetOrganizationId()}
	} else if pr := o.Practice; pr != nil {
		f.Values["offering_organization_ids"] = slices.Clone(pr.GetOwnerOrganizationIds())
	}
	if pr := o.Practice; pr != nil {
		f.Values.Set("practice_id", pr.GetId())
		if f.Val("title") == "" {
			f.Values.Set("title", pr.GetTitle())
		}
		if pg := pr.GetProgramme(); pg != nil {
			f.Values.Set("programme.name", pg.GetName())
			f.Values.Set("programme.priorities", strings.Join(pg.GetPriorities(), ", "))
		}
		if c := pr.GetTerritory().GetCode(); c != "" && !slices.Contains(splitList(f.Val("territory_codes")), c) {
			f.Values.Set("territory_codes", strings.Join(append(splitList(f.Val("territory_codes")), c), ", "))
		}
	}
}

// showTwinningForm fills in what every twinning form page needs besides
// the forms themselves.
func (p *Portal) showTwinningForm(w http.ResponseWriter, r *http.Request, code int, d twinningFormData) {
	u := visitOf(r).User
	if d.Form == nil {
		d.Form = newForm(twinningToForm(d.Twinning)).withLabels(twinningLabels)
	}
	for _, f := range []**form{&d.Move, &d.Transfer, &d.Activity} {
		if *f == nil {
			*f = newForm(nil)
		}
	}
	d.Move.withLabels(twinningLabels)
	d.Transfer.withLabels(transferLabels)
	d.Activity.withLabels(activityLabels)
	rows := indexedRows(d.Form.Values, "objectives") + emptyObjectiveRows
	for i := range rows {
		d.ObjectiveRows = append(d.ObjectiveRows, i)
	}
	d.Origins = []twinningv1.Origin{twinningv1.Origin_ORIGIN_DIRECT, twinningv1.Origin_ORIGIN_NEED, twinningv1.Origin_ORIGIN_OFFER}
	for k := twinningv1.ActivityKind_ACTIVITY_KIND_WORKSHOP; k <= twinningv1.ActivityKind_ACTIVITY_KIND_MILESTONE; k++ {
		d.Kinds = append(d.Kinds, k)
	}
	if d.Twinning != nil {
		d.May = rightsOn(u, d.Twinning)
		d.Moves = allowedMoves(u, d.Twinning)
	}
	// The practice whose models a new transfer offers: the one the form
	// sent, the one asked for, or the one the twinning already transfers.
	practiceID := d.Transfer.Val("practice_id")
	if practiceID == "" {
		practiceID = r.URL.Query().Get("practice")
	}
	if practiceID == "" && len(d.Twinning.GetTransfers()) > 0 {
		practiceID = d.Twinning.GetTransfers()[0].GetPracticeId()
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
			if d.Twinning == nil || !d.May.AddTransfer {
				return
			}
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: 100, Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED})
			if err == nil {
				d.Practices = resp.GetPractices()
			}
		},
		func() {
			if d.Twinning == nil || !d.May.AddTransfer || practiceID == "" {
				return
			}
			ctx, cancel := p.call(r)
			defer cancel()
			if pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: practiceID}); err == nil {
				d.Practice = pr
			}
		},
	)
	if d.Twinning != nil {
		for _, id := range d.Twinning.GetOfferingOrganizationIds() {
			if o, ok := d.Orgs[id]; ok && (u.IsCoordinator() || u.EditorOf(id)) {
				d.From = append(d.From, o)
			}
		}
		for _, id := range d.Twinning.GetReceivingOrganizationIds() {
			if o, ok := d.Orgs[id]; ok {
				d.To = append(d.To, o)
			}
		}
		if d.Practice != nil {
			d.Transfer.Values.Set("practice_id", d.Practice.GetId())
			// A model's owner transfers it: preset the party that owns it.
			if len(d.From) == 1 && d.Transfer.Val("from_organization_id") == "" {
				d.Transfer.Values.Set("from_organization_id", d.From[0].GetId())
			}
		}
		if len(d.To) == 1 && d.Transfer.Val("to_organization_id") == "" {
			d.Transfer.Values.Set("to_organization_id", d.To[0].GetId())
		}
	}
	title := visitOf(r).L.T("manage.twinning.new")
	if d.Twinning != nil {
		title = d.Twinning.GetTitle()
	}
	p.renderTitled(w, r, code, "twinning-form", title, d)
}

// twinningMoves are the state moves offered from a state, as the twinning
// service's state machine allows them.
func twinningMoves(s twinningv1.TwinningStatus) []string {
	switch s {
	case twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT:
		return []string{"propose"} // a draft is deleted, not cancelled
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

// allowedMoves are the moves of the state that the member may make: an
// editor of a party proposes, a coordinator approves, completes and
// cancels, a coordinator or an editor of an offering party activates,
// suspends and resumes.
func allowedMoves(u *user, tw *twinningv1.Twinning) []string {
	parties := append(slices.Clone(tw.GetOfferingOrganizationIds()), tw.GetReceivingOrganizationIds()...)
	var out []string
	for _, m := range twinningMoves(tw.GetStatus()) {
		var ok bool
		switch m {
		case "propose":
			ok = u.EditsAny(parties)
		case "approve", "complete", "cancel":
			ok = u.IsCoordinator()
		case "activate", "suspend", "resume":
			ok = u.IsCoordinator() || u.EditsAny(tw.GetOfferingOrganizationIds())
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// createTwinning creates a draft twinning from the form. The fields a
// twinning needs are checked first, then whether the member speaks for
// one of its parties: an empty form names its missing fields.
func (p *Portal) createTwinning(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	v := visitOf(r)
	f := newForm(formValues(r)).withLabels(twinningLabels)
	if !f.require(v.L, "code", "title", "offering_organization_ids", "receiving_organization_ids") {
		p.showTwinningForm(w, r, http.StatusBadRequest, twinningFormData{Form: f, Origin: p.originOf(r, f)})
		return
	}
	tw := twinningFromForm(f)
	if !v.User.IsCoordinator() && !v.User.EditsAny(append(slices.Clone(tw.GetOfferingOrganizationIds()), tw.GetReceivingOrganizationIds()...)) {
		f.Message = v.L.T("perm.create_twinning")
		p.showTwinningForm(w, r, http.StatusForbidden, twinningFormData{Form: f, Origin: p.originOf(r, f)})
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	created, err := p.b.Twinning.CreateTwinning(ctx, &twinningv1.CreateTwinningRequest{Twinning: tw, RequestId: f.Val("request_id")})
	if err != nil {
		p.twinningFailed(w, r, twinningFormData{Form: f, Origin: p.originOf(r, f)}, f, err)
		return
	}
	to := "/manage/twinnings/" + url.PathEscape(created.GetId())
	if pid := f.Val("practice_id"); pid != "" {
		to += "?" + url.Values{"practice": {pid}}.Encode() + "#transfers"
	}
	p.redirect(w, r, to, "flash.twinning_saved")
}

// originOf reads again the match a failed proposal started from.
func (p *Portal) originOf(r *http.Request, f *form) *twinningOrigin {
	ref := f.Val("origin_ref")
	switch f.Val("origin") {
	case twinningv1.Origin_ORIGIN_NEED.String():
		if ref != "" {
			return p.loadOrigin(r, ref, "", f.Val("practice_id"))
		}
	case twinningv1.Origin_ORIGIN_OFFER.String():
		if ref != "" {
			return p.loadOrigin(r, "", ref, f.Val("practice_id"))
		}
	}
	return nil
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
	f := newForm(formValues(r)).withLabels(twinningLabels)
	if !f.require(visitOf(r).L, "code", "title") {
		p.twinningFailed(w, r, twinningFormData{Form: f}, f, nil)
		return
	}
	changed := twinningFromForm(f)
	changed.Id, changed.Etag = r.PathValue("id"), f.Val("etag")
	f.typed = true
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
	f := newForm(formValues(r)).withLabels(twinningLabels)
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
	if m := f.Val("move"); (m == "cancel" || m == "suspend") && !f.require(visitOf(r).L, "reason") {
		p.twinningFailed(w, r, twinningFormData{Move: f}, f, nil)
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
	f := newForm(formValues(r)).withLabels(transferLabels)
	id := r.PathValue("id")
	if !f.require(visitOf(r).L, "practice_id", "model_code", "from_organization_id", "to_organization_id") {
		p.twinningFailed(w, r, twinningFormData{Transfer: f}, f, nil)
		return
	}
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
	p.redirect(w, r, "/manage/twinnings/"+url.PathEscape(id)+"#transfers", "flash.transfer_added")
}

// updateTransfer moves a transfer's status and/or adds a progress note.
func (p *Portal) updateTransfer(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r)).withLabels(transferLabels)
	id, transferID := r.PathValue("id"), r.PathValue("transfer")
	st := twinningv1.TransferStatus(twinningv1.TransferStatus_value[f.Val("status")])
	if st == twinningv1.TransferStatus_TRANSFER_STATUS_UNSPECIFIED && f.Val("note") == "" {
		f.require(visitOf(r).L, "status")
		p.twinningFailed(w, r, twinningFormData{TransferUpdate: map[string]*form{transferID: f}}, f, nil)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Twinning.UpdateTransfer(ctx, &twinningv1.UpdateTransferRequest{
		TwinningId: id,
		Transfer:   &twinningv1.Transfer{Id: transferID, Status: st},
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
	// No check of the portal's own stops the form first: the twinning
	// service names every problem of an activity at once (a missing
	// title, a milestone without its due date, a link not written as
	// "title | address"), so that the member fixes them in one go.
	f := newForm(formValues(r)).withLabels(activityLabels).withFormat("links", "rule.links_format")
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
	f := newForm(formValues(r)).withLabels(activityLabels)
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
	fl := failure{status: http.StatusBadRequest}
	if err != nil {
		if id := r.PathValue("id"); id != "" {
			// A transfer's error names it by id; the page calls it by its model.
			if tw, ok := p.peekTwinning(r, id); ok {
				f.names = map[string]string{}
				for _, t := range tw.GetTransfers() {
					f.names[t.GetId()] = t.GetModelCode()
				}
			}
		}
		fl = p.explain(r, f, err)
	}
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
		keepAfterStale(visitOf(r).L, f, err, tw.GetEtag())
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

// peekTwinning reads a twinning for what an error names, quietly.
func (p *Portal) peekTwinning(r *http.Request, id string) (*twinningv1.Twinning, bool) {
	ctx, cancel := p.call(r)
	defer cancel()
	tw, err := p.b.Twinning.GetTwinning(ctx, &twinningv1.GetTwinningRequest{Id: id})
	return tw, err == nil
}
