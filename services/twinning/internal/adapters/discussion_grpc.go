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

// DiscussionClient asks the discussion service over gRPC what a twinning's
// discussion did in a period (GetTwinningDiscussionFigures: one call, the
// counting is the discussion service's).
type DiscussionClient struct {
	client  discussionv1.DiscussionServiceClient
	timeout time.Duration
}

// NewDiscussionClient wraps a discussion client; timeout bounds each call.
func NewDiscussionClient(client discussionv1.DiscussionServiceClient, timeout time.Duration) *DiscussionClient {
	return &DiscussionClient{client: client, timeout: timeout}
}

// Period implements app.Discussion.
func (c *DiscussionClient) Period(ctx context.Context, twinningID, from, to string) (app.DiscussionPeriod, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	f, err := c.client.GetTwinningDiscussionFigures(ctx, &discussionv1.GetTwinningDiscussionFiguresRequest{TwinningId: twinningID, StartDate: from, EndDate: to})
	if err != nil {
		return app.DiscussionPeriod{}, grpcx.FromStatus(err, discussionName)
	}
	return app.DiscussionPeriod{
		Threads: int(f.GetThreads()), Posts: int(f.GetPosts()), Participants: int(f.GetParticipants()), Stories: int(f.GetStories()),
		ThreadTitles: f.GetThreadTitles(), StoryTitles: f.GetStoryTitles(),
	}, nil
}
