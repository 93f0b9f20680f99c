package ports

import (
	"context"
	"strings"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/report"
	"github.com/gemella/gemella/services/twinning/internal/protoconv"
	"github.com/gemella/gemella/services/twinning/internal/render"
)

// ReportServer implements twinningv1.ReportServiceServer.
type ReportServer struct {
	twinningv1.UnimplementedReportServiceServer
	reports *app.Reports
}

// NewReportServer wraps the report use cases.
func NewReportServer(r *app.Reports) *ReportServer { return &ReportServer{reports: r} }

// CreateReport implements twinningv1.ReportServiceServer.
func (s *ReportServer) CreateReport(ctx context.Context, req *twinningv1.CreateReportRequest) (*twinningv1.Report, error) {
	kind := protoconv.ReportKindFromProto(req.GetKind())
	if kind == "" {
		return nil, apperr.Invalid("kind", "is required: REPORT_KIND_QUARTERLY or REPORT_KIND_FINAL")
	}
	r, err := s.reports.Create(ctx, app.CreateReport{
		TwinningID: req.GetTwinningId(), Kind: kind, Quarter: strings.TrimSpace(req.GetQuarter()), RequestID: req.GetRequestId(), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.ReportToProto(r), nil
}

// GetReport implements twinningv1.ReportServiceServer.
func (s *ReportServer) GetReport(ctx context.Context, req *twinningv1.GetReportRequest) (*twinningv1.Report, error) {
	r, err := s.reports.Get(ctx, req.GetTwinningId(), req.GetId())
	if err != nil {
		return nil, err
	}
	return protoconv.ReportToProto(r), nil
}

// ListReports implements twinningv1.ReportServiceServer.
func (s *ReportServer) ListReports(ctx context.Context, req *twinningv1.ListReportsRequest) (*twinningv1.ListReportsResponse, error) {
	page, err := s.reports.List(ctx, req.GetTwinningId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &twinningv1.ListReportsResponse{NextPageToken: page.NextPageToken}
	for _, r := range page.Items {
		out.Reports = append(out.Reports, protoconv.ReportToProto(r))
	}
	return out, nil
}

// UpdateReport implements twinningv1.ReportServiceServer.
func (s *ReportServer) UpdateReport(ctx context.Context, req *twinningv1.UpdateReportRequest) (*twinningv1.Report, error) {
	if err := grpcx.Required(req.GetReport() != nil, "report"); err != nil {
		return nil, err
	}
	etag := req.GetEtag()
	if etag == "" {
		etag = req.GetReport().GetEtag()
	}
	r, err := s.reports.Update(ctx, app.UpdateReport{
		TwinningID: req.GetTwinningId(), ID: req.GetReport().GetId(), Etag: grpcx.Etag(ctx, etag),
		Sections: protoconv.ReportSectionsFromProto(req.GetReport().GetSections()),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.ReportToProto(r), nil
}

func (s *ReportServer) move(ctx context.Context, req *twinningv1.TransitionReportRequest, m report.Move) (*twinningv1.Report, error) {
	r, err := s.reports.Move(ctx, app.MoveReport{
		TwinningID: req.GetTwinningId(), ID: req.GetId(), Etag: grpcx.Etag(ctx, req.GetEtag()), Move: m, Reason: req.GetReason(), Actor: actor(ctx),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.ReportToProto(r), nil
}

// SubmitReport implements twinningv1.ReportServiceServer.
func (s *ReportServer) SubmitReport(ctx context.Context, req *twinningv1.TransitionReportRequest) (*twinningv1.Report, error) {
	return s.move(ctx, req, report.MoveSubmit)
}

// ApproveReport implements twinningv1.ReportServiceServer.
func (s *ReportServer) ApproveReport(ctx context.Context, req *twinningv1.TransitionReportRequest) (*twinningv1.Report, error) {
	return s.move(ctx, req, report.MoveApprove)
}

// ReturnReport implements twinningv1.ReportServiceServer.
func (s *ReportServer) ReturnReport(ctx context.Context, req *twinningv1.TransitionReportRequest) (*twinningv1.Report, error) {
	return s.move(ctx, req, report.MoveReturn)
}

// RenderReport implements twinningv1.ReportServiceServer.
func (s *ReportServer) RenderReport(ctx context.Context, req *twinningv1.RenderReportRequest) (*twinningv1.RenderedReport, error) {
	format := strings.ToLower(strings.TrimSpace(req.GetFormat()))
	if format != "" && format != "html" && format != "pdf" {
		return nil, apperr.Invalid("format", "must be html or pdf")
	}
	lang, ok := render.ParseLanguage(strings.ToLower(strings.TrimSpace(req.GetLanguage())))
	if !ok {
		return nil, apperr.Invalid("language", "must be it or en")
	}
	r, err := s.reports.Get(ctx, req.GetTwinningId(), req.GetId())
	if err != nil {
		return nil, err
	}
	if format == "pdf" {
		data, err := render.PDF(r, r.UpdatedAt)
		if err != nil {
			return nil, err
		}
		return &twinningv1.RenderedReport{ContentType: "application/pdf", Filename: render.Filename(r, "pdf"), Data: data}, nil
	}
	// The PDF is the report as filed, in Italian; the HTML is titled in
	// the reader's language.
	data, err := render.HTMLIn(lang, r)
	if err != nil {
		return nil, err
	}
	return &twinningv1.RenderedReport{ContentType: "text/html; charset=utf-8", Filename: render.FilenameIn(lang, r, "html"), Data: data}, nil
}
