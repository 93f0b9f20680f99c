package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// DecideStory is a moderator publishing or rejecting a pending story.
type DecideStory struct {
	Caller  auth.Caller
	ID      string
	Publish bool
	Reason  string
}

// DecideStoryHandler handles DecideStory.
type DecideStoryHandler struct{ d Deps }

// Handle needs the moderator role; a rejection needs a reason.
func (h DecideStoryHandler) Handle(ctx context.Context, cmd DecideStory) (*story.Story, error) {
	if err := mayModerate(cmd.Caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	now := h.d.Now()
	return h.d.Stories.Update(ctx, cmd.ID, func(s *story.Story) error {
		if cmd.Publish {
			return s.Publish(cmd.Caller.MemberID, cmd.Reason, now)
		}
		return s.Reject(cmd.Caller.MemberID, cmd.Reason, now)
	})
}
