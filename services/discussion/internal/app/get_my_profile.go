package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/auth"
)

// GetMyProfileHandler returns the caller's own profile, e-mail included.
type GetMyProfileHandler struct{ d Deps }

// Handle needs a session.
func (h GetMyProfileHandler) Handle(ctx context.Context, caller auth.Caller) (*member.Member, error) {
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	m, err := h.d.Members.Get(ctx, caller.MemberID)
	if err != nil {
		return nil, err
	}
	return m.Private(), nil
}
