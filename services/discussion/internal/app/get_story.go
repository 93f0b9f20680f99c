package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// GetStory asks for one story.
type GetStory struct {
	Caller auth.Caller
	ID     string
}

// GetStoryHandler handles GetStory.
type GetStoryHandler struct{ d Deps }

// Handle shows a published story to anyone; one not published only to its
// author and to moderators. To anyone else it does not exist.
func (h GetStoryHandler) Handle(ctx context.Context, q GetStory) (*story.Story, error) {
	if q.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	s, err := h.d.Stories.Get(ctx, q.ID)
	if err != nil {
		return nil, err
	}
	if !canSeeStory(q.Caller, s) {
		return nil, story.ErrNotFound(q.ID)
	}
	return s, nil
}
