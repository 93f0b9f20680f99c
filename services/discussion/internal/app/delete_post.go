package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// DeletePost is the author withdrawing a post.
type DeletePost struct {
	Caller auth.Caller
	ID     string
}

// DeletePostHandler handles DeletePost.
type DeletePostHandler struct{ d Deps }

// Handle marks the post deleted; it stays stored and listed as deleted.
func (h DeletePostHandler) Handle(ctx context.Context, cmd DeletePost) (*post.Post, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	now := h.d.Now()
	p, err := h.d.Posts.Update(ctx, cmd.ID, func(p *post.Post) error {
		if err := mayChangePost(cmd.Caller, p); err != nil {
			return err
		}
		return p.Delete(cmd.Caller.MemberID, now)
	})
	if err != nil {
		return nil, err
	}
	return visiblePost(cmd.Caller, p), nil
}
