// Package ports exposes the catalog application over gRPC: each method
// turns the request into an app command or query and the result into
// messages. Errors pass through unchanged: grpcx maps them in one place.
package ports

import (
	"context"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/grpcx"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// GRPCServer implements catalogv1.CatalogServiceServer.
type GRPCServer struct {
	catalogv1.UnimplementedCatalogServiceServer
	app  app.Application
	orgs *psearch.Store
}

// NewGRPCServer wraps the application.
func NewGRPCServer(a app.Application) *GRPCServer { return &GRPCServer{app: a} }

// actor is who makes the call, recorded in events and history: the member
// the auth interceptor verified. What they may do is the app's policy to
// decide, from the same context.
func actor(ctx context.Context) string { return auth.CallerFrom(ctx).Actor() }

// CreateOrganization implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) CreateOrganization(ctx context.Context, req *catalogv1.CreateOrganizationRequest) (*catalogv1.Organization, error) {
	o, err := s.app.CreateOrganization.Handle(ctx, app.CreateOrganization{
		RequestID: req.GetRequestId(), Details: protoconv.OrganizationDetails(req.GetOrganization()), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Organization(o), nil
}

// GetOrganization implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) GetOrganization(ctx context.Context, req *catalogv1.GetOrganizationRequest) (*catalogv1.Organization, error) {
	o, err := s.app.GetOrganization.Handle(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return protoconv.Organization(o), nil
}

// ListOrganizations implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) ListOrganizations(ctx context.Context, req *catalogv1.ListOrganizationsRequest) (*catalogv1.ListOrganizationsResponse, error) {
	if _, known := catalogv1.OrganizationKind_name[int32(req.GetKind())]; !known {
		return nil, apperr.Invalid("kind", "is not a known organisation kind")
	}
	page, err := s.app.ListOrganizations.Handle(ctx, app.ListOrganizations{
		Filter:   organization.Filter{Kind: protoconv.KindFromProto(req.GetKind()), TerritoryCode: req.GetTerritoryCode(), ParentID: req.GetParentId()},
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.ListOrganizationsResponse{NextPageToken: page.NextPageToken}
	for _, o := range page.Items {
		resp.Organizations = append(resp.Organizations, protoconv.Organization(o))
	}
	return resp, nil
}

// UpdateOrganization implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) UpdateOrganization(ctx context.Context, req *catalogv1.UpdateOrganizationRequest) (*catalogv1.Organization, error) {
	if err := grpcx.Required(req.GetOrganization() != nil, "organization"); err != nil {
		return nil, err
	}
	patch, err := protoconv.DetailsPatch(protoconv.OrganizationDetails(req.GetOrganization()), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	o, err := s.app.UpdateOrganization.Handle(ctx, app.UpdateOrganization{
		ID: req.GetOrganization().GetId(), Etag: grpcx.Etag(ctx, req.GetOrganization().GetEtag()), Patch: patch, Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Organization(o), nil
}

// CreatePractice implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) CreatePractice(ctx context.Context, req *catalogv1.CreatePracticeRequest) (*catalogv1.Practice, error) {
	p, err := s.app.CreatePractice.Handle(ctx, app.CreatePractice{
		RequestID: req.GetRequestId(), Content: protoconv.Content(req.GetPractice()), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Practice(p), nil
}

// GetPractice implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) GetPractice(ctx context.Context, req *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	p, err := s.app.GetPractice.Handle(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return protoconv.Practice(p), nil
}

// ListPractices implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) ListPractices(ctx context.Context, req *catalogv1.ListPracticesRequest) (*catalogv1.ListPracticesResponse, error) {
	if _, known := catalogv1.PracticeStatus_name[int32(req.GetStatus())]; !known {
		return nil, apperr.Invalid("status", "is not a known practice status")
	}
	order, err := practice.ParseOrder("order_by", req.GetOrderBy())
	if err != nil {
		return nil, err
	}
	page, err := s.app.ListPractices.Handle(ctx, app.ListPractices{
		Filter: practice.Filter{
			Theme: req.GetTheme(), Sector: req.GetSector(), TerritoryCode: req.GetTerritoryCode(),
			OwnerOrganizationID: req.GetOwnerOrganizationId(), Status: protoconv.StatusFromProto(req.GetStatus()),
			CreatedBy: req.GetCreatedBy(), Order: order,
		},
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.ListPracticesResponse{NextPageToken: page.NextPageToken}
	for _, p := range page.Items {
		resp.Practices = append(resp.Practices, protoconv.Practice(p))
	}
	return resp, nil
}

// UpdatePractice implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) UpdatePractice(ctx context.Context, req *catalogv1.UpdatePracticeRequest) (*catalogv1.Practice, error) {
	if err := grpcx.Required(req.GetPractice() != nil, "practice"); err != nil {
		return nil, err
	}
	patch, err := protoconv.ContentPatch(protoconv.Content(req.GetPractice()), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	p, err := s.app.UpdatePractice.Handle(ctx, app.UpdatePractice{
		ID: req.GetPractice().GetId(), Etag: grpcx.Etag(ctx, req.GetPractice().GetEtag()), Patch: patch, Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Practice(p), nil
}

func (s *GRPCServer) move(ctx context.Context, id, tag string, m practice.Move, reason string) (*catalogv1.Practice, error) {
	p, err := s.app.MovePractice.Handle(ctx, app.MovePractice{ID: id, Etag: grpcx.Etag(ctx, tag), Move: m, Reason: reason, Actor: actor(ctx)})
	if err != nil {
		return nil, err
	}
	return protoconv.Practice(p), nil
}

// SubmitPractice implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) SubmitPractice(ctx context.Context, req *catalogv1.SubmitPracticeRequest) (*catalogv1.Practice, error) {
	return s.move(ctx, req.GetId(), req.GetEtag(), practice.MoveSubmit, "")
}

// PublishPractice implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) PublishPractice(ctx context.Context, req *catalogv1.PublishPracticeRequest) (*catalogv1.Practice, error) {
	return s.move(ctx, req.GetId(), req.GetEtag(), practice.MovePublish, "")
}

// ArchivePractice implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) ArchivePractice(ctx context.Context, req *catalogv1.ArchivePracticeRequest) (*catalogv1.Practice, error) {
	return s.move(ctx, req.GetId(), req.GetEtag(), practice.MoveArchive, req.GetReason())
}

// RevisePractice implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) RevisePractice(ctx context.Context, req *catalogv1.RevisePracticeRequest) (*catalogv1.Practice, error) {
	if err := grpcx.Required(req.GetPractice() != nil, "practice"); err != nil {
		return nil, err
	}
	patch, err := protoconv.ContentPatch(protoconv.Content(req.GetPractice()), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	p, err := s.app.RevisePractice.Handle(ctx, app.RevisePractice{
		ID: req.GetPractice().GetId(), Etag: grpcx.Etag(ctx, req.GetPractice().GetEtag()), Patch: patch, Note: req.GetNote(), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Practice(p), nil
}

// ListPracticeRevisions implements catalogv1.CatalogServiceServer.
func (s *GRPCServer) ListPracticeRevisions(ctx context.Context, req *catalogv1.ListPracticeRevisionsRequest) (*catalogv1.ListPracticeRevisionsResponse, error) {
	page, err := s.app.ListPracticeRevisions.Handle(ctx, app.ListPracticeRevisions{ID: req.GetId(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.ListPracticeRevisionsResponse{NextPageToken: page.NextPageToken}
	for _, r := range page.Items {
		resp.Revisions = append(resp.Revisions, protoconv.Revision(r, req.GetId()))
	}
	return resp, nil
}
