package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
)

// ListStories is a page of stories.
type ListStories struct {
	Caller auth.Caller
	// Status is Published when zero; moderators may ask for the others.
	Status     story.Status
	TwinningID string
	PracticeID string
	PageSize   int32
	PageToken  string
}

// StoryPage is one page and the token of the next.
type StoryPage struct {
	Items         []*story.Story
	NextPageToken string
}

// ListStoriesHandler lists stories newest first.
type ListStoriesHandler struct{ d Deps }

// Handle lists published stories for anyone, the others for moderators.
func (h ListStoriesHandler) Handle(ctx context.Context, q ListStories) (StoryPage, error) {
	f := story.Filter{Status: q.Status, TwinningID: q.TwinningID, PracticeID: q.PracticeID}
	if f.Status.IsZero() {
		f.Status = story.Published
	}
	if err := mayListStories(q.Caller, f.Status); err != nil {
		return StoryPage{}, err
	}
	var v apperr.Violations
	validate.ID(&v, "twinning_id", q.TwinningID, false)
	validate.ID(&v, "practice_id", q.PracticeID, false)
	if err := v.Err(); err != nil {
		return StoryPage{}, err
	}
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return StoryPage{}, err
	}
	after, err := paging.Decode(q.PageToken, f.Hash())
	if err != nil {
		return StoryPage{}, err
	}
	items, err := h.d.Stories.List(ctx, f, after, size+1)
	if err != nil {
		return StoryPage{}, err
	}
	page := StoryPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, f.Hash())
	}
	return page, nil
}
