package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// Browsers log in through the same POST /v1/sessions as API clients. The
// answer carries the token in its body (for "Authorization: Bearer") and,
// for browsers, in an HttpOnly cookie that page scripts cannot read. On
// later requests the cookie stands in for the header when there is none.
//
// SameSite=Lax keeps the cookie off cross-site POST, PATCH and DELETE
// requests, so another site cannot write in a member's name; cross-site
// GETs (links) carry it, and GETs only read. The gateway does not check the
// token: the services do, and answer 401 to a bad or expired one.

type sessionContextKey struct{}

// sessionRequest is what the forward-response hook needs to know about the
// request whose answer it sees.
type sessionRequest struct {
	secure bool
}

// sessionCookies puts the session cookie into the Authorization header when
// the request has no such header, and notes whether the request came over
// TLS (directly, or through a trusted proxy that says so) for the cookie's
// Secure attribute.
func (s *Server) sessionCookies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure := r.TLS != nil || (s.cfg.TrustProxyHeaders && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
		r = r.WithContext(context.WithValue(r.Context(), sessionContextKey{}, sessionRequest{secure: secure}))
		if r.Header.Get("Authorization") == "" {
			if c, err := r.Cookie(credentialCookie); err == nil && c.Value != "" {
				r.Header = r.Header.Clone()
				r.Header.Set("Authorization", "Bearer "+c.Value)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// setSessionCookie is a grpc-gateway forward-response option: when the
// answer is a new session, the cookie is set to its token until it expires.
func setSessionCookie(ctx context.Context, w http.ResponseWriter, m proto.Message) error {
	session, ok := m.(*discussionv1.Session)
	if !ok || session.GetToken() == "" {
		return nil
	}
	req, _ := ctx.Value(sessionContextKey{}).(sessionRequest)
	cookie := &http.Cookie{
		Name:     credentialCookie,
		Value:    session.GetToken(),
		Path:     "/",
		HttpOnly: true,
		Secure:   req.secure,
		SameSite: http.SameSiteLaxMode,
	}
	if exp := session.GetExpireTime(); exp != nil {
		cookie.Expires = exp.AsTime()
		cookie.MaxAge = max(int(time.Until(cookie.Expires).Seconds()), 1)
	}
	http.SetCookie(w, cookie)
	return nil
}
