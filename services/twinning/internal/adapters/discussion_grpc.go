package adapters

import (
	"context"
	"time"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/twinning/internal/app"
)

// discussionName is how errors name the discussion service.
const discussionName = "discussion service"

// Bounds of what a report reads of a discussion: pages of 100, at most
// maxDiscussionPages of threads, of each thread's posts and of stories.
const (
	discussionPageSize = 100
	maxDiscussionPages = 20
)

// DiscussionClient asks the discussion service over gRPC for what a
// twinning's discussion did in a period: its threads (scope twinning), their
// posts and the published stories, counted by day in Europe/Rome.
type DiscussionClient struct {
	client  discussionv1.DiscussionServiceClient
	timeout time.Duration
	loc     *time.Location
}

// NewDiscussionClient wraps a discussion client; timeout bounds each call.
func NewDiscussionClient(client discussionv1.DiscussionServiceClient, timeout time.Duration) *DiscussionClient {
	return &DiscussionClient{client: client, timeout: timeout, loc: app.Location}
}

func (c *DiscussionClient) day(t interface{ AsTime() time.Time }) string {
	return t.AsTime().In(c.loc).Format(time.DateOnly)
}

// Period implements app.Discussion.
func (c *DiscussionClient) Period(ctx context.Context, twinningID, from, to string) (app.DiscussionPeriod, error) {
	var out app.DiscussionPeriod
	in := func(d string) bool { return d >= from && d <= to }
	people := map[string]bool{}
	token := ""
	for range maxDiscussionPages {
		callCtx, cancel := context.WithTimeout(ctx, c.timeout)
		threads, err := c.client.ListThreads(callCtx, &discussionv1.ListThreadsRequest{
			Scope: discussionv1.Scope_SCOPE_TWINNING, TwinningId: twinningID, PageSize: discussionPageSize, PageToken: token,
		})
		cancel()
		if err != nil {
			return out, grpcx.FromStatus(err, discussionName)
		}
		for _, th := range threads.GetThreads() {
			if th.GetLastActivityTime() != nil && c.day(th.GetLastActivityTime()) < from {
				continue
			}
			active := false
			if th.GetCreateTime() != nil && in(c.day(th.GetCreateTime())) {
				active = true
				out.Posts++
				people[th.GetAuthorId()] = true
			}
			posts, err := c.posts(ctx, th.GetId(), in, people)
			if err != nil {
				return out, err
			}
			out.Posts += posts
			if active || posts > 0 {
				out.Threads++
				out.ThreadTitles = append(out.ThreadTitles, th.GetTitle())
			}
		}
		if token = threads.GetNextPageToken(); token == "" {
			break
		}
	}
	delete(people, "")
	out.Participants = len(people)
	token = ""
	for range maxDiscussionPages {
		callCtx, cancel := context.WithTimeout(ctx, c.timeout)
		stories, err := c.client.ListStories(callCtx, &discussionv1.ListStoriesRequest{
			TwinningId: twinningID, Status: discussionv1.StoryStatus_STORY_STATUS_PUBLISHED, PageSize: discussionPageSize, PageToken: token,
		})
		cancel()
		if err != nil {
			return out, grpcx.FromStatus(err, discussionName)
		}
		for _, s := range stories.GetStories() {
			when := s.GetPublishTime()
			if when == nil {
				when = s.GetCreateTime()
			}
			if when != nil && in(c.day(when)) {
				out.Stories++
				out.StoryTitles = append(out.StoryTitles, s.GetTitle())
			}
		}
		if token = stories.GetNextPageToken(); token == "" {
			break
		}
	}
	return out, nil
}

// posts counts a thread's visible posts of the period and notes their authors.
func (c *DiscussionClient) posts(ctx context.Context, threadID string, in func(string) bool, people map[string]bool) (int, error) {
	n, token := 0, ""
	for range maxDiscussionPages {
		callCtx, cancel := context.WithTimeout(ctx, c.timeout)
		page, err := c.client.ListPosts(callCtx, &discussionv1.ListPostsRequest{ThreadId: threadID, PageSize: discussionPageSize, PageToken: token})
		cancel()
		if err != nil {
			return n, grpcx.FromStatus(err, discussionName)
		}
		for _, p := range page.GetPosts() {
			if p.GetState() == discussionv1.PostState_POST_STATE_VISIBLE && p.GetCreateTime() != nil && in(c.day(p.GetCreateTime())) {
				n++
				people[p.GetAuthorId()] = true
			}
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	return n, nil
}
