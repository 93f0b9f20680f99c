package auth

import (
	"context"
	"slices"
	"time"
)

// Role names carried in tokens. Every member has RoleMember; the others are
// granted by an administrator, except RoleEditor, which a member holds while
// at least one affiliation is verified.
const (
	RoleMember        = "member"
	RoleEditor        = "editor"
	RoleCoordinator   = "coordinator"
	RoleModerator     = "moderator"
	RoleAdministrator = "administrator"
)

// Roles lists every role name.
var Roles = []string{RoleMember, RoleEditor, RoleCoordinator, RoleModerator, RoleAdministrator}

// Caller is who makes a request: a member named by a verified token, a
// service acting on its own (System), or Anonymous. Roles are not ranked: an
// administrator is not a moderator unless granted both.
type Caller struct {
	MemberID    string
	DisplayName string
	Roles       []string
	// Organizations are the ids of the organisations the member's
	// affiliation is verified for.
	Organizations []string
	// SessionID names the log-in session the token belongs to (its "sid"
	// claim), kept across refreshes; empty for tokens minted outside a
	// log-in (tests, the dev launcher).
	SessionID string
	// SessionStartedAt is when the member logged in with a password (the
	// "auth_time" claim): refreshes do not move it, so a session has a
	// maximum age.
	SessionStartedAt time.Time
	// Service is set on a System caller only: the service acting on its own
	// (a consumer reacting to an event, a bootstrap step). No token can
	// name one: it exists only inside a process.
	Service string
}

// Anonymous is the caller without a token: it may read public content only.
var Anonymous = Caller{}

// AnonymousActor is how an anonymous caller is recorded in events and logs.
const AnonymousActor = "anonymous"

// SystemActorPrefix starts the actor of a System caller: "system:<service>".
const SystemActorPrefix = "system:"

// System is the caller a service acts as when nobody asked it to: a
// consumer applying another service's event, say. It holds no role, so a
// policy allows it only the internal commands that name it explicitly (see
// IsService); it is recorded as "system:<service>".
func System(service string) Caller { return Caller{Service: service} }

// IsAnonymous reports a caller without a token (and not a service).
func (c Caller) IsAnonymous() bool { return c.MemberID == "" && c.Service == "" }

// IsMember reports a caller a verified token names.
func (c Caller) IsMember() bool { return c.MemberID != "" }

// IsService reports the System caller of the named service.
func (c Caller) IsService(service string) bool {
	return c.MemberID == "" && service != "" && c.Service == service
}

// HasRole reports whether the caller holds role.
func (c Caller) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// IsEditorOf reports whether the caller may edit the content of the
// organisation: an editor whose affiliation to it is verified.
func (c Caller) IsEditorOf(orgID string) bool {
	return orgID != "" && c.HasRole(RoleEditor) && slices.Contains(c.Organizations, orgID)
}

// Actor is the caller as recorded in events and histories: the member id,
// "system:<service>" or "anonymous".
func (c Caller) Actor() string {
	switch {
	case c.MemberID != "":
		return c.MemberID
	case c.Service != "":
		return SystemActorPrefix + c.Service
	}
	return AnonymousActor
}

type callerKey struct{}

// WithCaller returns a context that carries c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller the interceptor put in ctx, or Anonymous.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}
