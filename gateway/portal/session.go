package portal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// SessionCookie is the cookie holding the member's session token, the
// token string of discussionv1.Session. The REST API's POST /v1/sessions
// sets the same cookie, so a browser logged in either way is logged in both.
const SessionCookie = "gemella_session"

// Role names as the session token carries them (services/platform/auth).
const (
	roleEditor        = "editor"
	roleCoordinator   = "coordinator"
	roleModerator     = "moderator"
	roleAdministrator = "administrator"
)

// user is the member a session token names, as the portal needs it to
// choose what to show. The portal reads the token's claims without
// checking the signature: it decides only which links and forms to offer.
// Every backend verifies the token and decides what the member may do, so
// a forged token shows its bearer forms that the services then refuse.
type user struct {
	ID            string
	Name          string
	Roles         []string
	Organizations []string
	Expires       time.Time
}

// Has reports a role.
func (u *user) Has(role string) bool { return u != nil && slices.Contains(u.Roles, role) }

// What the member may do, as the services' policies decide it (their
// policy.go files): the portal offers only these forms and buttons, and
// the services still decide every call.

// EditorOf reports a verified editor of the organisation.
func (u *user) EditorOf(orgID string) bool {
	return orgID != "" && u.Has(roleEditor) && slices.Contains(u.Organizations, orgID)
}

// EditsAny reports an editor of one of the organisations.
func (u *user) EditsAny(orgIDs []string) bool { return slices.ContainsFunc(orgIDs, u.EditorOf) }

// IsEditor reports an editor of at least one organisation.
func (u *user) IsEditor() bool { return u.Has(roleEditor) && len(u.Organizations) > 0 }

// IsCoordinator reports a coordinator: validates practices, approves
// twinnings, registers organisations.
func (u *user) IsCoordinator() bool { return u.Has(roleCoordinator) }

// IsAdministrator reports an administrator: verifies affiliations, grants
// roles, registers and edits organisations.
func (u *user) IsAdministrator() bool { return u.Has(roleAdministrator) }

// CanEdit reports whether the member has a desk of practices and
// twinnings: an editor of an organisation or a coordinator.
func (u *user) CanEdit() bool { return u.IsEditor() || u.IsCoordinator() }

// CanCoordinate reports whether the member may validate practices and
// approve twinnings.
func (u *user) CanCoordinate() bool { return u.IsCoordinator() }

// CanModerate reports whether the member may hide posts and decide
// stories: the moderator role (an administrator is not a moderator).
func (u *user) CanModerate() bool { return u.Has(roleModerator) }

// CanAdminister reports whether the member has an /admin page: an
// administrator, or a coordinator (who registers organisations).
func (u *user) CanAdminister() bool { return u.IsAdministrator() || u.IsCoordinator() }

var (
	errMalformedToken = errors.New("malformed session token")
	errExpiredToken   = errors.New("expired session token")
)

// tokenClaims are the JWT claims the portal reads.
type tokenClaims struct {
	Subject string   `json:"sub"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	Orgs    []string `json:"orgs"`
	Expires int64    `json:"exp"`
}

// readToken reads the member out of a session token (a JWT) and checks
// that it has not expired; an expired token's member comes with
// errExpiredToken.
func readToken(token string, now time.Time) (*user, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 8192 {
		return nil, errMalformedToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errMalformedToken
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Subject == "" {
		return nil, errMalformedToken
	}
	u := &user{ID: c.Subject, Name: c.Name, Roles: c.Roles, Organizations: c.Orgs, Expires: time.Unix(c.Expires, 0)}
	if c.Expires == 0 || !now.Before(u.Expires) {
		return u, errExpiredToken
	}
	return u, nil
}

// refreshWindow is how long before its expiry a session token is
// exchanged for a new one, on the next page the member opens: tokens live
// minutes, and an active member should not be logged out.
const refreshWindow = 5 * time.Minute

// refresh exchanges the visit's token for a fresh one when it is close to
// expiry, and keeps the new one in the cookie. A refused refresh (session
// logged out, or older than the maximum age) ends the visit's session; a
// service that does not answer leaves the current token in place.
func (p *Portal) refresh(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.User == nil || v.User.Expires.Sub(p.now()) > refreshWindow {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	s, err := p.b.Discussion.RefreshSession(withToken(ctx, v.token), &discussionv1.RefreshSessionRequest{})
	if err != nil {
		if c := status.Code(err); c == codes.Unauthenticated || c == codes.FailedPrecondition {
			p.clearSessionCookie(w, r)
			v.User, v.token, v.expired = nil, "", true
		}
		return
	}
	u, err := readToken(s.GetToken(), p.now())
	if err != nil {
		return
	}
	v.User, v.token = u, s.GetToken()
	p.setSessionCookie(w, r, s.GetToken(), s.GetExpireTime().AsTime())
}

// withToken sends the member's token on the outgoing gRPC call, as the
// services expect it: "authorization: Bearer <token>".
func withToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// setSessionCookie stores the token until it expires.
func (p *Portal) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     p.cfg.SessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   p.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// clearSessionCookie logs the browser out.
func (p *Portal) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     p.cfg.SessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   p.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// secure says whether cookies get the Secure attribute: when the request
// came over TLS (directly, or through a trusted proxy that says so), or
// always when the deployment says TLS ends in front of the gateway.
func (p *Portal) secure(r *http.Request) bool {
	return r.TLS != nil || p.cfg.SecureCookies ||
		p.cfg.TrustForwardedProto && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
