package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// CreateThread is a member opening a discussion.
type CreateThread struct {
	Caller    auth.Caller
	Details   thread.Details
	RequestID string
}

// CreateThreadHandler handles CreateThread.
type CreateThreadHandler struct{ d Deps }

// Handle opens the thread, or returns the one a previous call with the same
// request id opened.
func (h CreateThreadHandler) Handle(ctx context.Context, cmd CreateThread) (*thread.Thread, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return nil, err
	}
	if err := h.d.mayWrite(ctx, cmd.Caller.MemberID, WriteThreads); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	id := h.d.NewID(requestName("thread", cmd.Caller, cmd.RequestID))
	t, err := thread.New(id, cmd.Details, cmd.Caller.MemberID, cmd.Caller.DisplayName, cmd.Caller.MemberID, h.d.Now())
	if err != nil {
		return nil, err
	}
	if err := h.d.Threads.Create(ctx, t); err != nil {
		if cmd.RequestID != "" && apperr.KindOf(err) == apperr.KindAlreadyExists {
			return h.d.Threads.Get(ctx, id)
		}
		return nil, err
	}
	return t, nil
}
