package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/auth"
)

// UpdateMyProfile changes the caller's profile.
type UpdateMyProfile struct {
	Caller auth.Caller
	Patch  func(p *member.Profile)
}

// UpdateMyProfileHandler handles UpdateMyProfile.
type UpdateMyProfileHandler struct{ d Deps }

// Handle applies the patch to the stored profile.
func (h UpdateMyProfileHandler) Handle(ctx context.Context, cmd UpdateMyProfile) (*member.Member, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return nil, err
	}
	m, err := h.d.Members.Update(ctx, cmd.Caller.MemberID, func(m *member.Member) error {
		next := m.Profile
		cmd.Patch(&next)
		return m.UpdateProfile(next)
	})
	if err != nil {
		return nil, err
	}
	return m.Private(), nil
}
