package grpcx

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
// error. Errors of an unknown kind become Internal with a generic message:
// their text may carry internals, so it is logged, never sent.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		code, ok := codeOf[ae.Kind]
		if !ok {
			return status.Error(codes.Internal, "internal error")
		}
		// The wrapped cause may carry internals: it goes to the log, not the caller.
		public := *ae
		public.Err = nil
		st := status.New(code, public.Error())
		if len(ae.Violations) > 0 {
			br := &errdetails.BadRequest{}
			for _, v := range ae.Violations {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Rule})
			}
			if withDetails, derr := st.WithDetails(br); derr == nil {
				st = withDetails
			}
		}
		return st.Err()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	return status.Error(codes.Internal, "internal error")
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
