package ports

import (
	"context"
	"github.com/gemella/gemella/services/platform/grpcx"
	"strings"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// CreateNeed implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) CreateNeed(ctx context.Context, req *catalogv1.CreateNeedRequest) (*catalogv1.Need, error) {
	n, err := s.app.CreateNeed.Handle(ctx, app.CreateNeed{
		RequestID: req.GetRequestId(), Details: protoconv.NeedDetails(req.GetNeed()), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Need(n), nil
}

// GetNeed implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) GetNeed(ctx context.Context, req *catalogv1.GetNeedRequest) (*catalogv1.Need, error) {
	n, err := s.app.GetNeed.Handle(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return protoconv.Need(n), nil
}

// ListNeeds implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) ListNeeds(ctx context.Context, req *catalogv1.ListNeedsRequest) (*catalogv1.ListNeedsResponse, error) {
	if _, known := catalogv1.NeedStatus_name[int32(req.GetStatus())]; !known {
		return nil, apperr.Invalid("status", "is not a known need status")
	}
	page, err := s.app.ListNeeds.Handle(ctx, app.ListNeeds{
		Filter: need.Filter{
			Status: protoconv.NeedStatusFromProto(req.GetStatus()), OrganizationID: req.GetOrganizationId(),
			Theme: req.GetTheme(), Sector: req.GetSector(), TerritoryCode: req.GetTerritoryCode(),
		},
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.ListNeedsResponse{NextPageToken: page.NextPageToken}
	for _, n := range page.Items {
		resp.Needs = append(resp.Needs, protoconv.Need(n))
	}
	return resp, nil
}

// UpdateNeed implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) UpdateNeed(ctx context.Context, req *catalogv1.UpdateNeedRequest) (*catalogv1.Need, error) {
	if err := grpcx.Required(req.GetNeed() != nil, "need"); err != nil {
		return nil, err
	}
	patch, err := protoconv.NeedPatch(protoconv.NeedDetails(req.GetNeed()), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	n, err := s.app.UpdateNeed.Handle(ctx, app.UpdateNeed{
		ID: req.GetNeed().GetId(), Etag: grpcx.Etag(ctx, req.GetNeed().GetEtag()), Patch: patch, Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Need(n), nil
}

// CloseNeed implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) CloseNeed(ctx context.Context, req *catalogv1.CloseNeedRequest) (*catalogv1.Need, error) {
	n, err := s.app.CloseNeed.Handle(ctx, app.CloseNeed{ID: req.GetId(), Etag: grpcx.Etag(ctx, req.GetEtag()), Reason: req.GetReason(), Actor: actor(ctx)})
	if err != nil {
		return nil, err
	}
	return protoconv.Need(n), nil
}

// CreateOffer implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) CreateOffer(ctx context.Context, req *catalogv1.CreateOfferRequest) (*catalogv1.Offer, error) {
	o, err := s.app.CreateOffer.Handle(ctx, app.CreateOffer{
		RequestID: req.GetRequestId(), Terms: protoconv.OfferTerms(req.GetOffer()), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Offer(o), nil
}

// GetOffer implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) GetOffer(ctx context.Context, req *catalogv1.GetOfferRequest) (*catalogv1.Offer, error) {
	o, err := s.app.GetOffer.Handle(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return protoconv.Offer(o), nil
}

// ListOffers implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) ListOffers(ctx context.Context, req *catalogv1.ListOffersRequest) (*catalogv1.ListOffersResponse, error) {
	if _, known := catalogv1.OfferStatus_name[int32(req.GetStatus())]; !known {
		return nil, apperr.Invalid("status", "is not a known offer status")
	}
	page, err := s.app.ListOffers.Handle(ctx, app.ListOffers{
		Filter: offer.Filter{
			Status: protoconv.OfferStatusFromProto(req.GetStatus()), OrganizationID: req.GetOrganizationId(), PracticeID: req.GetPracticeId(),
		},
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.ListOffersResponse{NextPageToken: page.NextPageToken}
	for _, o := range page.Items {
		resp.Offers = append(resp.Offers, protoconv.Offer(o))
	}
	return resp, nil
}

// CloseOffer implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) CloseOffer(ctx context.Context, req *catalogv1.CloseOfferRequest) (*catalogv1.Offer, error) {
	o, err := s.app.CloseOffer.Handle(ctx, app.CloseOffer{ID: req.GetId(), Etag: grpcx.Etag(ctx, req.GetEtag()), Reason: req.GetReason(), Actor: actor(ctx)})
	if err != nil {
		return nil, err
	}
	return protoconv.Offer(o), nil
}

// ownerKinds reads the owner-kind filter: the facet's values (region) or
// the enum's names (ORGANIZATION_KIND_REGION).
func ownerKinds(values []string) ([]string, error) {
	var v apperr.Violations
	out := make([]string, 0, len(values))
	for i, value := range values {
		name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(value), "ORGANIZATION_KIND_"))
		k, ok := organization.ParseKind(name)
		if !ok {
			v.Addf(validate.Index("owner_kind", i), "%q is not an organisation kind", value)
			continue
		}
		out = append(out, k.String())
	}
	return out, v.Err()
}

// SearchPractices implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) SearchPractices(ctx context.Context, req *catalogv1.SearchPracticesRequest) (*catalogv1.SearchPracticesResponse, error) {
	kinds, err := ownerKinds(req.GetOwnerKind())
	if err != nil {
		return nil, err
	}
	page, err := s.app.SearchPractices.Handle(ctx, app.SearchRequest{
		Text: req.GetQ(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		Themes: req.GetTheme(), Sectors: req.GetSector(), TerritoryCodes: req.GetTerritoryCode(), OwnerKinds: kinds,
		OrderBy: req.GetOrderBy(),
	})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.SearchPracticesResponse{Total: int32(page.Total), NextPageToken: page.NextPageToken, Facets: facets(page.Facets)}
	for _, h := range page.Hits {
		resp.Hits = append(resp.Hits, &catalogv1.PracticeHit{Practice: protoconv.Practice(h.Practice), Score: h.Score, Highlights: highlights(h.Highlights)})
	}
	return resp, nil
}

// SearchNeeds implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) SearchNeeds(ctx context.Context, req *catalogv1.SearchNeedsRequest) (*catalogv1.SearchNeedsResponse, error) {
	page, err := s.app.SearchNeeds.Handle(ctx, app.SearchRequest{
		Text: req.GetQ(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		Themes: req.GetTheme(), Sectors: req.GetSector(), TerritoryCodes: req.GetTerritoryCode(),
	})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.SearchNeedsResponse{Total: int32(page.Total), NextPageToken: page.NextPageToken, Facets: facets(page.Facets)}
	for _, h := range page.Hits {
		resp.Hits = append(resp.Hits, &catalogv1.NeedHit{Need: protoconv.Need(h.Need), Score: h.Score, Highlights: highlights(h.Highlights)})
	}
	return resp, nil
}

// ListNeedMatches implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) ListNeedMatches(ctx context.Context, req *catalogv1.ListNeedMatchesRequest) (*catalogv1.ListNeedMatchesResponse, error) {
	matches, err := s.app.ListNeedMatches.Handle(ctx, app.ListNeedMatches{NeedID: req.GetId(), PageSize: req.GetPageSize()})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.ListNeedMatchesResponse{}
	for _, m := range matches {
		resp.Matches = append(resp.Matches, &catalogv1.PracticeMatch{Practice: protoconv.Practice(m.Practice), Score: m.Score, Reasons: protoconv.MatchReasons(m.Reasons)})
	}
	return resp, nil
}

// ListMatchingNeeds implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) ListMatchingNeeds(ctx context.Context, req *catalogv1.ListMatchingNeedsRequest) (*catalogv1.ListMatchingNeedsResponse, error) {
	matches, err := s.app.ListMatchingNeeds.Handle(ctx, app.ListMatchingNeeds{OrganizationID: req.GetOrganizationId(), PageSize: req.GetPageSize()})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.ListMatchingNeedsResponse{}
	for _, m := range matches {
		resp.Matches = append(resp.Matches, &catalogv1.NeedMatch{Need: protoconv.Need(m.Need), Score: m.Score, OfferId: m.OfferID, Reasons: protoconv.MatchReasons(m.Reasons)})
	}
	return resp, nil
}

func facets(in []app.Facet) []*catalogv1.Facet {
	out := make([]*catalogv1.Facet, 0, len(in))
	for _, f := range in {
		m := &catalogv1.Facet{Field: f.Field}
		for _, c := range f.Counts {
			m.Counts = append(m.Counts, &catalogv1.FacetCount{Value: c.Value, Count: int32(c.Count)})
		}
		out = append(out, m)
	}
	return out
}

func highlights(in []app.Highlight) []*catalogv1.Highlight {
	out := make([]*catalogv1.Highlight, 0, len(in))
	for _, h := range in {
		out = append(out, &catalogv1.Highlight{Field: h.Field, Fragments: h.Fragments})
	}
	return out
}
