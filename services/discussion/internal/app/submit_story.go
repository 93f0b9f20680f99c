package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// SubmitStory is a member telling their story of a twinning or practice.
type SubmitStory struct {
	Caller    auth.Caller
	Details   story.Details
	RequestID string
}

// SubmitStoryHandler handles SubmitStory.
type SubmitStoryHandler struct{ d Deps }

// Handle stores the story pending moderation, or returns the one a
// previous call with the same request id stored.
func (h SubmitStoryHandler) Handle(ctx context.Context, cmd SubmitStory) (*story.Story, error) {
	if err := requireMember(cmd.Caller); err != nil {
		return nil, err
	}
	if err := h.d.mayWrite(ctx, cmd.Caller.MemberID, WriteStories); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	id := h.d.NewID(requestName("story", cmd.Caller, cmd.RequestID))
	s, err := story.New(id, cmd.Details, cmd.Caller.MemberID, cmd.Caller.DisplayName, h.d.Now())
	if err != nil {
		return nil, err
	}
	if err := h.d.Stories.Create(ctx, s); err != nil {
		if cmd.RequestID != "" && apperr.KindOf(err) == apperr.KindAlreadyExists {
			return h.d.Stories.Get(ctx, id)
		}
		return nil, err
	}
	return s, nil
}
