package app

import (
	"context"
	"log/slog"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// AddPost is a member writing in a thread, or replying to a post of it.
type AddPost struct {
	Caller    auth.Caller
	ThreadID  string
	ParentID  string
	Body      string
	RequestID string
}

// AddPostHandler handles AddPost.
type AddPostHandler struct{ d Deps }

// Handle stores the post, then counts it on its thread. Without
// transactions these are two writes: the post is the truth, and counting
// is idempotent (the thread remembers the posts it counted), so a retry
// with the same request id completes a count that a failure interrupted.
func (h AddPostHandler) Handle(ctx context.Context, cmd AddPost) (*post.Post, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return nil, err
	}
	if err := h.d.mayWrite(ctx, cmd.Caller.MemberID, WritePosts); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	if cmd.ThreadID == "" {
		return nil, apperr.Invalid("thread_id", "is required")
	}
	t, err := h.d.Threads.Get(ctx, cmd.ThreadID)
	if err != nil {
		return nil, err
	}
	if cmd.ParentID != "" {
		parent, err := h.d.Posts.Get(ctx, cmd.ParentID)
		if apperr.KindOf(err) == apperr.KindNotFound || (err == nil && parent.ThreadID != t.ID) {
			return nil, apperr.Invalid("parent_id", "is not a post of this thread")
		}
		if err != nil {
			return nil, err
		}
	}
	id := h.d.NewID(requestName("post", cmd.Caller, cmd.RequestID))
	p, err := post.New(id, t, cmd.ParentID, cmd.Caller.MemberID, cmd.Caller.DisplayName, cmd.Body, h.d.Now())
	if err != nil {
		return nil, err
	}
	if err := h.d.Posts.Create(ctx, p); err != nil {
		if cmd.RequestID == "" || apperr.KindOf(err) != apperr.KindAlreadyExists {
			return nil, err
		}
		if p, err = h.d.Posts.Get(ctx, id); err != nil {
			return nil, err
		}
		if p.ThreadID != t.ID {
			return nil, apperr.AlreadyExists("request id %q was used for a post in another thread", cmd.RequestID).WithReason(apperr.ReasonRequestIDReused)
		}
	}
	if !t.HasCounted(p.ID) {
		_, err := h.d.Threads.Update(ctx, t.ID, func(t *thread.Thread) error {
			t.CountPost(p.ID, p.AuthorID, p.CreatedAt)
			return nil
		})
		if err != nil {
			// The post is written; only the thread's counters lag, until
			// the same request is retried.
			h.d.Logger.WarnContext(ctx, "count post on its thread", slog.String("thread", t.ID), slog.String("post", p.ID), slog.Any("error", err))
		}
	}
	return visiblePost(cmd.Caller, p), nil
}
