package portal

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/paging"
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

// The rules the issue found said as "reload the page and try again" are
// said by what they ask, on the errors the services really return (built
// as they build them, through grpcx.ToStatus): the words name the rule
// broken, not the generic sentence, in both languages.
func TestTechnicalRulesAreSaidByWhatTheyAsk(t *testing.T) {
	_, negativePage := paging.Size(-1)
	var markRead apperr.Violations
	markRead.Add("ids", "name at least one notification, or set all")
	// platform/idempotency's answer to a request_id sent again with
	// another body.
	reused := &apperr.Error{Kind: apperr.KindAlreadyExists, Message: "request_id already used",
		Violations: []apperr.FieldViolation{{Field: "request_id",
			Rule: `"r-1" was already sent by this caller with a different request: a new request needs a new request_id`}}}
	for _, c := range []struct {
		name     string
		err      error
		top      map[Lang]string
		field    map[Lang]string
		noFields bool
	}{
		{name: "negative page size", err: negativePage,
			field: map[Lang]string{Italian: "negativo", English: "negative"}},
		{name: "a page size out of its range", err: apperr.Invalid("page_size", "must be between 1 and 100, got 0"),
			field: map[Lang]string{Italian: "da 1 a 100", English: "from 1 to 100"}},
		{name: "an unknown field in update_mask", err: apperr.Invalid("update_mask", `names unknown or read-only field "bogus"`),
			field: map[Lang]string{Italian: "campo che non esiste", English: "field that does not exist"}},
		{name: "mark read naming nothing", err: markRead.Err(),
			field: map[Lang]string{Italian: "almeno una notifica", English: "at least one notification"}},
		{name: "a request id reused", err: reused,
			top:   map[Lang]string{Italian: "già stato usato per una richiesta diversa", English: "already used for a different request"},
			field: map[Lang]string{Italian: "già stato usato per una richiesta diversa", English: "already used for a different request"}},
		{name: "a request id reused for a post", err: apperr.AlreadyExists("request id %q was used for a post in another thread", "r-1").WithReason(apperr.ReasonRequestIDReused),
			top: map[Lang]string{Italian: "già stato usato per una richiesta diversa", English: "already used for a different request"}, noFields: true},
	} {
		st, _ := status.FromError(grpcx.ToStatus(c.err))
		for _, lang := range []Lang{Italian, English} {
			w := wording{l: newLocale(lang, time.Now)}
			top, fields := LocalizedError(st, lang)
			for _, generic := range []string{w.l.T("rule.technical"), w.l.T("rule.generic"), w.l.T("form.already_exists"), w.l.T("exists.request")} {
				if top.GetMessage() == generic {
					t.Errorf("%s, %s: the generic %q", c.name, lang, generic)
				}
			}
			if want := c.top[lang]; want != "" && !strings.Contains(top.GetMessage(), want) {
				t.Errorf("%s, %s: %q, want words with %q", c.name, lang, top.GetMessage(), want)
			}
			if c.noFields {
				continue
			}
			if len(fields) != 1 || !strings.Contains(fields[0].GetMessage(), c.field[lang]) {
				t.Errorf("%s, %s: field words %v, want %q", c.name, lang, fields, c.field[lang])
			}
		}
	}
}
