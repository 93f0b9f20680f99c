package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// "Cerco / offro": administrations ask for support on a problem (a need)
// or offer one of their practices (an offer). A need's page shows the
// practices the catalogue suggests for it, each with its reasons in
// words, and starts a twinning proposal from one; an offer's page shows
// the open needs it fits.

var needLabels = map[string]string{
	"organization_id": "need.f.organization", "title": "need.f.title", "problem": "need.f.problem",
	"themes": "manage.f.themes", "sectors": "manage.f.sectors", "territory": "need.f.territory",
	"territory.code": "need.f.territory", "territory.name": "need.f.territory",
	"desired_start": "need.f.desired_start", "language": "need.f.language", "reason": "manage.reason",
}

var offerLabels = map[string]string{
	"organization_id": "offer.f.organization", "practice_id": "offer.f.practice", "model_codes": "offer.f.models",
	"capacity": "offer.f.capacity", "languages": "manage.f.languages", "conditions": "offer.f.conditions",
	"reason": "manage.reason",
}

type seekOfferData struct {
	Needs  section[[]*catalogv1.Need]
	Offers section[[]*catalogv1.Offer]
	Orgs   orgNames
}

// seekOffer is "cerco / offro": the open requests for support and the
// open offers of practices, and for editors the ways to post either.
func (p *Portal) seekOffer(w http.ResponseWriter, r *http.Request) {
	var d seekOfferData
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListNeeds(ctx, &catalogv1.ListNeedsRequest{PageSize: 50, Status: catalogv1.NeedStatus_NEED_STATUS_OPEN})
			if err != nil {
				d.Needs.Down = p.sectionError(r, err)
				return
			}
			d.Needs.Items = resp.GetNeeds()
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListOffers(ctx, &catalogv1.ListOffersRequest{PageSize: 50, Status: catalogv1.OfferStatus_OFFER_STATUS_OPEN})
			if err != nil {
				d.Offers.Down = p.sectionError(r, err)
				return
			}
			d.Offers.Items = resp.GetOffers()
		},
		func() { d.Orgs = p.orgNames(r) },
	)
	p.render(w, r, http.StatusOK, "seek-offer", "seekoffer.title", d)
}

type needFormData struct {
	Form *form
	// Organizations are those the member may ask for.
	Organizations []*catalogv1.Organization
	Territories   []territory
}

// myOrganizations are the organisations the member edits, by name.
func (p *Portal) myOrganizations(r *http.Request) []*catalogv1.Organization {
	u := visitOf(r).User
	var out []*catalogv1.Organization
	for _, o := range p.organizations(r) {
		if u.EditorOf(o.GetId()) {
			out = append(out, o)
		}
	}
	return out
}

// newNeedForm asks an editor for a need: which of their organisations
// asks, the problem, themes, sectors, territory and start.
func (p *Portal) newNeedForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).IsEditor) {
		return
	}
	f := newForm(url.Values{"request_id": {newRequestID()}, "language": {string(visitOf(r).L.Lang)}}).withLabels(needLabels)
	mine := p.myOrganizations(r)
	if len(mine) == 1 {
		f.Values.Set("organization_id", mine[0].GetId())
		f.Values.Set("territory.code", mine[0].GetTerritory().GetCode())
	}
	p.showNeedForm(w, r, http.StatusOK, f, mine)
}

func (p *Portal) showNeedForm(w http.ResponseWriter, r *http.Request, code int, f *form, mine []*catalogv1.Organization) {
	if mine == nil {
		mine = p.myOrganizations(r)
	}
	p.render(w, r, code, "need-form", "need.new", needFormData{Form: f, Organizations: mine, Territories: territories(p.organizations(r))})
}

// createNeed posts the need and shows its page with the suggestions.
func (p *Portal) createNeed(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).IsEditor) {
		return
	}
	l := visitOf(r).L
	f := newForm(formValues(r)).withLabels(needLabels)
	if !f.require(l, "organization_id", "title", "problem") {
		p.showNeedForm(w, r, http.StatusBadRequest, f, nil)
		return
	}
	if !visitOf(r).User.EditorOf(f.Val("organization_id")) {
		f.Message = l.T("perm.need_write", p.orgNames(r).Name(f.Val("organization_id")))
		p.showNeedForm(w, r, http.StatusForbidden, f, nil)
		return
	}
	n := &catalogv1.Need{
		OrganizationId: f.Val("organization_id"), Title: f.Val("title"), Problem: f.Val("problem"),
		Themes: splitList(f.Val("themes")), Sectors: splitList(f.Val("sectors")),
		DesiredStart: f.Val("desired_start"), Language: f.Val("language"),
	}
	if code := f.Val("territory.code"); code != "" {
		n.Territory = &catalogv1.Territory{Code: code, Name: p.orgNames(r).Territory(code)}
	}
	ctx, cancel := p.call(r)
	defer cancel()
	created, err := p.b.Catalog.CreateNeed(ctx, &catalogv1.CreateNeedRequest{Need: n, RequestId: f.Val("request_id")})
	if err != nil {
		fl := p.explain(r, f, err)
		f.rename("territory", "territory.code")
		f.rename("territory.name", "territory.code")
		if fl.mustLogIn || fl.unexpected {
			p.fail(w, r, err)
			return
		}
		p.showNeedForm(w, r, fl.status, f, nil)
		return
	}
	p.redirect(w, r, "/needs/"+url.PathEscape(created.GetId()), "flash.need_posted")
}

// suggestion is a practice suggested for a need, with its reasons in
// words and, for a member who may, the way to start a twinning from it.
type suggestion struct {
	Practice *catalogv1.Practice
	Reasons  []string
	OfferID  string
	// StartURL prefills a twinning proposal; "" when the visitor may not
	// propose one.
	StartURL string
}

type needData struct {
	Need    *catalogv1.Need
	Orgs    orgNames
	Matches section[[]suggestion]
	// MayClose offers the closing form.
	MayClose bool
	Close    *form
}

// need is a need's page: the problem, who asks, and the suggested
// practices with their reasons.
func (p *Portal) need(w http.ResponseWriter, r *http.Request) {
	p.showNeed(w, r, http.StatusOK, newForm(nil).withLabels(needLabels))
}

func (p *Portal) showNeed(w http.ResponseWriter, r *http.Request, code int, closeForm *form) {
	ctx, cancel := p.call(r)
	defer cancel()
	n, err := p.b.Catalog.GetNeed(ctx, &catalogv1.GetNeedRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := visitOf(r)
	d := needData{Need: n, Close: closeForm}
	open := n.GetStatus() == catalogv1.NeedStatus_NEED_STATUS_OPEN || n.GetStatus() == catalogv1.NeedStatus_NEED_STATUS_MATCHED
	d.MayClose = open && (v.User.EditorOf(n.GetOrganizationId()) || v.User.IsCoordinator())
	var matches []*catalogv1.PracticeMatch
	parallel(
		func() { d.Orgs = p.orgNames(r) },
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListNeedMatches(ctx, &catalogv1.ListNeedMatchesRequest{Id: n.GetId(), PageSize: 10})
			if err != nil {
				d.Matches.Down = p.sectionError(r, err)
				return
			}
			matches = resp.GetMatches()
		},
	)
	for _, m := range matches {
		s := suggestion{Practice: m.GetPractice(), Reasons: matchReasons(v.L, m.GetReasons()), OfferID: m.GetReasons().GetOpenOfferId()}
		if n.GetStatus() == catalogv1.NeedStatus_NEED_STATUS_OPEN && mayStartTwinning(v.User, []string{n.GetOrganizationId()}, m.GetPractice().GetOwnerOrganizationIds()) {
			q := url.Values{"need": {n.GetId()}, "practice": {m.GetPractice().GetId()}}
			if s.OfferID != "" {
				q.Set("offer", s.OfferID)
			}
			s.StartURL = "/manage/twinnings/new?" + q.Encode()
		}
		d.Matches.Items = append(d.Matches.Items, s)
	}
	p.renderTitled(w, r, code, "need", n.GetTitle(), d)
}

// mayStartTwinning mirrors the twinning service's rule for creating one:
// a coordinator, or an editor of one of its parties.
func mayStartTwinning(u *user, receiving, offering []string) bool {
	return u.IsCoordinator() || u.EditsAny(receiving) || u.EditsAny(offering)
}

// closenessIDs are the catalogue's words for how near a practice is.
var closenessIDs = map[string]string{
	"same territory": "match.same_territory", "same region": "match.same_region", "same country": "match.same_country",
}

// maxMatchedTerms bounds the words a reason lists.
const maxMatchedTerms = 8

// matchReasons says why a practice was suggested, one sentence a reason.
func matchReasons(l *locale, m *catalogv1.MatchReasons) []string {
	var out []string
	w := wording{l: l}
	if terms := m.GetMatchedTerms(); len(terms) > 0 {
		shown := terms[:min(len(terms), maxMatchedTerms)]
		s := l.T("match.terms", w.list(shown))
		if len(terms) > len(shown) {
			s = l.N("match.terms_more", len(terms)-len(shown), strings.Join(shown, ", "))
		}
		out = append(out, s)
	}
	if t := m.GetSharedThemes(); len(t) > 0 {
		out = append(out, l.N("match.themes", len(t), w.list(t)))
	}
	if s := m.GetSharedSectors(); len(s) > 0 {
		out = append(out, l.N("match.sectors", len(s), w.list(s)))
	}
	if id, ok := closenessIDs[m.GetTerritorialCloseness()]; ok {
		out = append(out, l.T(id))
	}
	if n := m.GetPriorAdoptions(); n > 0 {
		out = append(out, l.N("match.adoptions", int(n)))
	}
	if n := m.GetPriorPartialAdoptions(); n > 0 {
		out = append(out, l.N("match.partial_adoptions", int(n)))
	}
	if n := m.GetPriorDrops(); n > 0 {
		out = append(out, l.N("match.drops", int(n)))
	}
	if m.GetOpenOfferId() != "" {
		out = append(out, l.T("match.open_offer"))
	}
	return out
}

// closeNeed closes a need with a reason.
func (p *Portal) closeNeed(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(needLabels)
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Catalog.CloseNeed(ctx, &catalogv1.CloseNeedRequest{Id: r.PathValue("id"), Etag: f.Val("etag"), Reason: f.Val("reason")})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.unexpected || fl.notFound {
			p.fail(w, r, err)
			return
		}
		p.showNeed(w, r, fl.status, f)
		return
	}
	p.redirect(w, r, "/needs/"+url.PathEscape(r.PathValue("id")), "flash.need_closed")
}

type offerFormData struct {
	Form *form
	// Practice is the practice chosen, whose models the form offers; nil
	// until one is chosen.
	Practice *catalogv1.Practice
	// Practices are the published practices of the member's
	// organisations, for the first step.
	Practices []*catalogv1.Practice
	// Owners are the practice's owners the member edits: who may offer it.
	Owners []*catalogv1.Organization
}

// newOfferForm asks an editor which practice to offer (?practice= skips
// the question), then the models, capacity and conditions.
func (p *Portal) newOfferForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).IsEditor) {
		return
	}
	f := newForm(url.Values{"request_id": {newRequestID()}, "capacity": {"1"}, "languages": {"it"}}).withLabels(offerLabels)
	f.Values.Set("practice_id", r.URL.Query().Get("practice"))
	p.showOfferForm(w, r, http.StatusOK, f, true)
}

// showOfferForm draws either step; allModels checks every model of a
// practice just chosen.
func (p *Portal) showOfferForm(w http.ResponseWriter, r *http.Request, code int, f *form, allModels bool) {
	u := visitOf(r).User
	d := offerFormData{Form: f}
	var byID orgNames
	parallel(
		func() { byID = p.orgNames(r) },
		func() {
			if f.Val("practice_id") == "" {
				return
			}
			ctx, cancel := p.call(r)
			defer cancel()
			if pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: f.Val("practice_id")}); err == nil {
				d.Practice = pr
			}
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: 100, Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED})
			if err != nil {
				p.logBackend(r, err)
				return
			}
			for _, pr := range resp.GetPractices() {
				if u.EditsAny(pr.GetOwnerOrganizationIds()) {
					d.Practices = append(d.Practices, pr)
				}
			}
		},
	)
	if d.Practice != nil {
		f.Values.Set("practice_id", d.Practice.GetId())
		for _, id := range d.Practice.GetOwnerOrganizationIds() {
			if o, ok := byID[id]; ok && u.EditorOf(id) {
				d.Owners = append(d.Owners, o)
			}
		}
		if len(d.Owners) == 1 {
			f.Values.Set("organization_id", d.Owners[0].GetId())
		}
		if allModels {
			for _, m := range d.Practice.GetModels() {
				f.Values.Add("model_codes", m.GetCode())
			}
		}
	}
	p.render(w, r, code, "offer-form", "offer.new", d)
}

// createOffer posts the offer and shows its page.
func (p *Portal) createOffer(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).IsEditor) {
		return
	}
	l := visitOf(r).L
	f := newForm(formValues(r)).withLabels(offerLabels)
	if f.Val("step") == "practice" {
		// The first step only chose the practice.
		if !f.require(l, "practice_id") {
			p.showOfferForm(w, r, http.StatusBadRequest, f, false)
			return
		}
		p.showOfferForm(w, r, http.StatusOK, newForm(url.Values{
			"request_id": {f.Val("request_id")}, "practice_id": {f.Val("practice_id")}, "capacity": {"1"}, "languages": {"it"},
		}).withLabels(offerLabels), true)
		return
	}
	if !f.require(l, "practice_id", "organization_id") {
		p.showOfferForm(w, r, http.StatusBadRequest, f, false)
		return
	}
	if !visitOf(r).User.EditorOf(f.Val("organization_id")) {
		f.Message = l.T("perm.offer_write", p.orgNames(r).Name(f.Val("organization_id")))
		p.showOfferForm(w, r, http.StatusForbidden, f, false)
		return
	}
	o := &catalogv1.Offer{
		OrganizationId: f.Val("organization_id"), PracticeId: f.Val("practice_id"), ModelCodes: nonBlank(f.Vals("model_codes")),
		Capacity: int32(atoiOr(f.Val("capacity"), 1)), Languages: splitList(f.Val("languages")), Conditions: f.Val("conditions"),
	}
	ctx, cancel := p.call(r)
	defer cancel()
	created, err := p.b.Catalog.CreateOffer(ctx, &catalogv1.CreateOfferRequest{Offer: o, RequestId: f.Val("request_id")})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.unexpected {
			p.fail(w, r, err)
			return
		}
		p.showOfferForm(w, r, fl.status, f, false)
		return
	}
	p.redirect(w, r, "/offers/"+url.PathEscape(created.GetId()), "flash.offer_posted")
}

// needSuggestion is an open need an offer fits, with its reasons.
type needSuggestion struct {
	Need     *catalogv1.Need
	Reasons  []string
	StartURL string
}

type offerData struct {
	Offer    *catalogv1.Offer
	Practice *catalogv1.Practice
	Orgs     orgNames
	Needs    section[[]needSuggestion]
	MayClose bool
	Close    *form
}

// offer is an offer's page: the practice and models offered, the
// conditions, and the open needs the offer fits.
func (p *Portal) offer(w http.ResponseWriter, r *http.Request) {
	p.showOffer(w, r, http.StatusOK, newForm(nil).withLabels(offerLabels))
}

func (p *Portal) showOffer(w http.ResponseWriter, r *http.Request, code int, closeForm *form) {
	ctx, cancel := p.call(r)
	defer cancel()
	o, err := p.b.Catalog.GetOffer(ctx, &catalogv1.GetOfferRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := visitOf(r)
	d := offerData{Offer: o, Close: closeForm}
	open := o.GetStatus() == catalogv1.OfferStatus_OFFER_STATUS_OPEN
	d.MayClose = open && v.User.EditorOf(o.GetOrganizationId())
	var matches []*catalogv1.NeedMatch
	parallel(
		func() { d.Orgs = p.orgNames(r) },
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			if pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: o.GetPracticeId()}); err == nil {
				d.Practice = pr
			}
		},
		func() {
			if !open {
				return
			}
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListMatchingNeeds(ctx, &catalogv1.ListMatchingNeedsRequest{OrganizationId: o.GetOrganizationId(), PageSize: 50})
			if err != nil {
				d.Needs.Down = p.sectionError(r, err)
				return
			}
			matches = resp.GetMatches()
		},
	)
	for _, m := range matches {
		if m.GetOfferId() != o.GetId() {
			continue
		}
		s := needSuggestion{Need: m.GetNeed(), Reasons: matchReasons(v.L, m.GetReasons())}
		if mayStartTwinning(v.User, []string{m.GetNeed().GetOrganizationId()}, []string{o.GetOrganizationId()}) {
			s.StartURL = "/manage/twinnings/new?" + url.Values{"need": {m.GetNeed().GetId()}, "practice": {o.GetPracticeId()}, "offer": {o.GetId()}}.Encode()
		}
		d.Needs.Items = append(d.Needs.Items, s)
	}
	title := o.GetPracticeTitle()
	if d.Practice != nil {
		title = d.Practice.GetTitle()
	}
	p.renderTitled(w, r, code, "offer", v.L.T("offer.title", title), d)
}

// closeOffer closes an offer with a reason.
func (p *Portal) closeOffer(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(offerLabels)
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Catalog.CloseOffer(ctx, &catalogv1.CloseOfferRequest{Id: r.PathValue("id"), Etag: f.Val("etag"), Reason: f.Val("reason")})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.unexpected || fl.notFound {
			p.fail(w, r, err)
			return
		}
		p.showOffer(w, r, fl.status, f)
		return
	}
	p.redirect(w, r, "/offers/"+url.PathEscape(r.PathValue("id")), "flash.offer_closed")
}

// offeredModels are the practice's models an offer names; every model
// when it names none.
func offeredModels(pr *catalogv1.Practice, codes []string) []*catalogv1.Model {
	var out []*catalogv1.Model
	for _, m := range pr.GetModels() {
		if len(codes) == 0 || slices.Contains(codes, m.GetCode()) {
			out = append(out, m)
		}
	}
	return out
}

// atoiOr reads a whole number, or gives fallback.
func atoiOr(s string, fallback int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fallback
	}
	return n
}
