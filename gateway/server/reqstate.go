package server

import (
	"context"
	"net/http"
)

// requestState is what the middlewares note about a request for the code
// after them: one value in the context, filled in place, instead of a
// context value (and a copy of the request) per middleware. The first
// middleware that needs it adds it (withState); later ones find it.
type requestState struct {
	// id is the request id (withRequestID).
	id string
	// route names the request in the metrics and spans (instrument,
	// recordRoute); nil until instrument counts the request.
	route *routeLabel
	// pattern is the path template grpc-gateway matched, as its
	// Pattern.String writes it (recordRoute), "" before that.
	pattern string
	// body is the request body under its size limit (limitBody).
	body *limitedBody
	// session is what setSessionCookie needs (sessionCookies).
	session    sessionRequest
	hasSession bool
}

type requestStateKey struct{}

// stateFrom is the request's state, nil when no middleware added one.
func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	return st
}

// withState returns r with a state, adding one when it has none yet.
func withState(r *http.Request) (*http.Request, *requestState) {
	if st := stateFrom(r.Context()); st != nil {
		return r, st
	}
	st := &requestState{}
	return r.WithContext(context.WithValue(r.Context(), requestStateKey{}, st)), st
}
