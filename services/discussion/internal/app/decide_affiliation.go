package app

import (
	"context"
	"slices"

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
// carries the verified organisation (and the editor role); refusing an
// affiliation that was verified ends the member's sessions, whose tokens
// still claim it.
func (h DecideAffiliationHandler) Handle(ctx context.Context, cmd DecideAffiliation) (*member.Member, error) {
	if err := mayDecideAffiliation(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.MemberID == "" {
		return nil, apperr.Invalid("member_id", "is required")
	}
	now := h.d.Now()
	revoked := false
	m, err := h.d.Members.Update(ctx, cmd.MemberID, func(m *member.Member) error {
		revoked = !cmd.Verify && slices.Contains(m.VerifiedOrganizations(), cmd.OrganizationID)
		return m.DecideAffiliation(cmd.OrganizationID, cmd.Verify, actor(cmd.Caller), cmd.Reason, now)
	})
	if err != nil {
		return nil, err
	}
	if revoked {
		if err := h.d.endSessionsOf(ctx, m.ID); err != nil {
			return nil, err
		}
	}
	return m.Private(), nil
}
