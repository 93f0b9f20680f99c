package ports

import (
	"context"

	"google.golang.org/protobuf/proto"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/twinning/internal/searchindex"
)

// WithSearch serves SearchTwinnings from idx.
func (s *GRPCServer) WithSearch(idx *psearch.Store) *GRPCServer {
	s.search = idx
	return s
}

// SearchTwinnings implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) SearchTwinnings(ctx context.Context, req *twinningv1.SearchTwinningsRequest) (*twinningv1.SearchTwinningsResponse, error) {
	q, err := psearch.Request{Q: req.GetQ(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()}.Query()
	if err != nil {
		return nil, err
	}
	if s.search == nil {
		return nil, psearch.Unavailable
	}
	q.Kinds = []string{searchindex.Kind}
	q.Territories, q.Themes = req.GetTerritoryCode(), req.GetTheme()
	res, err := s.search.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &twinningv1.SearchTwinningsResponse{Total: int32(res.Total), NextPageToken: psearch.NextPageToken(q, len(res.Hits), res.Total)}
	for _, h := range res.Hits {
		hit := &twinningv1.TwinningHit{}
		if err := proto.Unmarshal(h.Source, hit); err != nil {
			return nil, err
		}
		hit.Score = h.Score
		for _, hl := range h.Highlights {
			hit.Highlights = append(hit.Highlights, &twinningv1.Highlight{Field: hl.Field, Fragments: hl.Fragments})
		}
		resp.Hits = append(resp.Hits, hit)
	}
	return resp, nil
}
