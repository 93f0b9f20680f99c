package portal

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

type manageData struct {
	Practices section[[]*catalogv1.Practice]
	Twinnings section[[]*twinningv1.Twinning]
	// Status filters the practices: "" for every state.
	Status   string
	Statuses []catalogv1.PracticeStatus
}

// manage is the editors' and coordinators' desk: the practices and
// twinnings of their organisations (every one for a coordinator), drafts
// included, and the ways to create new ones.
func (p *Portal) manage(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	status := r.URL.Query().Get("status")
	d := manageData{Status: status, Statuses: []catalogv1.PracticeStatus{
		catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT, catalogv1.PracticeStatus_PRACTICE_STATUS_SUBMITTED,
		catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED, catalogv1.PracticeStatus_PRACTICE_STATUS_ARCHIVED,
	}}
	u := visitOf(r).User
	// A coordinator's desk is the whole catalogue; an editor's, the work
	// of the organisations they speak for.
	scopes := []string{""}
	if !u.IsCoordinator() {
		scopes = u.Organizations
	}
	var mu sync.Mutex
	seenP, seenT := map[string]bool{}, map[string]bool{}
	var calls []func()
	for _, org := range scopes {
		calls = append(calls, func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{
				PageSize: 100, OwnerOrganizationId: org, Status: catalogv1.PracticeStatus(catalogv1.PracticeStatus_value[status]),
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				d.Practices.Down = p.sectionError(r, err)
				return
			}
			for _, pr := range resp.GetPractices() {
				if !seenP[pr.GetId()] {
					seenP[pr.GetId()] = true
					d.Practices.Items = append(d.Practices.Items, pr)
				}
			}
		}, func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Twinning.ListTwinnings(ctx, &twinningv1.ListTwinningsRequest{PageSize: 100, OrganizationId: org})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				d.Twinnings.Down = p.sectionError(r, err)
				return
			}
			for _, tw := range resp.GetTwinnings() {
				if !seenT[tw.GetId()] {
					seenT[tw.GetId()] = true
					d.Twinnings.Items = append(d.Twinnings.Items, tw)
				}
			}
		})
	}
	parallel(calls...)
	byUpdate := func(a, b *timestamppb.Timestamp) int { return b.AsTime().Compare(a.AsTime()) }
	slices.SortFunc(d.Practices.Items, func(a, b *catalogv1.Practice) int { return byUpdate(a.GetUpdateTime(), b.GetUpdateTime()) })
	slices.SortFunc(d.Twinnings.Items, func(a, b *twinningv1.Twinning) int { return byUpdate(a.GetUpdateTime(), b.GetUpdateTime()) })
	p.render(w, r, http.StatusOK, "manage", "manage.title", d)
}

type practiceFormData struct {
	Form *form
	// Practice is the practice being edited; nil for a new one.
	Practice      *catalogv1.Practice
	Organizations []*catalogv1.Organization
	// ModelRows are the indexes of the model rows: the models there are
	// and two empty rows for new ones.
	ModelRows []int
	// Moves are the state moves the practice's state allows and the
	// member may make.
	Moves []string
	// MayEdit offers the edit form: the member edits for an owner.
	MayEdit bool
	// Lineage is where a practice that adapts others' models comes from
	// (lineage.go), so that its editors see it before it is public.
	Lineage template.HTML
}

const emptyModelRows = 2

func (p *Portal) newPracticeForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(url.Values{"languages": {"it"}, "request_id": {newRequestID()}}).withLabels(practiceLabels)
	if mine := visitOf(r).User.Organizations; len(mine) == 1 {
		f.Values.Set("owner_organization_ids", mine[0])
	}
	p.prefillAdaptation(r, f)
	p.showPracticeForm(w, r, http.StatusOK, f, nil)
}

func (p *Portal) showPracticeForm(w http.ResponseWriter, r *http.Request, code int, f *form, pr *catalogv1.Practice) {
	u := visitOf(r).User
	d := practiceFormData{Form: f, Practice: pr, MayEdit: pr == nil}
	// An editor names as owners only organisations they speak for, and
	// keeps those the practice has.
	for _, o := range p.organizations(r) {
		if u.EditorOf(o.GetId()) || slices.Contains(pr.GetOwnerOrganizationIds(), o.GetId()) {
			d.Organizations = append(d.Organizations, o)
		}
	}
	rows := indexedRows(f.Values, "models") + emptyModelRows
	for i := range rows {
		d.ModelRows = append(d.ModelRows, i)
	}
	title := visitOf(r).L.T("manage.practice.new")
	if pr != nil {
		d.Moves = allowedPracticeMoves(u, pr)
		d.MayEdit = u.EditsAny(pr.GetOwnerOrganizationIds()) && pr.GetStatus() != catalogv1.PracticeStatus_PRACTICE_STATUS_ARCHIVED
		title = pr.GetTitle()
		if len(pr.GetAdapts()) > 0 {
			d.Lineage = p.lineageSection(r, pr, p.getLineage(r, pr.GetId()), p.orgNames(r), nil)
		}
	}
	p.renderTitled(w, r, code, "practice-form", title, d)
}

// practiceMoves are the state moves offered from a state; the catalogue
// decides who may make them.
func practiceMoves(s catalogv1.PracticeStatus) []string {
	switch s {
	case catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT:
		return []string{"submit"}
	case catalogv1.PracticeStatus_PRACTICE_STATUS_SUBMITTED:
		return []string{"publish"}
	case catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED:
		return []string{"archive"}
	}
	return nil
}

// allowedPracticeMoves are the moves of the practice's state that the
// member may make, as the catalogue's policy allows them: an editor of an
// owner submits, a coordinator publishes, either archives.
func allowedPracticeMoves(u *user, pr *catalogv1.Practice) []string {
	owner := u.EditsAny(pr.GetOwnerOrganizationIds())
	var out []string
	for _, m := range practiceMoves(pr.GetStatus()) {
		switch {
		case m == "submit" && owner, m == "publish" && u.IsCoordinator(), m == "archive" && (owner || u.IsCoordinator()):
			out = append(out, m)
		}
	}
	return out
}

// createPractice creates a draft from the form.
func (p *Portal) createPractice(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	v := visitOf(r)
	f := newForm(formValues(r)).withLabels(practiceLabels)
	if !f.require(v.L, "title", "owner_organization_ids") {
		p.showPracticeForm(w, r, http.StatusBadRequest, f, nil)
		return
	}
	for _, o := range nonBlank(f.Vals("owner_organization_ids")) {
		if !v.User.EditorOf(o) {
			f.Message = v.L.T("perm.create_practice_for", p.orgNames(r).Name(o))
			p.showPracticeForm(w, r, http.StatusForbidden, f, nil)
			return
		}
	}
	ctx, cancel := p.call(r)
	defer cancel()
	pr, err := p.b.Catalog.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: practiceFromForm(f), RequestId: f.Val("request_id")})
	if err != nil {
		p.practiceFormFailed(w, r, f, nil, err)
		return
	}
	p.redirect(w, r, "/manage/practices/"+url.PathEscape(pr.GetId()), "flash.practice_saved")
}

func (p *Portal) editPracticeForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.showPracticeForm(w, r, http.StatusOK, newForm(practiceToForm(pr)).withLabels(practiceLabels), pr)
}

// savePractice changes a draft or submitted practice, or revises a
// published one (with a note, kept in its history).
func (p *Portal) savePractice(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r)).withLabels(practiceLabels)
	ctx, cancel := p.call(r)
	defer cancel()
	current, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !f.require(visitOf(r).L, "title", "owner_organization_ids") {
		p.showPracticeForm(w, r, http.StatusBadRequest, f, current)
		return
	}
	changed := practiceFromForm(f)
	changed.Id, changed.Etag = current.GetId(), f.Val("etag")
	f.typed = true
	mask := &fieldmaskpb.FieldMask{Paths: practiceFormPaths}
	if changed.GetSlug() == "" {
		mask.Paths = practiceFormPathsWithoutSlug
	}
	if current.GetStatus() == catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED {
		_, err = p.b.Catalog.RevisePractice(ctx, &catalogv1.RevisePracticeRequest{Practice: changed, UpdateMask: mask, Note: f.Val("note")})
	} else {
		_, err = p.b.Catalog.UpdatePractice(ctx, &catalogv1.UpdatePracticeRequest{Practice: changed, UpdateMask: mask})
	}
	if err != nil {
		p.practiceFormFailed(w, r, f, current, err)
		return
	}
	p.redirect(w, r, "/manage/practices/"+url.PathEscape(current.GetId()), "flash.practice_saved")
}

// movePractice submits, publishes or archives a practice.
func (p *Portal) movePractice(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r)).withLabels(practiceLabels)
	id, etag := r.PathValue("id"), f.Val("etag")
	ctx, cancel := p.call(r)
	defer cancel()
	var err error
	switch f.Val("move") {
	case "submit":
		_, err = p.b.Catalog.SubmitPractice(ctx, &catalogv1.SubmitPracticeRequest{Id: id, Etag: etag})
	case "publish":
		_, err = p.b.Catalog.PublishPractice(ctx, &catalogv1.PublishPracticeRequest{Id: id, Etag: etag})
	case "archive":
		_, err = p.b.Catalog.ArchivePractice(ctx, &catalogv1.ArchivePracticeRequest{Id: id, Etag: etag, Reason: f.Val("reason")})
	default:
		p.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if err != nil {
		current, getErr := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: id})
		if getErr != nil {
			p.fail(w, r, getErr)
			return
		}
		edit := newForm(practiceToForm(current)).withLabels(practiceLabels)
		p.practiceFormFailed(w, r, edit, current, err)
		return
	}
	p.redirect(w, r, "/manage/practices/"+url.PathEscape(id), "flash.practice_moved")
}

func (p *Portal) practiceFormFailed(w http.ResponseWriter, r *http.Request, f *form, pr *catalogv1.Practice, err error) {
	fl := p.explain(r, f, err)
	if fl.mustLogIn || fl.unexpected {
		p.fail(w, r, err)
		return
	}
	keepAfterStale(visitOf(r).L, f, err, pr.GetEtag())
	p.showPracticeForm(w, r, fl.status, f, pr)
}

// practiceFormPaths are the fields the practice form edits.
var practiceFormPaths = []string{
	"slug", "title", "summary", "description", "owner_organization_ids", "themes", "sectors", "programme",
	"territory", "problem", "results", "evidence", "resources", "prerequisites", "start_date", "ongoing",
	"contact", "languages", "attachments", "models",
}

var practiceFormPathsWithoutSlug = practiceFormPaths[1:]

func practiceFromForm(f *form) *catalogv1.Practice {
	pr := &catalogv1.Practice{
		Slug:                 f.Val("slug"),
		Title:                f.Val("title"),
		Summary:              f.Val("summary"),
		Description:          f.Val("description"),
		OwnerOrganizationIds: nonBlank(f.Vals("owner_organization_ids")),
		Themes:               splitList(f.Val("themes")),
		Sectors:              splitList(f.Val("sectors")),
		Problem:              f.Val("problem"),
		Results:              f.Val("results"),
		Evidence:             f.Val("evidence"),
		Resources:            f.Val("resources"),
		Prerequisites:        f.Val("prerequisites"),
		StartDate:            f.Val("start_date"),
		Ongoing:              f.Val("ongoing") != "",
		Languages:            splitList(f.Val("languages")),
		Attachments:          linksFromText(f.Val("attachments")),
		Adapts:               adaptsFromForm(f),
	}
	if f.Val("programme.name") != "" || f.Val("programme.priorities") != "" {
		pr.Programme = &catalogv1.Programme{Name: f.Val("programme.name"), Priorities: splitList(f.Val("programme.priorities"))}
	}
	if f.Val("territory.code") != "" || f.Val("territory.name") != "" {
		pr.Territory = &catalogv1.Territory{Code: f.Val("territory.code"), Name: f.Val("territory.name")}
	}
	if f.Val("contact.name") != "" || f.Val("contact.email") != "" || f.Val("contact.phone") != "" {
		pr.Contact = &catalogv1.Contact{Name: f.Val("contact.name"), Email: f.Val("contact.email"), Phone: f.Val("contact.phone")}
	}
	for i := range indexedRows(f.Values, "models") {
		key := fmt.Sprintf("models[%d].", i)
		m := &catalogv1.Model{
			Code:                f.Val(key + "code"),
			Title:               f.Val(key + "title"),
			Description:         f.Val(key + "description"),
			OwnerOrganizationId: f.Val(key + "owner_organization_id"),
		}
		if m.Code == "" && m.Title == "" && m.Description == "" {
			continue
		}
		pr.Models = append(pr.Models, m)
	}
	return pr
}

func practiceToForm(pr *catalogv1.Practice) url.Values {
	v := url.Values{
		"etag":                   {pr.GetEtag()},
		"slug":                   {pr.GetSlug()},
		"title":                  {pr.GetTitle()},
		"summary":                {pr.GetSummary()},
		"description":            {pr.GetDescription()},
		"owner_organization_ids": pr.GetOwnerOrganizationIds(),
		"themes":                 {strings.Join(pr.GetThemes(), ", ")},
		"sectors":                {strings.Join(pr.GetSectors(), ", ")},
		"programme.name":         {pr.GetProgramme().GetName()},
		"programme.priorities":   {strings.Join(pr.GetProgramme().GetPriorities(), ", ")},
		"territory.code":         {pr.GetTerritory().GetCode()},
		"territory.name":         {pr.GetTerritory().GetName()},
		"problem":                {pr.GetProblem()},
		"results":                {pr.GetResults()},
		"evidence":               {pr.GetEvidence()},
		"resources":              {pr.GetResources()},
		"prerequisites":          {pr.GetPrerequisites()},
		"start_date":             {pr.GetStartDate()},
		"contact.name":           {pr.GetContact().GetName()},
		"contact.email":          {pr.GetContact().GetEmail()},
		"contact.phone":          {pr.GetContact().GetPhone()},
		"languages":              {strings.Join(pr.GetLanguages(), ", ")},
		"attachments":            {linksToText(pr.GetAttachments())},
	}
	if pr.GetOngoing() {
		v.Set("ongoing", "on")
	}
	for i, m := range pr.GetModels() {
		key := fmt.Sprintf("models[%d].", i)
		v.Set(key+"code", m.GetCode())
		v.Set(key+"title", m.GetTitle())
		v.Set(key+"description", m.GetDescription())
		v.Set(key+"owner_organization_id", m.GetOwnerOrganizationId())
	}
	return v
}

// indexedRows is how many rows of a repeated group ("models[3].code") the
// values hold: one more than the highest index, at most maxRows.
func indexedRows(v url.Values, group string) int {
	const maxRows = 30
	n := 0
	for k := range v {
		rest, ok := strings.CutPrefix(k, group+"[")
		if !ok {
			continue
		}
		idx, _, ok := strings.Cut(rest, "]")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= maxRows {
			continue
		}
		n = max(n, i+1)
	}
	return n
}

// splitList reads "a, b; c" or one item a line into a list.
func splitList(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' })
	return nonBlank(fields)
}

func nonBlank(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// linksFromText reads one link a line, "title | url" or just the url.
func linksFromText(s string) []*catalogv1.Link {
	var out []*catalogv1.Link
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		title, u, found := strings.Cut(line, "|")
		if !found {
			title, u = "", title
		}
		out = append(out, &catalogv1.Link{Title: strings.TrimSpace(title), Url: strings.TrimSpace(u)})
	}
	return out
}

func linksToText(links []*catalogv1.Link) string {
	var lines []string
	for _, l := range links {
		if l.GetTitle() == "" {
			lines = append(lines, l.GetUrl())
		} else {
			lines = append(lines, l.GetTitle()+" | "+l.GetUrl())
		}
	}
	return strings.Join(lines, "\n")
}

// newRequestID makes the idempotency key a create form carries, so that
// sending the form twice creates one thing.
func newRequestID() string { return newBrowserID()[:22] }
