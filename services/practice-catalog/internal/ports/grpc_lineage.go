package ports

import (
	"context"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// GetPracticeLineage implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) GetPracticeLineage(ctx context.Context, req *catalogv1.GetPracticeLineageRequest) (*catalogv1.PracticeLineage, error) {
	l, err := s.app.GetPracticeLineage.Handle(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return protoconv.Lineage(l), nil
}
