package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/platform/apperr"
)

// Browsers log in through the same POST /v1/sessions as API clients. The
// answer carries the token in its body (for "Authorization: Bearer") and,
// for browsers, in an HttpOnly cookie that page scripts cannot read. On
// later requests the cookie stands in for the header when there is none.
// POST /v1/sessions:refresh replaces the cookie with a fresh token, and
// DELETE /v1/sessions/current (log-out) removes it.
//
// SameSite=Lax keeps the cookie off cross-site POST, PATCH and DELETE
// requests, so another site cannot write in a member's name; cross-site
// GETs (links) carry it, and GETs only read. On top of that, a write to
// /v1/ that the cookie authenticates (no Authorization header) must repeat
// the value of the gemella_csrf cookie in an X-CSRF-Token header (the
// "double submit" pattern): a page of another origin can neither read that
// cookie nor set the header on a form post, so browsers without SameSite,
// and sibling subdomains that can plant cookies, are covered too. Bearer
// calls are exempt (a browser never adds that header by itself), and so are
// log-in and sign-up, which act as nobody; the portal's own forms under "/"
// carry their own CSRF tokens and are not checked here. The gateway does not
// check the token itself: the services do, and answer 401 to a bad or
// expired one.

const (
	// csrfCookie holds the double-submit value; page scripts read it, so
	// it is not HttpOnly. It is set with the session cookie and lives as
	// long.
	csrfCookie = "gemella_csrf"
	// csrfHeader must repeat csrfCookie on cookie-authenticated writes.
	csrfHeader = "X-CSRF-Token"
	// deleteSessionMethod is the log-out RPC, whose answer drops the cookies.
	deleteSessionMethod = "/gemella.discussion.v1.DiscussionService/DeleteSession"
)

// anonymousEndpoints act as nobody: the session cookie is not sent on with
// them, so an old or expired cookie can never stand in the way of logging
// in again, and they need no CSRF header.
var anonymousEndpoints = map[string]bool{
	http.MethodPost + " /v1/sessions": true,
	http.MethodPost + " /v1/members":  true,
	// The e-mails' one-click unsubscribe acts by its signed token.
	http.MethodPost + " " + unsubscribePath: true,
}

// sessionRequest is what the forward-response hook needs to know about the
// request whose answer it sees.
type sessionRequest struct {
	secure bool
	// csrf is the request's CSRF cookie, kept when a session is refreshed.
	csrf string
}

// sessionCookies puts the session cookie into the Authorization header when
// the request has no such header, refuses cookie-authenticated API writes
// without the CSRF header, and notes whether the request came over TLS
// (directly, or through a trusted proxy that says so) for the cookies'
// Secure attribute.
func (s *Server) sessionCookies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure := r.TLS != nil || (s.cfg.TrustProxyHeaders && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
		req := sessionRequest{secure: secure}
		if c, err := r.Cookie(csrfCookie); err == nil {
			req.csrf = c.Value
		}
		r, st := withState(r)
		st.session, st.hasSession = req, true
		api := strings.HasPrefix(r.URL.Path, "/v1/")
		if r.Header.Get("Authorization") == "" && !(api && anonymousEndpoints[r.Method+" "+r.URL.Path]) {
			if c, err := r.Cookie(credentialCookie); err == nil && c.Value != "" {
				if api && isWrite(r.Method) && !validCSRF(req.csrf, r.Header.Get(csrfHeader)) {
					s.writeError(w, r, http.StatusForbidden, codes.PermissionDenied, apperr.ReasonCSRFTokenMissing,
						"a write authenticated by the session cookie must send the value of the "+csrfCookie+" cookie in the "+csrfHeader+" header")
					return
				}
				r.Header = r.Header.Clone()
				r.Header.Set("Authorization", "Bearer "+c.Value)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isWrite reports the methods that may change something.
func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// validCSRF compares the header with the cookie in constant time.
func validCSRF(cookie, header string) bool {
	return cookie != "" && subtle.ConstantTimeCompare([]byte(cookie), []byte(header)) == 1
}

// setSessionCookie is a grpc-gateway forward-response option: when the
// answer is a new or refreshed session, the cookies are set to its token
// (and a CSRF value) until it expires; when it is a log-out, they are
// removed.
func setSessionCookie(ctx context.Context, w http.ResponseWriter, m proto.Message) error {
	req := sessionFrom(ctx)
	if method, ok := runtime.RPCMethod(ctx); ok && method == deleteSessionMethod {
		clearSessionCookies(w, req)
		return nil
	}
	session, ok := m.(*discussionv1.Session)
	if !ok || session.GetToken() == "" {
		return nil
	}
	cookie := &http.Cookie{
		Name:     credentialCookie,
		Value:    session.GetToken(),
		Path:     "/",
		HttpOnly: true,
		Secure:   req.secure,
		SameSite: http.SameSiteLaxMode,
	}
	csrf := &http.Cookie{Name: csrfCookie, Value: req.csrf, Path: "/", Secure: req.secure, SameSite: http.SameSiteLaxMode}
	if !saneCSRF(csrf.Value) {
		csrf.Value = rand.Text()
	}
	if exp := session.GetExpireTime(); exp != nil {
		cookie.Expires = exp.AsTime()
		cookie.MaxAge = max(int(time.Until(cookie.Expires).Seconds()), 1)
		csrf.Expires, csrf.MaxAge = cookie.Expires, cookie.MaxAge
	}
	http.SetCookie(w, cookie)
	http.SetCookie(w, csrf)
	return nil
}

// saneCSRF accepts a value rand.Text could have made, so that a cookie a
// client made up is not kept.
func saneCSRF(v string) bool {
	if len(v) < 26 || len(v) > 64 {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// clearSessionCookies tells the browser to drop both cookies.
func clearSessionCookies(w http.ResponseWriter, req sessionRequest) {
	for _, name := range []string{credentialCookie, csrfCookie} {
		http.SetCookie(w, &http.Cookie{
			Name: name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
			HttpOnly: name == credentialCookie, Secure: req.secure, SameSite: http.SameSiteLaxMode,
		})
	}
}

// sessionFrom is what sessionCookies noted about the request, zero when it
// did not run.
func sessionFrom(ctx context.Context) sessionRequest {
	if st := stateFrom(ctx); st != nil && st.hasSession {
		return st.session
	}
	return sessionRequest{}
}
