package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/auth"
)

// RequestAffiliation is a member asking to speak for an organisation.
type RequestAffiliation struct {
	Caller auth.Caller
	// MemberID must be the caller's own id (or empty for it).
	MemberID       string
	OrganizationID string
}

// RequestAffiliationHandler handles RequestAffiliation.
type RequestAffiliationHandler struct{ d Deps }

// Handle records a pending affiliation that an administrator will decide.
func (h RequestAffiliationHandler) Handle(ctx context.Context, cmd RequestAffiliation) (*member.Member, error) {
	if err := mayRequestAffiliation(cmd.Caller, cmd.MemberID); err != nil {
		return nil, err
	}
	now := h.d.Now()
	restricted := h.d.UnverifiedMayWrite != nil && !h.d.UnverifiedMayWrite(WriteAffiliations)
	m, err := h.d.Members.Update(ctx, cmd.Caller.MemberID, func(m *member.Member) error {
		if restricted && !m.EmailVerified() {
			return member.ErrEmailNotVerified()
		}
		return m.RequestAffiliation(cmd.OrganizationID, now)
	})
	if err != nil {
		return nil, err
	}
	return m.Private(), nil
}
