package ports

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/twinning/internal/app"
)

// DeleteTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) DeleteTwinning(ctx context.Context, req *twinningv1.DeleteTwinningRequest) (*emptypb.Empty, error) {
	err := s.app.DeleteTwinning.Handle(ctx, app.DeleteTwinning{ID: req.GetId(), Etag: grpcx.Etag(ctx, req.GetEtag()), Actor: actor(ctx)})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
