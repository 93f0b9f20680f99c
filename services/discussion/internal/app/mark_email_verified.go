package app

import (
	"context"
	"errors"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// MarkEmailVerified records, for the service itself only, that the address
// of the member registered with Email reaches them, as following the
// mailed link would: the in-process Service.MarkEmailVerified, for the
// devstack's demo accounts, whose addresses are the devstack's own. No API
// reaches it; members verify through the link.
type MarkEmailVerified struct {
	Caller auth.Caller
	Email  string
}

// MarkEmailVerifiedHandler handles MarkEmailVerified.
type MarkEmailVerifiedHandler struct{ d Deps }

// Handle marks the address verified; an address verified already is left
// as it is.
func (h MarkEmailVerifiedHandler) Handle(ctx context.Context, cmd MarkEmailVerified) error {
	if !cmd.Caller.IsService(ServiceName) {
		return apperr.PermissionDenied("only the service itself marks an address verified without its link")
	}
	m, err := h.d.Members.GetByEmail(ctx, member.NormalizeEmail(cmd.Email))
	if err != nil {
		return err
	}
	if m.EmailVerified() {
		return nil
	}
	now := h.d.Now()
	_, err = h.d.Members.Update(ctx, m.ID, func(m *member.Member) error {
		if !m.VerifyEmail(m.Email, now) {
			return errAlreadyVerified
		}
		return nil
	})
	if errors.Is(err, errAlreadyVerified) {
		return nil // verified meanwhile
	}
	return err
}

var errAlreadyVerified = errors.New("the address is verified already")
