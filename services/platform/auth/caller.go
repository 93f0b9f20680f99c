package auth

import (
	"context"
	"slices"
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

// Caller is who makes a request: a member named by a verified token, or
// Anonymous. Roles are not ranked: an administrator is not a moderator unless
// granted both.
type Caller struct {
	MemberID    string
	DisplayName string
	Roles       []string
	// Organizations are the ids of the organisations the member's
	// affiliation is verified for.
	Organizations []string
}

// Anonymous is the caller without a token: it may read public content only.
var Anonymous = Caller{}

// AnonymousActor is how an anonymous caller is recorded in events and logs.
const AnonymousActor = "anonymous"

// IsAnonymous reports a caller without a token.
func (c Caller) IsAnonymous() bool { return c.MemberID == "" }

// HasRole reports whether the caller holds role.
func (c Caller) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// IsEditorOf reports whether the caller may edit the content of the
// organisation: an editor whose affiliation to it is verified.
func (c Caller) IsEditorOf(orgID string) bool {
	return orgID != "" && c.HasRole(RoleEditor) && slices.Contains(c.Organizations, orgID)
}

// Actor is the caller as recorded in events and histories: the member id,
// or "anonymous".
func (c Caller) Actor() string {
	if c.IsAnonymous() {
		return AnonymousActor
	}
	return c.MemberID
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
