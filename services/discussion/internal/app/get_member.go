package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// GetMember asks for one member's profile.
type GetMember struct {
	Caller auth.Caller
	ID     string
}

// GetMemberHandler handles GetMember; anyone may read public profiles.
type GetMemberHandler struct{ d Deps }

// Handle shows the e-mail and every affiliation only to the member and to
// administrators.
func (h GetMemberHandler) Handle(ctx context.Context, q GetMember) (*member.Member, error) {
	if q.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	m, err := h.d.Members.Get(ctx, q.ID)
	if err != nil {
		return nil, err
	}
	return visibleMember(q.Caller, m), nil
}
