package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// ModeratePost is a moderator hiding or restoring a post.
type ModeratePost struct {
	Caller auth.Caller
	ID     string
	// Hide hides the post; false restores it.
	Hide   bool
	Reason string
}

// ModeratePostHandler handles ModeratePost.
type ModeratePostHandler struct{ d Deps }

// Handle needs the moderator role and a reason.
func (h ModeratePostHandler) Handle(ctx context.Context, cmd ModeratePost) (*post.Post, error) {
	if err := mayModerate(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	now := h.d.Now()
	return h.d.Posts.Update(ctx, cmd.ID, func(p *post.Post) error {
		if cmd.Hide {
			return p.Hide(cmd.Caller.MemberID, cmd.Reason, now)
		}
		return p.Restore(cmd.Caller.MemberID, cmd.Reason, now)
	})
}
