package ports

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
)

// DeletePractice implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) DeletePractice(ctx context.Context, req *catalogv1.DeletePracticeRequest) (*emptypb.Empty, error) {
	err := s.app.DeletePractice.Handle(ctx, app.DeletePractice{ID: req.GetId(), Etag: grpcx.Etag(ctx, req.GetEtag()), Actor: actor(ctx)})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
