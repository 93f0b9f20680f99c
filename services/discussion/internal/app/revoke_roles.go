package app

import (
	"context"
	"slices"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// RevokeRoles takes roles away from a member, with a reason.
type RevokeRoles struct {
	Caller   auth.Caller
	MemberID string
	Roles    []string
	Reason   string
}

// RevokeRolesHandler handles RevokeRoles.
type RevokeRolesHandler struct{ d Deps }

// Handle needs the administrator role. It records the revocation in the
// member's decisions and ends the member's sessions, so that no token
// still carries the roles; it ends them also when no role changed, so
// that a call answered Unavailable (sessions not all ended) is finished
// by calling again.
func (h RevokeRolesHandler) Handle(ctx context.Context, cmd RevokeRoles) (*member.Member, error) {
	if err := mayRevokeRoles(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.MemberID == "" {
		return nil, apperr.Invalid("member_id", "is required")
	}
	if len(cmd.Roles) == 0 {
		return nil, apperr.Invalid("roles", "name at least one role to revoke")
	}
	roles, err := parseRoles(cmd.Roles)
	if err != nil {
		return nil, err
	}
	now := h.d.Now()
	m, err := h.d.Members.Update(ctx, cmd.MemberID, func(m *member.Member) error {
		_, err := m.Revoke(actor(cmd.Caller), now, cmd.Reason, roles...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := h.d.endSessionsOf(ctx, m.ID); err != nil {
		return nil, err
	}
	return m.Private(), nil
}

// endSessionsOf ends every open session of a member and revokes it, so
// that every service refuses its tokens at once (the revocation KV that
// log-out uses); the member logs in again, and the new token carries what
// the member holds now.
func (d Deps) endSessionsOf(ctx context.Context, memberID string, keep ...string) error {
	now := d.Now()
	open, err := d.Sessions.ListOpen(ctx, memberID, now)
	if err != nil {
		return err
	}
	for _, s := range open {
		if slices.Contains(keep, s.ID) {
			continue
		}
		// Revoked first: a session whose revocation failed stays open, and
		// the next call finds it again.
		if d.RevokeSession != nil {
			if err := d.RevokeSession(ctx, s.ID, now.Add(d.SessionMaxAge)); err != nil {
				return apperr.Unavailable(err, "the change is saved, but the member's sessions could not all be ended yet: do it again")
			}
		}
		if _, err := d.Sessions.Update(ctx, s.ID, func(s *session.Session) error { return s.End(s.MemberID, now) }); err != nil {
			return err
		}
	}
	return nil
}
