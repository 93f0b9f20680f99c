package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// EditPost is the author changing a post's body.
type EditPost struct {
	Caller auth.Caller
	ID     string
	Body   string
}

// EditPostHandler handles EditPost.
type EditPostHandler struct{ d Deps }

// Handle lets the domain check author, state and edit window.
func (h EditPostHandler) Handle(ctx context.Context, cmd EditPost) (*post.Post, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return nil, err
	}
	if err := h.d.mayWrite(ctx, cmd.Caller.MemberID, WritePosts); err != nil {
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
		return p.Edit(cmd.Caller.MemberID, cmd.Body, h.d.EditWindow, now)
	})
	if err != nil {
		return nil, err
	}
	return visiblePost(cmd.Caller, p), nil
}
