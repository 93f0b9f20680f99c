package server

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// reportDownloadPath serves a rendered report as the file itself (HTML or
// PDF) with Content-Disposition, where the RenderReport binding answers
// JSON with the bytes in base64.
const reportDownloadPath = "/v1/twinnings/{twinning_id}/reports/{id}/download"

// registerTwinning adds the routes of both services the twinning service
// serves: twinnings and their reports.
func registerTwinning(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	return errors.Join(
		twinningv1.RegisterTwinningServiceHandler(ctx, mux, conn),
		twinningv1.RegisterReportServiceHandler(ctx, mux, conn),
	)
}

// reportRoutes adds the download of a rendered report.
func (s *Server) reportRoutes(mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	client := twinningv1.NewReportServiceClient(conn)
	return s.handlePath(mux, http.MethodGet, reportDownloadPath, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		s.serveReportDownload(w, r, client, params)
	})
}

// serveReportDownload answers GET …/reports/{id}/download?format=pdf|html,
// the HTML titled in ?language=it|en.
func (s *Server) serveReportDownload(w http.ResponseWriter, r *http.Request, client twinningv1.ReportServiceClient, params map[string]string) {
	ctx, cancel := context.WithTimeout(withAuthorization(r), 30*time.Second)
	defer cancel()
	out, err := client.RenderReport(ctx, &twinningv1.RenderReportRequest{
		TwinningId: params["twinning_id"], Id: params["id"], Format: r.URL.Query().Get("format"), Language: r.URL.Query().Get("language"),
	})
	if err != nil {
		s.handleError(r.Context(), nil, nil, w, r, err)
		return
	}
	w.Header().Set("Content-Type", out.GetContentType())
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": out.GetFilename()}))
	w.Header().Set("Content-Length", strconv.Itoa(len(out.GetData())))
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(out.GetData())
}
