package grpcx

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/gemella/gemella/services/platform/apperr"
)

// codeOf is the one table from error kinds to gRPC codes.
var codeOf = map[apperr.Kind]codes.Code{
	apperr.KindInvalidArgument:    codes.InvalidArgument,
	apperr.KindNotFound:           codes.NotFound,
	apperr.KindAlreadyExists:      codes.AlreadyExists,
	apperr.KindFailedPrecondition: codes.FailedPrecondition,
	apperr.KindAborted:            codes.Aborted,
	apperr.KindPermissionDenied:   codes.PermissionDenied,
	apperr.KindUnauthenticated:    codes.Unauthenticated,
	apperr.KindUnavailable:        codes.Unavailable,
	apperr.KindResourceExhausted:  codes.ResourceExhausted,
}

// ToStatus turns an error of the app or domain layer into a gRPC status
// error with the details a client needs to act on it: an ErrorInfo with the
// stable reason (domain apperr.Domain) always, a BadRequest listing every
// bad field, a PreconditionFailure for an illegal state move and a
// RetryInfo when a retry can help. Errors of an unknown kind become
// Internal with a generic message: their text may carry internals, so it is
// logged, never sent.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	// An app error first: it may wrap a downstream status, whose message is
	// not this service's answer.
	var ae *apperr.Error
	if errors.As(err, &ae) {
		code, ok := codeOf[ae.Kind]
		if !ok {
			return internalStatus()
		}
		// The wrapped cause may carry internals: it goes to the log, not the caller.
		public := *ae
		public.Err = nil
		st := status.New(code, public.Error())
		if withDetails, derr := st.WithDetails(detailsOf(ae, code)...); derr == nil {
			st = withDetails
		}
		return st.Err()
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return withReason(codes.DeadlineExceeded, "deadline exceeded", apperr.ReasonDeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return withReason(codes.Canceled, "request canceled", apperr.ReasonRequestCancelled)
	}
	return internalStatus()
}

// DefaultRetryDelay is what RetryInfo says for an Unavailable error that
// names no delay of its own.
const DefaultRetryDelay = time.Second

func detailsOf(ae *apperr.Error, code codes.Code) []protoadapt.MessageV1 {
	info := &errdetails.ErrorInfo{Reason: string(apperr.ReasonOf(ae)), Domain: apperr.Domain}
	for k, v := range ae.Metadata {
		if info.Metadata == nil {
			info.Metadata = map[string]string{}
		}
		info.Metadata[k] = v
	}
	if ae.Unlisted > 0 {
		if info.Metadata == nil {
			info.Metadata = map[string]string{}
		}
		info.Metadata["unlisted_violations"] = strconv.Itoa(ae.Unlisted)
	}
	out := []protoadapt.MessageV1{info}
	if len(ae.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range ae.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Rule, Reason: string(apperr.ReasonOfViolation(v)),
			})
		}
		out = append(out, br)
	}
	if m := ae.Move; m != nil {
		if info.Metadata == nil {
			info.Metadata = map[string]string{}
		}
		info.Metadata["state"] = m.From
		info.Metadata["move"] = m.Asked
		info.Metadata["allowed_moves"] = strings.Join(m.Allowed, ",")
		pf := &errdetails.PreconditionFailure{}
		for _, allowed := range m.Allowed {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
				Type:        "ALLOWED_MOVE",
				Subject:     m.Subject,
				Description: allowed,
			})
		}
		if len(m.Allowed) == 0 {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
				Type: "STATE", Subject: m.Subject, Description: m.From + ": no move is allowed from this state",
			})
		}
		out = append(out, pf)
	}
	delay := ae.RetryAfter
	if delay == 0 && code == codes.Unavailable {
		delay = DefaultRetryDelay
	}
	if delay > 0 && (code == codes.Unavailable || code == codes.ResourceExhausted || code == codes.Aborted) {
		out = append(out, &errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	}
	return out
}

// withReason is a status error with only an ErrorInfo detail.
func withReason(code codes.Code, msg string, reason apperr.Reason) error {
	st := status.New(code, msg)
	if withDetails, err := st.WithDetails(&errdetails.ErrorInfo{Reason: string(reason), Domain: apperr.Domain}); err == nil {
		st = withDetails
	}
	return st.Err()
}

func internalStatus() error {
	return withReason(codes.Internal, "internal error", apperr.ReasonInternal)
}

// ReasonOfStatus is the reason in a status's ErrorInfo, or "" when it has none.
func ReasonOfStatus(st *status.Status) apperr.Reason {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return apperr.Reason(info.GetReason())
		}
	}
	return ""
}

// FromStatus turns an error returned by another service's gRPC client into
// an app error, so that a downstream NotFound stays NotFound and a
// downstream outage becomes Unavailable rather than Internal.
func FromStatus(err error, what string) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return apperr.Unavailable(err, "%s unreachable", what)
	}
	e := fromStatus(st, err, what)
	switch st.Code() {
	case codes.NotFound, codes.FailedPrecondition, codes.PermissionDenied, codes.Unauthenticated:
		if ae, ok := e.(*apperr.Error); ok && ae.Reason == "" {
			// The downstream service's reason stays the reason.
			ae.Reason = ReasonOfStatus(st)
		}
	}
	return e
}

func fromStatus(st *status.Status, err error, what string) error {
	switch st.Code() {
	case codes.NotFound:
		return apperr.NotFound("%s: %s", what, st.Message())
	case codes.InvalidArgument:
		return apperr.Invalid(what, st.Message())
	case codes.FailedPrecondition:
		return apperr.FailedPrecondition("%s: %s", what, st.Message())
	case codes.PermissionDenied:
		return apperr.PermissionDenied("%s: %s", what, st.Message())
	case codes.Unauthenticated:
		return apperr.Unauthenticated("%s: %s", what, st.Message())
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.ResourceExhausted:
		return apperr.Unavailable(err, "%s unavailable", what)
	}
	return err
}
