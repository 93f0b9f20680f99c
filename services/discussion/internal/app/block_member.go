package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// BlockMember stops a member from logging in, or (Unblock) lets them
// again.
type BlockMember struct {
	Caller   auth.Caller
	MemberID string
	Unblock  bool
	Reason   string
}

// BlockMemberHandler handles BlockMember.
type BlockMemberHandler struct{ d Deps }

// Handle needs the administrator role. Blocking records the decision and
// ends the member's sessions, so that no token of theirs is accepted any
// more; it ends them also when the member was blocked already, so that a
// call answered Unavailable is finished by calling again.
func (h BlockMemberHandler) Handle(ctx context.Context, cmd BlockMember) (*member.Member, error) {
	if err := mayBlockMembers(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.MemberID == "" {
		return nil, apperr.Invalid("member_id", "is required")
	}
	now := h.d.Now()
	m, err := h.d.Members.Update(ctx, cmd.MemberID, func(m *member.Member) error {
		if cmd.Unblock {
			return m.Unblock(actor(cmd.Caller), now, cmd.Reason)
		}
		_, err := m.Block(actor(cmd.Caller), now, cmd.Reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !cmd.Unblock {
		if err := h.d.endSessionsOf(ctx, m.ID); err != nil {
			return nil, err
		}
	}
	return m.Private(), nil
}
