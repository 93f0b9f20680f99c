package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// GrantRoles gives roles to a member, named by id (the API) or by e-mail
// address (the in-process Service.GrantRoles, which makes the first
// administrator).
type GrantRoles struct {
	Caller   auth.Caller
	MemberID string
	Email    string
	Roles    []string
	// Reason is optional; the decision log records it.
	Reason string
}

// GrantRolesHandler handles GrantRoles.
type GrantRolesHandler struct{ d Deps }

// Handle adds the roles; the member's next session token (or refresh)
// carries them.
func (h GrantRolesHandler) Handle(ctx context.Context, cmd GrantRoles) (*member.Member, error) {
	if err := mayGrantRoles(cmd.Caller); err != nil {
		return nil, err
	}
	if (cmd.MemberID == "") == (cmd.Email == "") {
		return nil, apperr.Invalid("member_id", "name the member by id")
	}
	if len(cmd.Roles) == 0 {
		return nil, apperr.Invalid("roles", "name at least one role to grant")
	}
	roles, err := parseRoles(cmd.Roles)
	if err != nil {
		return nil, err
	}
	id := cmd.MemberID
	if id == "" {
		m, err := h.d.Members.GetByEmail(ctx, member.NormalizeEmail(cmd.Email))
		if err != nil {
			return nil, err
		}
		id = m.ID
	}
	now := h.d.Now()
	m, err := h.d.Members.Update(ctx, id, func(m *member.Member) error { return m.Grant(actor(cmd.Caller), now, cmd.Reason, roles...) })
	if err != nil {
		return nil, err
	}
	return m.Private(), nil
}

// parseRoles reads the roles of a grant or a revocation.
func parseRoles(names []string) ([]member.Role, error) {
	var roles []member.Role
	var v apperr.Violations
	for _, name := range names {
		r, ok := member.ParseRole(name)
		if !ok {
			v.Addf("roles", "%q is not a role: one of coordinator, moderator, administrator", name)
			continue
		}
		roles = append(roles, r)
	}
	return roles, v.Err()
}

// actor is the caller as the decision log records them.
func actor(c auth.Caller) member.Actor { return member.Actor{ID: c.Actor(), Name: c.DisplayName} }
