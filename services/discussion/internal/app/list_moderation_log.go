package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
)

// ListModerationLog is a page of the moderation log.
type ListModerationLog struct {
	Caller    auth.Caller
	PageSize  int32
	PageToken string
}

// ModerationPage is one page and the token of the next.
type ModerationPage struct {
	Items         []*moderation.Entry
	NextPageToken string
}

// ListModerationLogHandler lists the decisions on posts, newest first.
type ListModerationLogHandler struct{ d Deps }

// Handle needs the moderator role.
func (h ListModerationLogHandler) Handle(ctx context.Context, q ListModerationLog) (ModerationPage, error) {
	if err := mayModerate(q.Caller); err != nil {
		return ModerationPage{}, err
	}
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return ModerationPage{}, err
	}
	after, err := paging.Decode(q.PageToken, moderation.ListHash)
	if err != nil {
		return ModerationPage{}, err
	}
	items, err := h.d.Moderation.List(ctx, after, size+1)
	if err != nil {
		return ModerationPage{}, err
	}
	entries, next := pageOf(items, size, moderation.ListHash, func(e *moderation.Entry) (string, string) { return e.SortKey(), e.ID })
	return ModerationPage{Items: entries, NextPageToken: next}, nil
}
