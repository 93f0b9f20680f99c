package ports

import (
	"context"

	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/practice-catalog/internal/orgsearch"
)

// WithOrganizationSearch serves SearchOrganizations from idx.
func (s *GRPCServer) WithOrganizationSearch(idx *psearch.Store) *GRPCServer {
	s.orgs = idx
	return s
}

// SearchOrganizations implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) SearchOrganizations(ctx context.Context, req *catalogv1.SearchOrganizationsRequest) (*catalogv1.SearchOrganizationsResponse, error) {
	q, err := psearch.Request{Q: req.GetQ(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()}.Query()
	if err != nil {
		return nil, err
	}
	if s.orgs == nil {
		return nil, psearch.Unavailable
	}
	q.Kinds, q.Territories = []string{orgsearch.Kind}, req.GetTerritoryCode()
	res, err := s.orgs.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.SearchOrganizationsResponse{Total: int32(res.Total), NextPageToken: psearch.NextPageToken(q, len(res.Hits), res.Total)}
	for _, h := range res.Hits {
		hit := &catalogv1.OrganizationHit{}
		if err := proto.Unmarshal(h.Source, hit); err != nil {
			return nil, err
		}
		hit.Score = h.Score
		for _, hl := range h.Highlights {
			hit.Highlights = append(hit.Highlights, &catalogv1.Highlight{Field: hl.Field, Fragments: hl.Fragments})
		}
		resp.Hits = append(resp.Hits, hit)
	}
	return resp, nil
}
