package grpcx

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/apperr"
)

func TestToStatus(t *testing.T) {
	var v apperr.Violations
	v.Add("title", "is required")
	v.Add("models[0].code", "must be one to three capital letters")
	cases := []struct {
		name string
		err  error
		code codes.Code
	}{
		{"invalid", v.Err(), codes.InvalidArgument},
		{"not found wrapped", fmt.Errorf("load: %w", apperr.NotFound("practice %q not found", "x")), codes.NotFound},
		{"exists", apperr.AlreadyExists("slug taken"), codes.AlreadyExists},
		{"precondition", apperr.FailedPrecondition("practice is draft"), codes.FailedPrecondition},
		{"aborted", apperr.Aborted("stale etag"), codes.Aborted},
		{"denied", apperr.PermissionDenied("no"), codes.PermissionDenied},
		{"unauth", apperr.Unauthenticated("no token"), codes.Unauthenticated},
		{"unavailable", apperr.Unavailable(errors.New("dial tcp 10.0.0.1: secret"), "catalog unavailable"), codes.Unavailable},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{"plain", errors.New("mongo: connection string secret"), codes.Internal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _ := status.FromError(ToStatus(c.err))
			if st.Code() != c.code {
				t.Fatalf("code = %v, want %v", st.Code(), c.code)
			}
			if c.code == codes.Internal && st.Message() != "internal error" {
				t.Fatalf("internal message leaked: %q", st.Message())
			}
			if c.code == codes.Unavailable && st.Message() != "catalog unavailable" {
				t.Fatalf("cause leaked: %q", st.Message())
			}
		})
	}
	st, _ := status.FromError(ToStatus(v.Err()))
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.FieldViolations {
				fields = append(fields, fv.Field)
			}
		}
	}
	if len(fields) != 2 || fields[0] != "title" || fields[1] != "models[0].code" {
		t.Fatalf("field violations = %v", fields)
	}
}

func TestFromStatusKeepsMeaning(t *testing.T) {
	if k := apperr.KindOf(FromStatus(status.Error(codes.Unavailable, "down"), "catalog")); k != apperr.KindUnavailable {
		t.Fatalf("kind = %v", k)
	}
	if k := apperr.KindOf(FromStatus(status.Error(codes.NotFound, "no"), "practice")); k != apperr.KindNotFound {
		t.Fatalf("kind = %v", k)
	}
}
