// Package ports exposes the twinning application over gRPC: each method
// turns the request into an app command or query and the result into
// messages, and passes on the context, which carries the caller the auth
// interceptor verified. Errors pass through unchanged: grpcx maps them in
// one place.
package ports

import (
	"context"
	"strings"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/grpcx"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
	"github.com/gemella/gemella/services/twinning/internal/protoconv"
)

// GRPCServer implements twinningv1.TwinningServiceServer.
type GRPCServer struct {
	twinningv1.UnimplementedTwinningServiceServer
	app    app.Application
	search *psearch.Store
}

// NewGRPCServer wraps the application.
func NewGRPCServer(a app.Application) *GRPCServer { return &GRPCServer{app: a} }

// actor is who makes the call, recorded in history, notes and events: the
// member the auth interceptor verified. What they may do is the app's
// policy to decide.
func actor(ctx context.Context) string { return auth.CallerFrom(ctx).Actor() }

func (s *GRPCServer) twinning(t *twinning.Twinning) *twinningv1.Twinning {
	return protoconv.Twinning(t, s.app.Today())
}

// CreateTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) CreateTwinning(ctx context.Context, req *twinningv1.CreateTwinningRequest) (*twinningv1.Twinning, error) {
	if err := grpcx.Required(req.GetTwinning() != nil, "twinning"); err != nil {
		return nil, err
	}
	if err := knownOrigin(req.GetTwinning().GetOrigin()); err != nil {
		return nil, err
	}
	t, err := s.app.CreateTwinning.Handle(ctx, app.CreateTwinning{
		RequestID: req.GetRequestId(), Details: protoconv.Details(req.GetTwinning()), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return s.twinning(t), nil
}

func knownOrigin(o twinningv1.Origin) error {
	if _, known := twinningv1.Origin_name[int32(o)]; !known {
		return apperr.Invalid("origin", "is not a known origin: need, offer or direct")
	}
	return nil
}

// GetTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) GetTwinning(ctx context.Context, req *twinningv1.GetTwinningRequest) (*twinningv1.Twinning, error) {
	t, err := s.app.GetTwinning.Handle(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return s.twinning(t), nil
}

// ListTwinnings implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) ListTwinnings(ctx context.Context, req *twinningv1.ListTwinningsRequest) (*twinningv1.ListTwinningsResponse, error) {
	if _, known := twinningv1.TwinningStatus_name[int32(req.GetStatus())]; !known {
		return nil, apperr.Invalid("status", "is not a known twinning status")
	}
	page, err := s.app.ListTwinnings.Handle(ctx, app.ListTwinnings{
		Filter: twinning.Filter{
			Status: protoconv.StatusFromProto(req.GetStatus()), OrganizationID: req.GetOrganizationId(),
			PracticeID: req.GetPracticeId(), Programme: req.GetProgramme(), TerritoryCode: req.GetTerritoryCode(),
		},
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &twinningv1.ListTwinningsResponse{NextPageToken: page.NextPageToken}
	for _, t := range page.Items {
		resp.Twinnings = append(resp.Twinnings, s.twinning(t))
	}
	return resp, nil
}

// UpdateTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) UpdateTwinning(ctx context.Context, req *twinningv1.UpdateTwinningRequest) (*twinningv1.Twinning, error) {
	if err := grpcx.Required(req.GetTwinning() != nil, "twinning"); err != nil {
		return nil, err
	}
	if err := knownOrigin(req.GetTwinning().GetOrigin()); err != nil {
		return nil, err
	}
	patch, err := protoconv.DetailsPatch(protoconv.Details(req.GetTwinning()), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	t, err := s.app.UpdateTwinning.Handle(ctx, app.UpdateTwinning{
		ID: req.GetTwinning().GetId(), Etag: grpcx.Etag(ctx, req.GetTwinning().GetEtag()), Patch: patch, Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return s.twinning(t), nil
}

func (s *GRPCServer) move(ctx context.Context, req *twinningv1.TransitionTwinningRequest, m twinning.Move) (*twinningv1.Twinning, error) {
	t, err := s.app.MoveTwinning.Handle(ctx, app.MoveTwinning{
		ID: req.GetId(), Etag: grpcx.Etag(ctx, req.GetEtag()), Move: m, Reason: strings.TrimSpace(req.GetReason()), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return s.twinning(t), nil
}

// ProposeTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) ProposeTwinning(ctx context.Context, req *twinningv1.TransitionTwinningRequest) (*twinningv1.Twinning, error) {
	return s.move(ctx, req, twinning.MovePropose)
}

// ApproveTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) ApproveTwinning(ctx context.Context, req *twinningv1.TransitionTwinningRequest) (*twinningv1.Twinning, error) {
	return s.move(ctx, req, twinning.MoveApprove)
}

// ActivateTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) ActivateTwinning(ctx context.Context, req *twinningv1.TransitionTwinningRequest) (*twinningv1.Twinning, error) {
	return s.move(ctx, req, twinning.MoveActivate)
}

// SuspendTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) SuspendTwinning(ctx context.Context, req *twinningv1.TransitionTwinningRequest) (*twinningv1.Twinning, error) {
	return s.move(ctx, req, twinning.MoveSuspend)
}

// ResumeTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) ResumeTwinning(ctx context.Context, req *twinningv1.TransitionTwinningRequest) (*twinningv1.Twinning, error) {
	return s.move(ctx, req, twinning.MoveResume)
}

// CompleteTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) CompleteTwinning(ctx context.Context, req *twinningv1.TransitionTwinningRequest) (*twinningv1.Twinning, error) {
	return s.move(ctx, req, twinning.MoveComplete)
}

// CancelTwinning implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) CancelTwinning(ctx context.Context, req *twinningv1.TransitionTwinningRequest) (*twinningv1.Twinning, error) {
	return s.move(ctx, req, twinning.MoveCancel)
}

// AddTransfer implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) AddTransfer(ctx context.Context, req *twinningv1.AddTransferRequest) (*twinningv1.Transfer, error) {
	if err := grpcx.Required(req.GetTransfer() != nil, "transfer"); err != nil {
		return nil, err
	}
	tr, err := s.app.AddTransfer.Handle(ctx, app.AddTransfer{
		TwinningID: req.GetTwinningId(), RequestID: req.GetRequestId(),
		Transfer: protoconv.NewTransfer(req.GetTransfer()), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Transfer(tr), nil
}

// UpdateTransfer implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) UpdateTransfer(ctx context.Context, req *twinningv1.UpdateTransferRequest) (*twinningv1.Transfer, error) {
	if err := grpcx.Required(req.GetTransfer() != nil, "transfer"); err != nil {
		return nil, err
	}
	patch, err := protoconv.TransferPatch(req)
	if err != nil {
		return nil, err
	}
	tr, err := s.app.UpdateTransfer.Handle(ctx, app.UpdateTransfer{
		TwinningID: req.GetTwinningId(), TransferID: req.GetTransfer().GetId(), Etag: grpcx.Etag(ctx, req.GetEtag()),
		Patch: patch, Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Transfer(tr), nil
}

// LogActivity implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) LogActivity(ctx context.Context, req *twinningv1.LogActivityRequest) (*twinningv1.Activity, error) {
	if err := grpcx.Required(req.GetActivity() != nil, "activity"); err != nil {
		return nil, err
	}
	a, err := s.app.LogActivity.Handle(ctx, app.LogActivity{
		TwinningID: req.GetTwinningId(), RequestID: req.GetRequestId(),
		Activity: protoconv.ActivityFields(req.GetActivity()), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Activity(*a, s.app.Today()), nil
}

// ListActivities implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) ListActivities(ctx context.Context, req *twinningv1.ListActivitiesRequest) (*twinningv1.ListActivitiesResponse, error) {
	page, err := s.app.ListActivities.Handle(ctx, app.ListActivities{
		TwinningID: req.GetTwinningId(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	today := s.app.Today()
	resp := &twinningv1.ListActivitiesResponse{NextPageToken: page.NextPageToken}
	for _, a := range page.Items {
		resp.Activities = append(resp.Activities, protoconv.Activity(a, today))
	}
	return resp, nil
}

// UpdateActivity implements twinningv1.TwinningServiceServer.
func (s *GRPCServer) UpdateActivity(ctx context.Context, req *twinningv1.UpdateActivityRequest) (*twinningv1.Activity, error) {
	if err := grpcx.Required(req.GetActivity() != nil, "activity"); err != nil {
		return nil, err
	}
	patch, err := protoconv.ActivityPatch(protoconv.ActivityFields(req.GetActivity()), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	a, err := s.app.UpdateActivity.Handle(ctx, app.UpdateActivity{
		TwinningID: req.GetTwinningId(), ActivityID: req.GetActivity().GetId(), Patch: patch, Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Activity(*a, s.app.Today()), nil
}
