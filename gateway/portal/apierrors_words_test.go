package portal

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Refusals of a log-in say what happened: a wrong password is not "log in
// again", nor is a write without any session.
func TestUnauthenticatedIsSaidByWhatHappened(t *testing.T) {
	for _, c := range []struct{ message, it, en string }{
		{"wrong e-mail or password", "E-mail o password errate.", "Wrong e-mail or password."},
		{"log in first: changing the catalog needs a session token", "Accedi per continuare.", "Log in to continue."},
		{"session s-1 is unknown or expired: log in again", "Accedi di nuovo per continuare.", "Log in again to continue."},
	} {
		st := status.New(codes.Unauthenticated, c.message)
		for lang, want := range map[Lang]string{Italian: c.it, English: c.en} {
			got, _ := LocalizedError(st, lang)
			if got == nil || got.GetMessage() != want {
				t.Errorf("%s, %s: %v, want %q", c.message, lang, got, want)
			}
		}
	}
}

// The field rules the gateway checks before any service (type, unknown
// or repeated field, bad characters, malformed JSON) are said each in its
// words, not as "value not accepted".
func TestGatewayFieldRulesAreSaidByReason(t *testing.T) {
	for reason, want := range map[string]string{
		"FIELD_TYPE_MISMATCH":     "tipo sbagliato",
		"FIELD_UNKNOWN":           "non esiste",
		"FIELD_DUPLICATE":         "due volte",
		"FIELD_CONTROL_CHARACTER": "caratteri di controllo",
		"FIELD_INVALID_UTF8":      "UTF-8",
		"MALFORMED_JSON":          "JSON valido",
	} {
		st, err := status.New(codes.InvalidArgument, "title: bad").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "title", Description: "must be a string, not a number", Reason: reason}},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, fields := LocalizedError(st, Italian)
		if len(fields) != 1 || !strings.Contains(fields[0].GetMessage(), want) {
			t.Errorf("%s: %v, want words with %q", reason, fields, want)
		}
	}
}

// A malformed If-Match is said as such, in Italian too.
func TestAMalformedIfMatchIsSaidInWords(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "If-Match", Description: `header must be "*" or an entity tag such as "3"`, Reason: "FIELD_INVALID"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, fields := LocalizedError(st, Italian); len(fields) != 1 || !strings.Contains(fields[0].GetMessage(), "etag della versione") {
		t.Errorf("If-Match in Italian: %v", fields)
	}
}
