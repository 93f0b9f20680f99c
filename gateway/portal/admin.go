package portal

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// Administration: administrators verify or refuse the affiliations that
// make a member an editor of an organisation, grant and revoke roles, and
// register and edit organisations; coordinators follow the requests and
// the members, and register organisations. Every decision is recorded by
// the community service with who, when and why (the member's decisions),
// and shown on the member's page.

var organizationLabels = map[string]string{
	"name": "org.f.name", "kind": "org.f.kind", "territory": "org.f.territory_code", "territory.code": "org.f.territory_code",
	"territory.name": "org.f.territory_name", "parent_id": "org.f.parent", "network_ids": "org.f.networks",
	"website": "org.f.website", "description": "org.f.description",
}

var decisionLabels = map[string]string{"reason": "admin.reason", "roles": "admin.roles"}

type adminData struct {
	// Pending are the requests to speak for an organisation, oldest
	// member first; NextPending is the token of the next page.
	Pending     section[[]*discussionv1.AffiliationRequest]
	NextPending string
	// MayDecide: administrators decide; coordinators see the requests.
	MayDecide   bool
	Members     section[[]*discussionv1.Member]
	NextMembers string
	Orgs        []*catalogv1.Organization
	Names       orgNames
	// Failed is the decision form that went wrong, by member and
	// organisation ("member/org").
	Failed map[string]*form
}

// DecisionForm is the form of one pending request.
func (d adminData) DecisionForm(memberID, orgID string) *form {
	if f, ok := d.Failed[memberID+"/"+orgID]; ok {
		return f
	}
	return newForm(nil).withLabels(decisionLabels)
}

// admin is the administration desk: the affiliation requests waiting for
// a decision, the members with their roles, the organisations.
func (p *Portal) admin(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanAdminister) {
		return
	}
	p.showAdmin(w, r, http.StatusOK, nil)
}

func (p *Portal) showAdmin(w http.ResponseWriter, r *http.Request, code int, failed map[string]*form) {
	u := visitOf(r).User
	d := adminData{Failed: failed, MayDecide: u.IsAdministrator()}
	q := r.URL.Query()
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListAffiliationRequests(ctx, &discussionv1.ListAffiliationRequestsRequest{PageSize: 50, PageToken: q.Get("pending")})
			if err != nil {
				d.Pending.Down = p.sectionError(r, err)
				return
			}
			d.Pending.Items, d.NextPending = resp.GetRequests(), resp.GetNextPageToken()
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListMembers(ctx, &discussionv1.ListMembersRequest{PageSize: 50, PageToken: q.Get("members")})
			if err != nil {
				d.Members.Down = p.sectionError(r, err)
				return
			}
			d.Members.Items, d.NextMembers = resp.GetMembers(), resp.GetNextPageToken()
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			ordered, byID, err := p.orgs.all(ctx)
			if err == nil {
				d.Orgs, d.Names = ordered, orgNames(byID)
			}
		},
	)
	p.render(w, r, code, "admin", "admin.title", d)
}

// decideAffiliation verifies or refuses a request, or revokes a verified
// affiliation (a refusal); a refusal needs a reason.
func (p *Portal) decideAffiliation(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).IsAdministrator) {
		return
	}
	l := visitOf(r).L
	f := newForm(formValues(r)).withLabels(decisionLabels)
	memberID, orgID := r.PathValue("id"), r.PathValue("org")
	verify := f.Val("action") == "verify"
	if f.Val("action") != "verify" && f.Val("action") != "refuse" {
		p.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	back := func(code int) {
		if f.Val("back") == "member" {
			p.showMember(w, r, code, map[string]*form{orgID: f})
			return
		}
		p.showAdmin(w, r, code, map[string]*form{memberID + "/" + orgID: f})
	}
	if !verify && !f.require(l, "reason") {
		back(http.StatusBadRequest)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.DecideAffiliation(ctx, &discussionv1.DecideAffiliationRequest{
		MemberId: memberID, OrganizationId: orgID, Verify: verify, Reason: f.Val("reason"),
	})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.unexpected {
			p.fail(w, r, err)
			return
		}
		back(fl.status)
		return
	}
	flash := "flash.affiliation_verified"
	if !verify {
		flash = "flash.affiliation_refused"
	}
	to := "/admin"
	if f.Val("back") == "member" {
		to = "/members/" + url.PathEscape(memberID)
	}
	p.redirect(w, r, to, flash)
}

// grantableRoles are the roles an administrator grants; editor follows a
// verified affiliation.
var grantableRoles = []discussionv1.Role{
	discussionv1.Role_ROLE_COORDINATOR, discussionv1.Role_ROLE_MODERATOR, discussionv1.Role_ROLE_ADMINISTRATOR,
}

// grantRoles gives a member the roles ticked, with an optional reason.
func (p *Portal) grantRoles(w http.ResponseWriter, r *http.Request) {
	p.changeRoles(w, r, false)
}

// revokeRoles takes the roles ticked away, with a reason; the member's
// sessions end, and the next log-in carries the roles left.
func (p *Portal) revokeRoles(w http.ResponseWriter, r *http.Request) {
	p.changeRoles(w, r, true)
}

func (p *Portal) changeRoles(w http.ResponseWriter, r *http.Request, revoke bool) {
	if !p.requireRole(w, r, (*user).IsAdministrator) {
		return
	}
	l := visitOf(r).L
	f := newForm(formValues(r)).withLabels(decisionLabels)
	key, rule, flash := "roles", "rule.roles", "flash.roles_granted"
	if revoke {
		key, rule, flash = "revoke", "rule.roles_revoke", "flash.roles_revoked"
	}
	var roles []discussionv1.Role
	for _, name := range f.Vals("roles") {
		if v, ok := discussionv1.Role_value[name]; ok && slices.Contains(grantableRoles, discussionv1.Role(v)) {
			roles = append(roles, discussionv1.Role(v))
		}
	}
	complete := true
	if len(roles) == 0 {
		f.fieldError(l, "roles", l.T(rule))
		f.Message, complete = l.T("form.fix_fields"), false
	}
	if revoke && !f.require(l, "reason") {
		complete = false
	}
	if !complete {
		p.showMember(w, r, http.StatusBadRequest, map[string]*form{key: f})
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	var err error
	if revoke {
		_, err = p.b.Discussion.RevokeRoles(ctx, &discussionv1.RevokeRolesRequest{MemberId: r.PathValue("id"), Roles: roles, Reason: f.Val("reason")})
	} else {
		_, err = p.b.Discussion.GrantRoles(ctx, &discussionv1.GrantRolesRequest{MemberId: r.PathValue("id"), Roles: roles, Reason: f.Val("reason")})
	}
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.unexpected {
			p.fail(w, r, err)
			return
		}
		p.showMember(w, r, fl.status, map[string]*form{key: f})
		return
	}
	p.redirect(w, r, "/members/"+url.PathEscape(r.PathValue("id")), flash)
}

// blockMember blocks a member, with a reason, or unblocks them.
func (p *Portal) blockMember(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).IsAdministrator) {
		return
	}
	f := newForm(formValues(r)).withLabels(decisionLabels)
	id := r.PathValue("id")
	ctx, cancel := p.call(r)
	defer cancel()
	var err error
	flash := "flash.member_blocked"
	switch f.Val("action") {
	case "block":
		if !f.require(visitOf(r).L, "reason") {
			p.showMember(w, r, http.StatusBadRequest, map[string]*form{"block": f})
			return
		}
		_, err = p.b.Discussion.BlockMember(ctx, &discussionv1.BlockMemberRequest{MemberId: id, Reason: f.Val("reason")})
	case "unblock":
		flash = "flash.member_unblocked"
		_, err = p.b.Discussion.UnblockMember(ctx, &discussionv1.UnblockMemberRequest{MemberId: id, Reason: f.Val("reason")})
	default:
		p.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.unexpected {
			p.fail(w, r, err)
			return
		}
		p.showMember(w, r, fl.status, map[string]*form{"block": f})
		return
	}
	p.redirect(w, r, "/members/"+url.PathEscape(id), flash)
}

type memberData struct {
	Member *discussionv1.Member
	Orgs   orgNames
	// Deciders are the names of who decided the affiliations, by id.
	Deciders map[string]string
	// Grantable are the roles the member does not hold yet, Revocable
	// those an administrator gave, for an administrator's forms.
	Grantable, Revocable []discussionv1.Role
	Failed               map[string]*form
	// Work is what the member published and the twinnings they work on.
	Work memberWork
}

// Form is the decision form on an organisation ("roles" for the grant,
// "revoke" for the revocation).
func (d memberData) Form(key string) *form {
	if f, ok := d.Failed[key]; ok {
		return f
	}
	return newForm(nil).withLabels(decisionLabels)
}

// Decider is who decided an affiliation.
func (d memberData) Decider(id string) string { return d.Deciders[id] }

// member is a member's page: who they are, the organisations they speak
// for, their roles; for an administrator also the e-mail, every request
// with its decision and the forms to decide; for the member, the
// administrators and the coordinators the decisions taken (who, when,
// what, why).
func (p *Portal) member(w http.ResponseWriter, r *http.Request) {
	p.showMember(w, r, http.StatusOK, nil)
}

func (p *Portal) showMember(w http.ResponseWriter, r *http.Request, code int, failed map[string]*form) {
	ctx, cancel := p.call(r)
	defer cancel()
	var m *discussionv1.Member
	var err error
	d := memberData{Failed: failed, Deciders: map[string]string{}}
	parallel(
		func() { m, err = p.b.Discussion.GetMember(ctx, &discussionv1.GetMemberRequest{Id: r.PathValue("id")}) },
		func() { d.Orgs = p.orgNames(r) },
	)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d.Member = m
	// The decisions name who took them; an affiliation decided before
	// the decisions were recorded names only an id, read once.
	for _, dec := range m.GetDecisions() {
		if dec.GetDecidedByName() != "" {
			d.Deciders[dec.GetDecidedBy()] = dec.GetDecidedByName()
		}
	}
	var unknown []string
	for _, a := range m.GetAffiliations() {
		if id := a.GetDecidedBy(); id != "" && d.Deciders[id] == "" && !slices.Contains(unknown, id) {
			unknown = append(unknown, id)
		}
	}
	var mu sync.Mutex
	var calls []func()
	for _, id := range unknown {
		calls = append(calls, func() {
			ctx, cancel := p.call(r)
			defer cancel()
			name := visitOf(r).L.T("admin.decider_unknown")
			if who, err := p.b.Discussion.GetMember(ctx, &discussionv1.GetMemberRequest{Id: id}); err == nil {
				name = who.GetDisplayName()
			}
			mu.Lock()
			d.Deciders[id] = name
			mu.Unlock()
		})
	}
	calls = append(calls, func() { d.Work = p.memberWork(r, m) })
	parallel(calls...)
	for _, role := range grantableRoles {
		if slices.Contains(m.GetRoles(), role) {
			d.Revocable = append(d.Revocable, role)
		} else {
			d.Grantable = append(d.Grantable, role)
		}
	}
	p.renderTitled(w, r, code, "member", m.GetDisplayName(), d)
}

// DecisionText is one decision about a member in words: what was
// decided, by whom, when and why.
func (l *locale) DecisionText(d *discussionv1.MemberDecision, orgs orgNames) string {
	var what string
	switch d.GetKind() {
	case discussionv1.DecisionKind_DECISION_KIND_ROLE_GRANTED:
		what = l.T("admin.decision.role_granted", l.T(enumID(d.GetRole())))
	case discussionv1.DecisionKind_DECISION_KIND_ROLE_REVOKED:
		what = l.T("admin.decision.role_revoked", l.T(enumID(d.GetRole())))
	case discussionv1.DecisionKind_DECISION_KIND_AFFILIATION_VERIFIED:
		what = l.T("admin.decision.affiliation_verified", orgs.Name(d.GetOrganizationId()))
	case discussionv1.DecisionKind_DECISION_KIND_BLOCKED:
		what = l.T("admin.decision.blocked")
	case discussionv1.DecisionKind_DECISION_KIND_UNBLOCKED:
		what = l.T("admin.decision.unblocked")
	default:
		what = l.T("admin.decision.affiliation_refused", orgs.Name(d.GetOrganizationId()))
	}
	s := l.T("admin.decision_by_platform", what, l.DateTime(d.GetDecideTime()))
	if by := d.GetDecidedByName(); by != "" {
		s = l.T("admin.decision", what, by, l.DateTime(d.GetDecideTime()))
	}
	if reason := d.GetReason(); reason != "" {
		s += " (" + l.T("admin.because", reason) + ")"
	}
	return s
}

type organizationData struct {
	Organization *catalogv1.Organization
	// Following: the member follows the organisation.
	Following bool
	Orgs      orgNames
	Practices section[[]*catalogv1.Practice]
	Twinnings section[[]*twinningv1.Twinning]
	Needs     section[[]*catalogv1.Need]
	Offers    section[[]*catalogv1.Offer]
	// People are the members who speak for it.
	People  section[[]*discussionv1.Member]
	MayEdit bool
}

// organization is an organisation's page: what it publishes, its
// twinnings, its open requests and offers.
func (p *Portal) organization(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := p.call(r)
	defer cancel()
	o, err := p.b.Catalog.GetOrganization(ctx, &catalogv1.GetOrganizationRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	u := visitOf(r).User
	d := organizationData{Organization: o, MayEdit: u.IsAdministrator() || u.EditorOf(o.GetId())}
	each := func(fn func(ctx context.Context)) func() {
		return func() {
			ctx, cancel := p.call(r)
			defer cancel()
			fn(ctx)
		}
	}
	parallel(
		func() { d.Orgs = p.orgNames(r) },
		each(func(ctx context.Context) {
			resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: 50, OwnerOrganizationId: o.GetId(), Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED})
			if err != nil {
				d.Practices.Down = p.sectionError(r, err)
				return
			}
			d.Practices.Items = resp.GetPractices()
		}),
		each(func(ctx context.Context) {
			d.Twinnings = p.publicTwinnings(ctx, r, &twinningv1.ListTwinningsRequest{OrganizationId: o.GetId()}, 50)
		}),
		func() { d.People = p.organizationPeople(r, o.GetId()) },
		each(func(ctx context.Context) {
			resp, err := p.b.Catalog.ListNeeds(ctx, &catalogv1.ListNeedsRequest{PageSize: 50, OrganizationId: o.GetId(), Status: catalogv1.NeedStatus_NEED_STATUS_OPEN})
			if err != nil {
				d.Needs.Down = p.sectionError(r, err)
				return
			}
			d.Needs.Items = resp.GetNeeds()
		}),
		each(func(ctx context.Context) {
			resp, err := p.b.Catalog.ListOffers(ctx, &catalogv1.ListOffersRequest{PageSize: 50, OrganizationId: o.GetId(), Status: catalogv1.OfferStatus_OFFER_STATUS_OPEN})
			if err != nil {
				d.Offers.Down = p.sectionError(r, err)
				return
			}
			d.Offers.Items = resp.GetOffers()
		}),
	)
	d.Following = p.following(r, "organization", o.GetId())
	p.renderTitled(w, r, http.StatusOK, "organization", o.GetName(), d)
}

type organizationFormData struct {
	Form         *form
	Organization *catalogv1.Organization
	Orgs         []*catalogv1.Organization
	Networks     []*catalogv1.Organization
	Kinds        []catalogv1.OrganizationKind
	Territories  []territory
}

func (p *Portal) newOrganizationForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanAdminister) {
		return
	}
	p.showOrganizationForm(w, r, http.StatusOK, newForm(url.Values{"request_id": {newRequestID()}}).withLabels(organizationLabels), nil)
}

func (p *Portal) showOrganizationForm(w http.ResponseWriter, r *http.Request, code int, f *form, o *catalogv1.Organization) {
	d := organizationFormData{Form: f, Organization: o}
	for k := catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION; k <= catalogv1.OrganizationKind_ORGANIZATION_KIND_NETWORK; k++ {
		d.Kinds = append(d.Kinds, k)
	}
	orgs := p.organizations(r)
	for _, x := range orgs {
		if o != nil && x.GetId() == o.GetId() {
			continue
		}
		d.Orgs = append(d.Orgs, x)
		if x.GetKind() == catalogv1.OrganizationKind_ORGANIZATION_KIND_NETWORK {
			d.Networks = append(d.Networks, x)
		}
	}
	d.Territories = territories(orgs)
	title := visitOf(r).L.T("org.new")
	if o != nil {
		title = o.GetName()
	}
	p.renderTitled(w, r, code, "organization-form", title, d)
}

// createOrganization registers an organisation.
func (p *Portal) createOrganization(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanAdminister) {
		return
	}
	f := newForm(formValues(r)).withLabels(organizationLabels)
	if !f.require(visitOf(r).L, "name", "kind") {
		p.showOrganizationForm(w, r, http.StatusBadRequest, f, nil)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	o, err := p.b.Catalog.CreateOrganization(ctx, &catalogv1.CreateOrganizationRequest{Organization: p.organizationFromForm(r, f), RequestId: f.Val("request_id")})
	if err != nil {
		p.organizationFailed(w, r, f, nil, err)
		return
	}
	p.orgs.forget()
	p.redirect(w, r, "/organizations/"+url.PathEscape(o.GetId()), "flash.organization_saved")
}

func (p *Portal) editOrganizationForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	o, err := p.b.Catalog.GetOrganization(ctx, &catalogv1.GetOrganizationRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if u := visitOf(r).User; !u.IsAdministrator() && !u.EditorOf(o.GetId()) {
		p.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	p.showOrganizationForm(w, r, http.StatusOK, newForm(organizationToForm(o)).withLabels(organizationLabels), o)
}

// organizationPaths are the fields the organisation form edits.
var organizationPaths = []string{"name", "kind", "territory", "parent_id", "network_ids", "website", "description"}

// saveOrganization changes an organisation.
func (p *Portal) saveOrganization(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(organizationLabels)
	ctx, cancel := p.call(r)
	defer cancel()
	current, err := p.b.Catalog.GetOrganization(ctx, &catalogv1.GetOrganizationRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !f.require(visitOf(r).L, "name", "kind") {
		p.showOrganizationForm(w, r, http.StatusBadRequest, f, current)
		return
	}
	changed := p.organizationFromForm(r, f)
	changed.Id, changed.Etag = current.GetId(), f.Val("etag")
	_, err = p.b.Catalog.UpdateOrganization(ctx, &catalogv1.UpdateOrganizationRequest{Organization: changed, UpdateMask: &fieldmaskpb.FieldMask{Paths: organizationPaths}})
	if err != nil {
		p.organizationFailed(w, r, f, current, err)
		return
	}
	p.orgs.forget()
	p.redirect(w, r, "/organizations/"+url.PathEscape(current.GetId()), "flash.organization_saved")
}

func (p *Portal) organizationFailed(w http.ResponseWriter, r *http.Request, f *form, o *catalogv1.Organization, err error) {
	fl := p.explain(r, f, err)
	f.rename("territory.name", "territory.code")
	f.rename("territory", "territory.code")
	if fl.mustLogIn || fl.unexpected {
		p.fail(w, r, err)
		return
	}
	p.showOrganizationForm(w, r, fl.status, f, o)
}

func (p *Portal) organizationFromForm(r *http.Request, f *form) *catalogv1.Organization {
	o := &catalogv1.Organization{
		Name: f.Val("name"), Kind: catalogv1.OrganizationKind(catalogv1.OrganizationKind_value[f.Val("kind")]),
		ParentId: f.Val("parent_id"), NetworkIds: nonBlank(f.Vals("network_ids")),
		Website: f.Val("website"), Description: f.Val("description"),
	}
	if code := f.Val("territory.code"); code != "" {
		name := f.Val("territory.name")
		if name == "" {
			name = p.orgNames(r).Territory(code)
		}
		o.Territory = &catalogv1.Territory{Code: code, Name: name}
	}
	return o
}

func organizationToForm(o *catalogv1.Organization) url.Values {
	return url.Values{
		"etag": {o.GetEtag()}, "name": {o.GetName()}, "kind": {o.GetKind().String()},
		"territory.code": {o.GetTerritory().GetCode()}, "territory.name": {o.GetTerritory().GetName()},
		"parent_id": {o.GetParentId()}, "network_ids": o.GetNetworkIds(),
		"website": {o.GetWebsite()}, "description": {o.GetDescription()},
	}
}

// roleNames are a member's roles in words, without "member" (everyone is).
func roleNames(l *locale, roles []discussionv1.Role) string {
	var out []string
	for _, r := range roles {
		if r != discussionv1.Role_ROLE_MEMBER {
			out = append(out, l.T(enumID(r)))
		}
	}
	return strings.Join(out, ", ")
}
