package ports

import (
	"context"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/discussion/internal/app"
)

// GetTwinningDiscussionFigures implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) GetTwinningDiscussionFigures(ctx context.Context, req *discussionv1.GetTwinningDiscussionFiguresRequest) (*discussionv1.TwinningDiscussionFigures, error) {
	f, err := s.app.TwinningFigures.Handle(ctx, app.TwinningFigures{TwinningID: req.GetTwinningId(), StartDate: req.GetStartDate(), EndDate: req.GetEndDate()})
	if err != nil {
		return nil, err
	}
	return &discussionv1.TwinningDiscussionFigures{
		Threads: int32(f.Threads), Posts: int32(f.Posts), Participants: int32(f.Participants), Stories: int32(f.Stories),
		ThreadTitles: f.ThreadTitles, StoryTitles: f.StoryTitles,
	}, nil
}
