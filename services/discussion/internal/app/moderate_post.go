package app

import (
	"context"
	"fmt"

	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// ModeratePost is a moderator hiding or restoring a post, or dismissing
// its reports.
type ModeratePost struct {
	Caller auth.Caller
	ID     string
	// Action is moderation.Hidden, Restored or ReportsDismissed.
	Action moderation.Action
	Reason string
}

// ModeratePostHandler handles ModeratePost.
type ModeratePostHandler struct{ d Deps }

// Handle needs the moderator role and a reason; the moderation log
// records the decision.
func (h ModeratePostHandler) Handle(ctx context.Context, cmd ModeratePost) (*post.Post, error) {
	if err := mayModerate(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	now := h.d.Now()
	p, err := h.d.Posts.Update(ctx, cmd.ID, func(p *post.Post) error {
		switch cmd.Action {
		case moderation.Hidden:
			return p.Hide(cmd.Caller.MemberID, cmd.Reason, now)
		case moderation.Restored:
			return p.Restore(cmd.Caller.MemberID, cmd.Reason, now)
		case moderation.ReportsDismissed:
			return p.DismissReports(cmd.Caller.MemberID, cmd.Reason, now)
		}
		return fmt.Errorf("moderate post %s: unknown action %q", p.ID, cmd.Action)
	})
	if err != nil {
		return nil, err
	}
	h.d.logModeration(ctx, p, cmd.Action, cmd.Caller)
	return p, nil
}

// logModeration writes the moderation log's entry of the decision that
// brought p to its version. Its id is made of the post's id and version,
// so that it is written once. The post's change is already stored (and
// its event in the post's outbox), so a failure here is logged and does
// not fail the call.
func (d Deps) logModeration(ctx context.Context, p *post.Post, action moderation.Action, by auth.Caller) {
	e := &moderation.Entry{
		ID: moderation.EntryID(p.ID, p.Version), PostID: p.ID, ThreadID: p.ThreadID, Action: action,
		Reason: p.ModerationReason, At: p.ModeratedAt,
	}
	if action != moderation.HiddenByReports {
		e.ByID, e.ByName = by.MemberID, by.DisplayName
	}
	if err := d.Moderation.Create(ctx, e); err != nil && apperr.KindOf(err) != apperr.KindAlreadyExists {
		d.Logger.ErrorContext(ctx, "moderation log entry not written", "post", p.ID, "action", action, "error", err)
	}
}
