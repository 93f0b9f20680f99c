package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// ListActivities is a page of a twinning's activity log.
type ListActivities struct {
	TwinningID string
	PageSize   int32
	PageToken  string
}

// ActivityPage is one page of the log and the token of the next.
type ActivityPage struct {
	Items         []twinning.Activity
	NextPageToken string
}

// ListActivitiesHandler returns a twinning's activity log.
type ListActivitiesHandler struct{ d Deps }

// Handle returns one page of the log in date order.
func (h ListActivitiesHandler) Handle(ctx context.Context, q ListActivities) (ActivityPage, error) {
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return ActivityPage{}, err
	}
	t, err := h.d.getVisible(ctx, auth.CallerFrom(ctx), q.TwinningID)
	if err != nil {
		return ActivityPage{}, err
	}
	// A token is good for the twinning it came from only.
	filter := paging.FilterHash("activities", t.ID)
	after, err := paging.Decode(q.PageToken, filter)
	if err != nil {
		return ActivityPage{}, err
	}
	items, err := h.d.Twinnings.Activities(ctx, t, after, size+1)
	if err != nil {
		return ActivityPage{}, err
	}
	page := ActivityPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, filter)
	}
	return page, nil
}
