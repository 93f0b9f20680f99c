package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
)

// GrantRoles gives roles to the member with an e-mail address. It is not
// exposed over the API yet: the dev launcher's demo data and the tests
// call it in-process, until administrators get their screen.
type GrantRoles struct {
	Email string
	Roles []string
}

// GrantRolesHandler handles GrantRoles.
type GrantRolesHandler struct{ d Deps }

// Handle adds the roles; the member's next session token carries them.
func (h GrantRolesHandler) Handle(ctx context.Context, cmd GrantRoles) (*member.Member, error) {
	var roles []member.Role
	var v apperr.Violations
	for _, name := range cmd.Roles {
		r, ok := member.ParseRole(name)
		if !ok {
			v.Addf("roles", "%q is not a role: one of coordinator, moderator, administrator", name)
			continue
		}
		roles = append(roles, r)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	m, err := h.d.Members.GetByEmail(ctx, member.NormalizeEmail(cmd.Email))
	if err != nil {
		return nil, err
	}
	m, err = h.d.Members.Update(ctx, m.ID, func(m *member.Member) error { return m.Grant(roles...) })
	if err != nil {
		return nil, err
	}
	return m.Private(), nil
}
