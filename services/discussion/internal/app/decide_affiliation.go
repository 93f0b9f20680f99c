package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// DecideAffiliation is an administrator verifying or refusing one.
type DecideAffiliation struct {
	Caller         auth.Caller
	MemberID       string
	OrganizationID string
	Verify         bool
	Reason         string
}

// DecideAffiliationHandler handles DecideAffiliation.
type DecideAffiliationHandler struct{ d Deps }

// Handle needs the administrator role. The member's next session token
// carries the verified organisation (and the editor role).
func (h DecideAffiliationHandler) Handle(ctx context.Context, cmd DecideAffiliation) (*member.Member, error) {
	if err := mayDecideAffiliation(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.MemberID == "" {
		return nil, apperr.Invalid("member_id", "is required")
	}
	now := h.d.Now()
	m, err := h.d.Members.Update(ctx, cmd.MemberID, func(m *member.Member) error {
		return m.DecideAffiliation(cmd.OrganizationID, cmd.Verify, cmd.Caller.MemberID, cmd.Reason, now)
	})
	if err != nil {
		return nil, err
	}
	return m.Private(), nil
}
