package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/gemella/gemella/gateway/portal"
	"github.com/gemella/gemella/services/platform/apperr"
)

// This file is the one place where the gateway turns failures into HTTP
// answers: gRPC statuses from the backends, routing misses, bad input,
// oversized bodies, rate limits and panics all leave through writeStatus
// with one body, a google.rpc.Status in JSON:
//
//	{"code": 3, "message": "invalid request: title is required",
//	 "details": [
//	   {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "FIELD_REQUIRED", "domain": "gemella.eu"},
//	   {"@type": "type.googleapis.com/google.rpc.BadRequest", "field_violations": [
//	     {"field": "title", "description": "is required", "reason": "FIELD_REQUIRED"}]},
//	   {"@type": "type.googleapis.com/google.rpc.RequestInfo", "request_id": "…"}]}
//
// code is the gRPC code (google.rpc.Code); the HTTP status says the same in
// HTTP's terms. Every body has an ErrorInfo with a stable reason (the
// registry is apperr.Reasons) and a RequestInfo with the X-Request-Id; a 400
// has a BadRequest naming each bad field, an illegal state move a
// PreconditionFailure listing the allowed moves, a 429 or 503 a RetryInfo
// (and the Retry-After header).

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

// defaultReason is the reason of a status that carries no ErrorInfo (one
// raised by grpc-gateway, gRPC itself or a service's interceptor).
func defaultReason(c codes.Code) apperr.Reason {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return apperr.ReasonFieldInvalid
	case codes.NotFound:
		return apperr.ReasonNotFound
	case codes.AlreadyExists:
		return apperr.ReasonAlreadyExists
	case codes.FailedPrecondition:
		return apperr.ReasonFailedPrecondition
	case codes.Aborted:
		return apperr.ReasonStaleEtag
	case codes.PermissionDenied:
		return apperr.ReasonPermissionDenied
	case codes.Unauthenticated:
		return apperr.ReasonAuthenticationRequired
	case codes.ResourceExhausted:
		return apperr.ReasonRateLimited
	case codes.Unavailable:
		return apperr.ReasonServiceUnavailable
	case codes.DeadlineExceeded:
		return apperr.ReasonDeadlineExceeded
	case codes.Unimplemented:
		return apperr.ReasonNotImplemented
	case codes.Canceled:
		return apperr.ReasonRequestCancelled
	}
	return apperr.ReasonInternal
}

// publicMessage is what the client is told. Server-side failures (5xx) carry
// addresses, driver errors and the like in their messages, so the client gets
// a fixed sentence and the real message goes to the log.
func publicMessage(c codes.Code, httpStatus int, msg string) string {
	if httpStatus < http.StatusInternalServerError {
		return cleanMessage(msg)
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

var protoPosition = regexp.MustCompile(`proto: (\(line \d+:\d+\): )?`)

// cleanMessage drops the internals that grpc-gateway and protojson put in
// their messages ("proto: (line 1:62): …") and keeps it valid text.
func cleanMessage(msg string) string {
	return safeText(protoPosition.ReplaceAllString(msg, ""))
}

// DefaultRetryAfter is the Retry-After of a 503 whose status names no delay.
const DefaultRetryAfter = time.Second

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
			req := sessionFrom(ctx)
			clearSessionCookies(w, req)
		}
	}
	s.writeStatus(w, r, httpStatus, restFieldNames(s.routeOf(r), st))
}

// restFieldNames names a service's field violations as the REST body
// does: on a route whose body is one field of the request (PATCH
// /v1/practices/{id} takes the practice itself), the service's
// "practice.title" is the body's "title". The status is otherwise the
// same.
func restFieldNames(rt *route, st *status.Status) *status.Status {
	if rt == nil || rt.body == "" || rt.body == "*" {
		return st
	}
	prefix := rt.body + "."
	p := st.Proto()
	renamed := false
	for i, d := range p.GetDetails() {
		var br errdetails.BadRequest
		if d.MessageIs(&br) {
			if err := d.UnmarshalTo(&br); err != nil {
				continue
			}
			changed := false
			for _, fv := range br.GetFieldViolations() {
				if name, ok := strings.CutPrefix(fv.GetField(), prefix); ok && name != "" {
					fv.Field, changed = name, true
				}
			}
			if changed {
				if a, err := anypb.New(&br); err == nil {
					p.Details[i], renamed = a, true
				}
			}
		}
	}
	if !renamed {
		return st
	}
	return status.FromProto(p)
}

// handleRoutingError answers requests that match no route (404) or match a
// route with another method (405).
func (s *Server) handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusNotFound:
		s.writeError(w, r, httpStatus, codes.NotFound, apperr.ReasonRouteNotFound, "no route for "+r.URL.Path)
	case http.StatusMethodNotAllowed:
		if allow := s.methods.allowed(r.URL.Path); allow != "" {
			w.Header().Set("Allow", allow)
		}
		s.writeError(w, r, httpStatus, codes.Unimplemented, apperr.ReasonMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
	case http.StatusBadRequest:
		s.writeViolations(w, r, violations{{field: "path", reason: apperr.ReasonFieldInvalid, rule: "is malformed"}})
	default:
		s.writeError(w, r, http.StatusInternalServerError, codes.Internal, apperr.ReasonInternal, "internal error")
	}
}

func (s *Server) writeBodyTooLarge(w http.ResponseWriter, r *http.Request) {
	st := status.New(codes.InvalidArgument, "the request body is larger than the limit of "+strconv.FormatInt(s.cfg.MaxBodyBytes, 10)+" bytes")
	st, _ = st.WithDetails(
		&errdetails.ErrorInfo{Reason: string(apperr.ReasonBodyTooLarge), Domain: apperr.Domain,
			Metadata: map[string]string{"max_bytes": strconv.FormatInt(s.cfg.MaxBodyBytes, 10)}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
			Field: "body", Reason: string(apperr.ReasonBodyTooLarge),
			Description: "must be at most " + strconv.FormatInt(s.cfg.MaxBodyBytes, 10) + " bytes",
		}}})
	s.writeStatus(w, r, http.StatusRequestEntityTooLarge, st)
}

// writeError writes an error the gateway raises itself.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, httpStatus int, c codes.Code, reason apperr.Reason, message string) {
	st := status.New(c, message)
	st, _ = st.WithDetails(&errdetails.ErrorInfo{Reason: string(reason), Domain: apperr.Domain})
	s.writeStatus(w, r, httpStatus, st)
}

// writeRetryable writes a 429 or 503 the gateway raises itself, with its
// RetryInfo and Retry-After.
func (s *Server) writeRetryable(w http.ResponseWriter, r *http.Request, httpStatus int, c codes.Code, reason apperr.Reason, message string, after time.Duration) {
	st := status.New(c, message)
	st, _ = st.WithDetails(&errdetails.ErrorInfo{Reason: string(reason), Domain: apperr.Domain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(after)})
	s.writeStatus(w, r, httpStatus, st)
}

// writeViolations answers 400 for bad input that the gateway found.
func (s *Server) writeViolations(w http.ResponseWriter, r *http.Request, v violations) {
	br := &errdetails.BadRequest{}
	reason := apperr.ReasonFieldRequired
	var parts []string
	for i, fv := range v {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: fv.field, Description: fv.rule, Reason: string(fv.reason),
		})
		if reason == apperr.ReasonFieldRequired {
			reason = fv.reason
		}
		if i < 3 {
			parts = append(parts, fv.field+" "+fv.rule)
		}
	}
	msg := "invalid request: " + strings.Join(parts, "; ")
	if len(v) > 3 {
		msg += "; and " + strconv.Itoa(len(v)-3) + " more"
	}
	st := status.New(codes.InvalidArgument, msg)
	st, _ = st.WithDetails(&errdetails.ErrorInfo{Reason: string(reason), Domain: apperr.Domain}, br)
	s.writeStatus(w, r, http.StatusBadRequest, st)
}

// errorJSON writes the error body with the proto field names, as the rest
// of the API does.
var errorJSON = protojson.MarshalOptions{UseProtoNames: true}

// writeStatus writes the one error body of the gateway: st as a
// google.rpc.Status, with the details a client may see.
func (s *Server) writeStatus(w http.ResponseWriter, r *http.Request, httpStatus int, st *status.Status) {
	body := publicStatus(st, httpStatus, requestIDFrom(r.Context()), r.Header.Get("Accept-Language"))
	h := w.Header()
	// A failed gRPC call may already have set headers for a success answer.
	h.Del("Trailer")
	h.Del("Transfer-Encoding")
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Cache-Control")
	for k := range h {
		if strings.HasPrefix(k, "Grpc-Metadata-") {
			h.Del(k)
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if (httpStatus == http.StatusTooManyRequests || httpStatus == http.StatusServiceUnavailable) && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(body)))
	}
	out, err := errorJSON.Marshal(body)
	if err != nil {
		// Only text that is not valid UTF-8 could do this; safeText
		// prevents it, but the client still gets the shape.
		s.logger.ErrorContext(r.Context(), "encode error body", slog.String("error", err.Error()))
		out, _ = errorJSON.Marshal(&spb.Status{Code: int32(codes.Internal), Message: "internal error"})
	}
	w.WriteHeader(httpStatus)
	if _, err := w.Write(append(out, '\n')); err != nil {
		s.logger.DebugContext(r.Context(), "write error body", slog.String("error", err.Error()))
	}
}

// publicStatus keeps the details a client may see, adds an ErrorInfo when
// there is none, the request id, and the error in words of the language
// acceptLanguage asks for, if the portal speaks it (LocalizedMessage, on
// the status and on each field violation; see portal.LocalizedError).
func publicStatus(st *status.Status, httpStatus int, requestID, acceptLanguage string) *spb.Status {
	var localized *errdetails.LocalizedMessage
	var fieldWords []*errdetails.LocalizedMessage
	if lang, ok := portal.APIErrorLanguage(acceptLanguage); ok {
		localized, fieldWords = portal.LocalizedError(st, lang)
	}
	in := st.Proto()
	out := &spb.Status{Code: in.GetCode(), Message: publicMessage(st.Code(), httpStatus, in.GetMessage())}
	serverSide := httpStatus >= http.StatusInternalServerError
	hasInfo, hasBadRequest := false, false
	var details []proto.Message
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if hasInfo {
				continue
			}
			hasInfo = true
			details = append(details, d)
		case *errdetails.RetryInfo:
			details = append(details, d)
		case *errdetails.BadRequest:
			if serverSide {
				continue
			}
			hasBadRequest = len(d.GetFieldViolations()) > 0
			for _, fv := range d.GetFieldViolations() {
				fv.Field, fv.Description = safeText(fv.GetField()), safeText(fv.GetDescription())
				if len(fieldWords) > 0 {
					fv.LocalizedMessage, fieldWords = fieldWords[0], fieldWords[1:]
				}
			}
			details = append(details, d)
		case *errdetails.LocalizedMessage:
			if !serverSide && localized == nil {
				details = append(details, d)
			}
		case *errdetails.PreconditionFailure, *errdetails.ResourceInfo, *errdetails.QuotaFailure, *errdetails.Help:
			if !serverSide {
				details = append(details, d.(proto.Message))
			}
		}
		// DebugInfo and anything unknown stay inside.
	}
	if !hasInfo {
		details = append([]proto.Message{&errdetails.ErrorInfo{Reason: string(defaultReason(st.Code())), Domain: apperr.Domain}}, details...)
	}
	if httpStatus == http.StatusBadRequest && !hasBadRequest {
		// Every 400 names a field; a status raised outside our own checks
		// (grpc-gateway, an interceptor) may name it in its message only.
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
			Field: fieldFromMessage(in.GetMessage()), Description: out.Message, Reason: string(apperr.ReasonFieldInvalid),
		}}})
	}
	if localized != nil {
		details = append(details, localized)
	}
	if requestID != "" {
		details = append(details, &errdetails.RequestInfo{RequestId: requestID})
	}
	for _, d := range details {
		if a, err := anypb.New(d); err == nil {
			out.Details = append(out.Details, a)
		}
	}
	return out
}

var parameterInMessage = regexp.MustCompile(`parameter:? ([A-Za-z_][A-Za-z0-9_.]*)`)

// fieldFromMessage finds the field a grpc-gateway message names, e.g.
// "type mismatch, parameter: id, error: …".
func fieldFromMessage(msg string) string {
	if m := parameterInMessage.FindStringSubmatch(msg); m != nil {
		return apiParamName(m[1])
	}
	return "request"
}

func retryAfterSeconds(st *spb.Status) int {
	for _, a := range st.GetDetails() {
		var ri errdetails.RetryInfo
		if a.MessageIs(&ri) && a.UnmarshalTo(&ri) == nil {
			return max(1, int(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds())))
		}
	}
	return int(DefaultRetryAfter.Seconds())
}
