package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
)

// ListReportedPosts is a page of the moderation queue.
type ListReportedPosts struct {
	Caller    auth.Caller
	PageSize  int32
	PageToken string
}

// ListReportedPostsHandler lists the posts reported since a moderator last
// decided on them, oldest first; those that reports hid are among them.
type ListReportedPostsHandler struct{ d Deps }

// Handle needs the moderator role.
func (h ListReportedPostsHandler) Handle(ctx context.Context, q ListReportedPosts) (PostPage, error) {
	if err := mayModerate(q.Caller); err != nil {
		return PostPage{}, err
	}
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return PostPage{}, err
	}
	after, err := paging.Decode(q.PageToken, post.ReviewHash)
	if err != nil {
		return PostPage{}, err
	}
	items, err := h.d.Posts.ListNeedingReview(ctx, after, size+1)
	if err != nil {
		return PostPage{}, err
	}
	return postPage(q.Caller, items, size, post.ReviewHash), nil
}
