package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/platform/apperr"
)

// RegisterMember is the command to sign up.
type RegisterMember struct {
	Profile  member.Profile
	Email    string
	Password string
	// PrivacyConsent is the person's acceptance of the privacy notice,
	// required; the member records when it was given.
	PrivacyConsent bool
}

// RegisterMemberHandler handles RegisterMember; anyone may call it.
type RegisterMemberHandler struct{ d Deps }

// Handle validates everything first (one error naming every bad field),
// refuses a taken e-mail before spending a hash on it, and stores the member
// with the hash of the password. It returns the member as they see
// themself.
func (h RegisterMemberHandler) Handle(ctx context.Context, cmd RegisterMember) (*member.Member, error) {
	email := member.NormalizeEmail(cmd.Email)
	if err := member.ValidateSignUp(cmd.Profile, email, cmd.Password, cmd.PrivacyConsent); err != nil {
		return nil, err
	}
	if _, err := h.d.Members.GetByEmail(ctx, email); err == nil {
		return nil, member.ErrEmailTaken()
	} else if apperr.KindOf(err) != apperr.KindNotFound {
		return nil, err
	}
	hash, err := h.d.Passwords.Hash(ctx, cmd.Password)
	if err != nil {
		return nil, err
	}
	now := h.d.Now()
	m, err := member.New(h.d.NewID(""), cmd.Profile, email, hash, now)
	if err != nil {
		return nil, err
	}
	m.PrivacyConsentAt = now
	m.EmailUnverified = true
	if err := h.d.Members.Create(ctx, m); err != nil {
		return nil, err
	}
	// The member can read and log in at once; the link verifies the
	// address (a failure to mail it is logged, and the member can ask
	// again: SendVerificationEmail).
	h.d.mailLink(ctx, onetime.PurposeVerifyEmail, m, h.d.Links.VerifyTTL, VerifyEmailPath)
	return m.Private(), nil
}
