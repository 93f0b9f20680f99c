package portal

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/validate"
)

type accountData struct {
	Form *form
	// Organizations are offered in the organisation choice.
	Organizations []*catalogv1.Organization
}

func (p *Portal) organizations(r *http.Request) []*catalogv1.Organization {
	ctx, cancel := p.call(r)
	defer cancel()
	ordered, _, err := p.orgs.all(ctx)
	if err != nil {
		p.logBackend(r, err)
	}
	return ordered
}

func (p *Portal) registerForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "register", "register.title", accountData{Form: newForm(nil), Organizations: p.organizations(r)})
}

// register signs a member up, then asks them to log in.
func (p *Portal) register(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r)).withLabels(memberLabels)
	orgs := p.organizations(r)
	l := visitOf(r).L
	if f.Val("privacy_consent") == "" {
		// Nothing personal goes to the community service before the
		// consent: the portal checks what it can with the rules it shares
		// with that service (platform/validate), so that every problem
		// shows at once, then asks for the consent.
		var v apperr.Violations
		if strings.TrimSpace(f.Val("display_name")) == "" {
			v.Add("display_name", "is required")
		}
		validate.MemberEmail(&v, "email", strings.ToLower(strings.TrimSpace(f.Val("email"))))
		validate.Password(&v, "password", r.PostFormValue("password"))
		if err := v.Err(); err != nil {
			p.explain(r, f, grpcx.ToStatus(err))
		}
		f.fieldError(l, "privacy_consent", l.T("register.privacy_required"))
		f.Message = l.T("form.fix_fields")
		f.Values.Del("password")
		p.render(w, r, http.StatusBadRequest, "register", "register.title", accountData{Form: f, Organizations: orgs})
		return
	}
	// With the consent, the community service checks every field at once.
	m := &discussionv1.Member{
		DisplayName:      f.Val("display_name"),
		Email:            f.Val("email"),
		OrganizationId:   f.Val("organization_id"),
		OrganizationName: f.Val("organization_name"),
		RoleTitle:        f.Val("role_title"),
	}
	if m.OrganizationName == "" && m.OrganizationId != "" {
		for _, o := range orgs {
			if o.GetId() == m.OrganizationId {
				m.OrganizationName = o.GetName()
			}
		}
	}
	ctx, cancel := p.call(r)
	defer cancel()
	// r.PostFormValue, not f: a password is taken exactly as typed.
	// The consent is recorded by the community service, with its time
	// (privacy_consent_time).
	created, err := p.b.Discussion.RegisterMember(ctx, &discussionv1.RegisterMemberRequest{
		Member: m, Password: r.PostFormValue("password"), PrivacyConsent: f.Val("privacy_consent") != "",
	})
	if err != nil {
		fl := p.explain(r, f, err)
		f.Values.Del("password")
		p.render(w, r, fl.status, "register", "register.title", accountData{Form: f, Organizations: orgs})
		return
	}
	// The version of the notice accepted is the portal's: logged with
	// the member and the time.
	p.logger.InfoContext(r.Context(), "portal: privacy notice accepted at sign-up",
		slog.String("member_id", created.GetId()), slog.String("privacy_version", p.cfg.PrivacyVersion),
		slog.Time("accepted_at", p.now()), slog.String("request_id", visitOf(r).requestID))
	p.redirect(w, r, "/login", "flash.registered")
}

func (p *Portal) loginForm(w http.ResponseWriter, r *http.Request) {
	f := newForm(url.Values{"next": {localPath(r.URL.Query().Get("next"), "/")}})
	p.render(w, r, http.StatusOK, "login", "login.title", accountData{Form: f})
}

// login asks the discussion service for a session and keeps its token in
// the session cookie. The CSRF id is renewed with the session.
func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r)).withLabels(memberLabels)
	if !f.require(visitOf(r).L, "email") {
		p.render(w, r, http.StatusBadRequest, "login", "login.title", accountData{Form: f})
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	s, err := p.b.Discussion.CreateSession(ctx, &discussionv1.CreateSessionRequest{Email: f.Val("email"), Password: r.PostFormValue("password")})
	if err != nil {
		var code int
		switch status.Code(err) {
		case codes.Unauthenticated:
			f.Message, code = visitOf(r).L.T("login.wrong"), http.StatusUnauthorized
		default:
			code = p.explain(r, f, err).status
		}
		f.Values.Del("password")
		p.render(w, r, code, "login", "login.title", accountData{Form: f})
		return
	}
	expires := s.GetExpireTime().AsTime()
	p.setSessionCookie(w, r, s.GetToken(), expires)
	p.setUnverified(w, r, !s.GetMember().GetEmailVerified())
	p.setBrowserID(w, r, newBrowserID())
	p.redirect(w, r, localPath(f.Val("next"), "/"), "flash.logged_in")
}

// logout ends the session at the discussion service, so that it can no
// longer be refreshed, and forgets it. The cookie goes whatever the
// service answers: its token expires on its own within minutes.
func (p *Portal) logout(w http.ResponseWriter, r *http.Request) {
	if v := visitOf(r); v.token != "" {
		ctx, cancel := p.call(r)
		if _, err := p.b.Discussion.DeleteSession(ctx, &discussionv1.DeleteSessionRequest{}); err != nil && status.Code(err) != codes.Unauthenticated {
			p.logBackend(r, err)
		}
		cancel()
	}
	p.clearSessionCookie(w, r)
	p.setUnverified(w, r, false)
	p.setBrowserID(w, r, newBrowserID())
	p.redirect(w, r, "/", "flash.logged_out")
}

type profileData struct {
	Member        *discussionv1.Member
	Form          *form
	Affiliation   *form
	Organizations []*catalogv1.Organization
	Orgs          orgNames
}

func (p *Portal) profile(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	p.showProfile(w, r, http.StatusOK, nil, newForm(nil))
}

// showProfile draws the profile page; a nil profile form is filled from
// the member.
func (p *Portal) showProfile(w http.ResponseWriter, r *http.Request, code int, f, aff *form) {
	ctx, cancel := p.call(r)
	defer cancel()
	var m *discussionv1.Member
	var err error
	d := profileData{Affiliation: aff}
	parallel(
		func() { m, err = p.b.Discussion.GetMyProfile(ctx, &discussionv1.GetMyProfileRequest{}) },
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			ordered, byID, err := p.orgs.all(ctx)
			if err == nil {
				d.Organizations, d.Orgs = ordered, orgNames(byID)
			}
		},
	)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if f == nil {
		f = newForm(url.Values{
			"display_name":      {m.GetDisplayName()},
			"organization_name": {m.GetOrganizationName()},
			"role_title":        {m.GetRoleTitle()},
		}).withLabels(memberLabels)
	}
	d.Member, d.Form = m, f
	p.render(w, r, code, "profile", "profile.title", d)
}

// updateProfile changes the name, organisation and role shown to others.
func (p *Portal) updateProfile(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(memberLabels)
	if !f.require(visitOf(r).L, "display_name") {
		p.showProfile(w, r, http.StatusBadRequest, f, newForm(nil))
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.UpdateMyProfile(ctx, &discussionv1.UpdateMyProfileRequest{
		Member: &discussionv1.Member{
			DisplayName: f.Val("display_name"), OrganizationName: f.Val("organization_name"), RoleTitle: f.Val("role_title"),
		},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "organization_name", "role_title"}},
	})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn {
			p.fail(w, r, err)
			return
		}
		p.showProfile(w, r, fl.status, f, newForm(nil))
		return
	}
	p.redirect(w, r, "/profile", "flash.profile_saved")
}

// requestAffiliation asks an administrator to verify that the member
// speaks for an organisation; once verified the member edits its content.
func (p *Portal) requestAffiliation(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	aff := newForm(formValues(r)).withLabels(affiliationLabels)
	if !aff.require(visitOf(r).L, "organization_id") {
		p.showProfile(w, r, http.StatusBadRequest, nil, aff)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.RequestAffiliation(ctx, &discussionv1.RequestAffiliationRequest{
		MemberId: visitOf(r).User.ID, OrganizationId: aff.Val("organization_id"),
	})
	if err != nil {
		fl := p.explain(r, aff, err)
		if fl.mustLogIn {
			p.fail(w, r, err)
			return
		}
		p.showProfile(w, r, fl.status, nil, aff)
		return
	}
	p.redirect(w, r, "/profile", "flash.affiliation_requested")
}
