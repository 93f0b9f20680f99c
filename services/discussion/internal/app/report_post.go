package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// ReportPost is a member flagging a post for moderators, with a reason.
type ReportPost struct {
	Caller auth.Caller
	ID     string
	Reason string
}

// ReportPostHandler handles ReportPost.
type ReportPostHandler struct{ d Deps }

// Handle records the report, once per member; the configured number of
// reports hides the post pending review, which the moderation log records.
func (h ReportPostHandler) Handle(ctx context.Context, cmd ReportPost) (*post.Post, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return nil, err
	}
	if err := h.d.mayWrite(ctx, cmd.Caller.MemberID, WriteReports); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	now := h.d.Now()
	hid := false
	p, err := h.d.Posts.Update(ctx, cmd.ID, func(p *post.Post) error {
		was := p.State
		err := p.Report(cmd.Caller.MemberID, cmd.Caller.DisplayName, cmd.Reason, h.d.ReportThreshold, now)
		hid = err == nil && was != post.Hidden && p.State == post.Hidden
		return err
	})
	if err != nil {
		return nil, err
	}
	if hid {
		h.d.logModeration(ctx, p, moderation.HiddenByReports, cmd.Caller)
	}
	return visiblePost(cmd.Caller, p), nil
}
