package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
)

// ListPosts is a page of a thread's posts.
type ListPosts struct {
	Caller    auth.Caller
	ThreadID  string
	PageSize  int32
	PageToken string
}

// PostPage is one page and the token of the next.
type PostPage struct {
	Items         []*post.Post
	NextPageToken string
}

// ListPostsHandler lists a thread's posts, oldest first.
type ListPostsHandler struct{ d Deps }

// Handle shows hidden posts to moderators only; deleted ones are listed
// without their body.
func (h ListPostsHandler) Handle(ctx context.Context, q ListPosts) (PostPage, error) {
	if q.ThreadID == "" {
		return PostPage{}, apperr.Invalid("thread_id", "is required")
	}
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return PostPage{}, err
	}
	f := post.Filter{ThreadID: q.ThreadID, IncludeHidden: canSeeHiddenPosts(q.Caller)}
	after, err := paging.Decode(q.PageToken, f.Hash())
	if err != nil {
		return PostPage{}, err
	}
	if _, err := h.d.Threads.Get(ctx, q.ThreadID); err != nil {
		return PostPage{}, err
	}
	items, err := h.d.Posts.List(ctx, f, after, size+1)
	if err != nil {
		return PostPage{}, err
	}
	return postPage(q.Caller, items, size, f.Hash()), nil
}

func postPage(c auth.Caller, items []*post.Post, size int, hash uint32) PostPage {
	var page PostPage
	for i, p := range items {
		if i == size {
			last := items[size-1]
			page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, hash)
			break
		}
		page.Items = append(page.Items, visiblePost(c, p))
	}
	return page
}
