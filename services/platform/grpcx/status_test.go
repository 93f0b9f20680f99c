package grpcx

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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

// The details a client acts on: the reason always, the allowed moves of an
// illegal state move, when to retry, and the reason of each bad field.
func TestToStatusDetails(t *testing.T) {
	details := func(err error) (info *errdetails.ErrorInfo, pf *errdetails.PreconditionFailure, retry *errdetails.RetryInfo, br *errdetails.BadRequest) {
		st, _ := status.FromError(ToStatus(err))
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				info = d
			case *errdetails.PreconditionFailure:
				pf = d
			case *errdetails.RetryInfo:
				retry = d
			case *errdetails.BadRequest:
				br = d
			}
		}
		return
	}

	info, pf, _, _ := details(apperr.FailedPrecondition("practice p1 is DRAFT").WithMove("practices/p1", "DRAFT", "publish", "submit", "archive"))
	if info.GetReason() != "ILLEGAL_STATE_MOVE" || info.GetDomain() != apperr.Domain || info.GetMetadata()["allowed_moves"] != "submit,archive" {
		t.Errorf("ErrorInfo = %v", info)
	}
	if len(pf.GetViolations()) != 2 || pf.GetViolations()[0].GetDescription() != "submit" || pf.GetViolations()[1].GetSubject() != "practices/p1" {
		t.Errorf("PreconditionFailure = %v", pf)
	}

	info, _, retry, _ := details(apperr.ResourceExhausted("slow down").WithReason(apperr.ReasonLoginThrottled).WithRetryAfter(7 * time.Second))
	if info.GetReason() != "LOGIN_THROTTLED" || retry.GetRetryDelay().AsDuration() != 7*time.Second {
		t.Errorf("ErrorInfo %v, RetryInfo %v", info, retry)
	}
	if _, _, retry, _ := details(apperr.Unavailable(errors.New("x"), "down")); retry.GetRetryDelay().AsDuration() != DefaultRetryDelay {
		t.Errorf("Unavailable RetryInfo = %v", retry)
	}

	var v apperr.Violations
	v.Add("title", "is required")
	v.AddReason("summary", apperr.ReasonFieldControlCharacter, "must not contain control characters")
	info, _, _, br := details(v.Err())
	if info.GetReason() != "FIELD_CONTROL_CHARACTER" || br.GetFieldViolations()[0].GetReason() != "FIELD_REQUIRED" || br.GetFieldViolations()[1].GetReason() != "FIELD_CONTROL_CHARACTER" {
		t.Errorf("ErrorInfo %v, BadRequest %v", info, br)
	}
	if info, _, _, _ := details(errors.New("driver: secret")); info.GetReason() != "INTERNAL" {
		t.Errorf("internal ErrorInfo = %v", info)
	}

	// A downstream reason survives the hop through another service.
	down := ToStatus(apperr.NotFound("practice x").WithReason(apperr.ReasonPracticeNotFound))
	if got := apperr.ReasonOf(FromStatus(down, "catalog")); got != apperr.ReasonPracticeNotFound {
		t.Errorf("reason after FromStatus = %s", got)
	}
}
