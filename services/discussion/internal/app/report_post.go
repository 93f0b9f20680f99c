package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// ReportPost is a member flagging a post for moderators.
type ReportPost struct {
	Caller auth.Caller
	ID     string
	Reason string
}

// ReportPostHandler handles ReportPost.
type ReportPostHandler struct{ d Deps }

// Handle records the report, once per member; the configured number of
// reports hides the post pending review.
func (h ReportPostHandler) Handle(ctx context.Context, cmd ReportPost) (*post.Post, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	now := h.d.Now()
	p, err := h.d.Posts.Update(ctx, cmd.ID, func(p *post.Post) error {
		return p.Report(cmd.Caller.MemberID, cmd.Reason, h.d.ReportThreshold, now)
	})
	if err != nil {
		return nil, err
	}
	return visiblePost(cmd.Caller, p), nil
}
