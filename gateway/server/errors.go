package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file is the one place where the gateway turns failures into HTTP
// answers: gRPC statuses from the backends, routing misses, oversized and
// malformed bodies, and panics all leave through writeError with one JSON shape.

// errorBody is the JSON every failed request is answered with.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	// Code is the HTTP status code, repeated for clients that only see the body.
	Code int `json:"code"`
	// Status is the canonical gRPC code name, e.g. "INVALID_ARGUMENT".
	Status          string           `json:"status"`
	Message         string           `json:"message"`
	FieldViolations []fieldViolation `json:"field_violations,omitempty"`
	RequestID       string           `json:"request_id,omitempty"`
}

type fieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// httpStatusFromCode is the gateway's mapping of gRPC codes to HTTP statuses.
// It differs from grpc-gateway's default where our API conventions say so:
// FAILED_PRECONDITION (an illegal state move) is a 409 and ABORTED (a stale
// etag) is a 412.
func httpStatusFromCode(c codes.Code) int {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.FailedPrecondition:
		return http.StatusConflict
	case codes.Aborted:
		return http.StatusPreconditionFailed
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Canceled:
		return statusClientClosedRequest
	default:
		return http.StatusInternalServerError
	}
}

// statusClientClosedRequest is the non-standard 499 that proxies use for a
// client that went away before the answer was ready.
const statusClientClosedRequest = 499

// publicMessage is what the client is told. Server-side failures (5xx) carry
// addresses, driver errors and the like in their messages, so the client gets
// a fixed sentence and the real message goes to the log.
func publicMessage(c codes.Code, httpStatus int, msg string) string {
	if httpStatus < http.StatusInternalServerError {
		return msg
	}
	switch c {
	case codes.Unavailable:
		return "the service is temporarily unavailable; retry later"
	case codes.DeadlineExceeded:
		return "the request took too long"
	case codes.Unimplemented:
		return "not implemented"
	default:
		return "internal error"
	}
}

// handleError is the grpc-gateway error handler: it receives backend statuses
// and the errors grpc-gateway raises itself (undecodable body, bad path or
// query parameter).
func (s *Server) handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if bodyLimitExceeded(ctx) {
		// grpc-gateway flattens the decoder's *http.MaxBytesError into an
		// INVALID_ARGUMENT message, so the limit reader records it instead.
		s.writeBodyTooLarge(w, r)
		return
	}

	httpStatus := 0
	var withHTTPStatus *runtime.HTTPStatusError
	if errors.As(err, &withHTTPStatus) {
		httpStatus = withHTTPStatus.HTTPStatus
		err = withHTTPStatus.Err
	}
	st, isStatus := status.FromError(err)
	if !isStatus && httpStatus == http.StatusBadRequest {
		// grpc-gateway's own complaints about the request, e.g. a malformed
		// escape in the path.
		st = status.New(codes.InvalidArgument, err.Error())
	}
	if httpStatus == 0 {
		httpStatus = httpStatusFromCode(st.Code())
	}
	if httpStatus >= http.StatusInternalServerError {
		s.logger.ErrorContext(ctx, "request failed",
			slog.String("request_id", requestIDFrom(ctx)),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("grpc_code", st.Code().String()),
			slog.String("error", st.Message()))
	}
	if st.Code() == codes.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gemella"`)
		if method, ok := runtime.RPCMethod(ctx); ok && method == deleteSessionMethod {
			// Logging out with a token that is no longer valid: the
			// session is over either way, so the browser drops the cookies.
			req, _ := ctx.Value(sessionContextKey{}).(sessionRequest)
			clearSessionCookies(w, req)
		}
	}
	s.writeError(w, r, httpStatus, st.Code(), publicMessage(st.Code(), httpStatus, st.Message()), fieldViolations(st))
}

// handleRoutingError answers requests that match no route (404) or match a
// route with another method (405).
func (s *Server) handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusNotFound:
		s.writeError(w, r, httpStatus, codes.NotFound, "no route for "+r.URL.Path, nil)
	case http.StatusMethodNotAllowed:
		s.writeError(w, r, httpStatus, codes.Unimplemented, "method "+r.Method+" is not allowed on "+r.URL.Path, nil)
	case http.StatusBadRequest:
		s.writeError(w, r, httpStatus, codes.InvalidArgument, "malformed request path", nil)
	default:
		s.writeError(w, r, http.StatusInternalServerError, codes.Internal, "internal error", nil)
	}
}

func (s *Server) writeBodyTooLarge(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, http.StatusRequestEntityTooLarge, codes.InvalidArgument,
		"the request body is larger than the limit of "+strconv.FormatInt(s.cfg.MaxBodyBytes, 10)+" bytes", nil)
}

// writeError writes the one error shape of the gateway.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, httpStatus int, c codes.Code, message string, violations []fieldViolation) {
	body := errorBody{Error: errorDetail{
		Code:            httpStatus,
		Status:          code.Code(c).String(),
		Message:         message,
		FieldViolations: violations,
		RequestID:       requestIDFrom(r.Context()),
	}}
	h := w.Header()
	// A failed gRPC call may already have set headers for a success answer.
	h.Del("Trailer")
	h.Del("Transfer-Encoding")
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		s.logger.DebugContext(r.Context(), "write error body", slog.String("error", err.Error()))
	}
}

// fieldViolations collects the google.rpc.BadRequest details of a status.
func fieldViolations(st *status.Status) []fieldViolation {
	var out []fieldViolation
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			out = append(out, fieldViolation{Field: v.GetField(), Description: v.GetDescription()})
		}
	}
	return out
}
