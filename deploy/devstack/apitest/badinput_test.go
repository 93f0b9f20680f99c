package apitest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	spb "google.golang.org/genproto/googleapis/rpc/status"

	gateway "github.com/gemella/gemella/gateway/server"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// badCase is one bad request and the field its 400 must name ("" when any
// field will do, e.g. a body that is not JSON at all).
type badCase struct {
	name      string
	method    string
	target    string
	body      string
	header    map[string]string
	wantField string
}

// leaks are words of the implementation that no client should read.
var leaks = []string{"proto:", "(line ", "strconv", "grpc:", "unmarshal", "ParseInt", "invalid character", "runtime error", "goroutine"}

// apiName is a field name as the API spells it: snake_case, dots, indexes.
var apiName = regexp.MustCompile(`^([a-z][a-z0-9_]*|body|query|path|If-Match|Authorization)(\.[a-z][a-z0-9_]*|\[[0-9]+\]|\["[^"]*"\])*$`)

func TestBadInputIsA400ThatNamesTheField(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	a := startAPI(t)
	bindings, err := gateway.Bindings()
	if err != nil {
		t.Fatal(err)
	}
	cases := a.badCases(t, bindings)
	if len(cases) < 120 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.send(t, c.method, c.target, c.body, c.header)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%s %s: status %d, want 400; body %.400s", c.method, c.target, r.status, r.body)
			}
			checkBadRequest(t, r, c.wantField)
		})
	}
	t.Logf("%d bad requests over %d routes, each a 400 naming its field", len(cases), len(bindings))
}

// checkBadRequest reads the google.rpc.Status body of a 400: a stable
// reason, a request id, and field violations with API names.
func checkBadRequest(t *testing.T, r reply, wantField string) {
	t.Helper()
	var st spb.Status
	if err := protojson.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("body is not a google.rpc.Status: %v: %s", err, r.body)
	}
	if codes.Code(st.GetCode()) != codes.InvalidArgument {
		t.Errorf("code = %d, want 3 (INVALID_ARGUMENT)", st.GetCode())
	}
	lower := strings.ToLower(string(r.body))
	for _, leak := range leaks {
		if strings.Contains(lower, strings.ToLower(leak)) {
			t.Errorf("the body leaks %q: %s", leak, r.body)
		}
	}
	var fields []string
	var reason, requestID string
	for _, any := range st.GetDetails() {
		m, err := any.UnmarshalNew()
		if err != nil {
			t.Fatalf("detail %s: %v", any.GetTypeUrl(), err)
		}
		switch d := m.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.RequestInfo:
			requestID = d.GetRequestId()
		case *errdetails.BadRequest:
			for _, fv := range d.GetFieldViolations() {
				fields = append(fields, fv.GetField())
				if !apiName.MatchString(fv.GetField()) && fv.GetReason() != string(apperr.ReasonFieldUnknown) {
					t.Errorf("field %q is not named as the API names it", fv.GetField())
				}
				if fv.GetDescription() == "" || !apperr.Reason(fv.GetReason()).Known() {
					t.Errorf("violation %v: no description or an unknown reason", fv)
				}
			}
		}
	}
	if !apperr.Reason(reason).Known() {
		t.Errorf("ErrorInfo reason %q is not in the registry", reason)
	}
	if requestID == "" || requestID != r.header.Get("X-Request-Id") {
		t.Errorf("request id %q, header %q", requestID, r.header.Get("X-Request-Id"))
	}
	if len(fields) == 0 {
		t.Fatalf("no field violation: %s", r.body)
	}
	if wantField != "" && !contains(fields, wantField) {
		t.Errorf("fields %v, want %q among them; body %s", fields, wantField, r.body)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// idFor fills a path variable with an id of the right kind.
func (a *api) idFor(template, variable string) string {
	if strings.HasPrefix(template, "/v1/me/follows/") {
		// The demo moderator follows the Tos.Ca. twinning (harness_test.go).
		if variable == "kind" {
			return "twinning"
		}
		return a.ids["twinning"]
	}
	if strings.Contains(template, "/reports/") && (variable == "id" || variable == "report.id") {
		return a.ids["report"]
	}
	switch variable {
	case "twinning_id":
		return a.ids["twinning"]
	case "thread_id":
		return a.ids["thread"]
	case "member_id":
		return a.ids["member"]
	case "organization_id":
		return a.ids["organization"]
	case "transfer.id":
		return a.ids["transfer"]
	case "activity.id":
		return a.ids["activity"]
	}
	for prefix, kind := range map[string]string{
		"/v1/practices": "practice", "/v1/organizations": "organization", "/v1/needs": "need", "/v1/offers": "offer",
		"/v1/twinnings": "twinning", "/v1/members": "member", "/v1/threads": "thread", "/v1/posts": "post", "/v1/stories": "story",
	} {
		if strings.HasPrefix(template, prefix) {
			if id := a.ids[kind]; id != "" {
				return id
			}
		}
	}
	return "x1"
}

var pathVariable = regexp.MustCompile(`\{([^}]+)\}`)

// fill writes the template with real ids, and bad in place of variable
// bad (when not "").
func (a *api) fill(b gateway.Binding, bad, value string) string {
	return pathVariable.ReplaceAllStringFunc(b.Template, func(m string) string {
		name := m[1 : len(m)-1]
		if name == bad {
			return value
		}
		return a.idFor(b.Template, name)
	})
}

func lastName(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	return field
}

func (a *api) badCases(t *testing.T, bindings []gateway.Binding) []badCase {
	var out []badCase
	add := func(c badCase) {
		c.name = fmt.Sprintf("%03d %s %s: %s", len(out), c.method, c.target, c.name)
		if len(c.name) > 140 {
			c.name = c.name[:140]
		}
		out = append(out, c)
	}
	for _, b := range bindings {
		// Path variables: invalid UTF-8 (a lone byte, a truncated
		// sequence, an encoded surrogate) and a NUL.
		for _, field := range b.PathFields {
			for _, bad := range []struct{ name, value string }{
				{"byte FF in the path", "%FF"}, {"NUL in the path", "a%00b"}, {"truncated UTF-8 in the path", "%C3%28"},
				{"encoded surrogate in the path", "%ED%A0%80"},
			} {
				add(badCase{name: bad.name, method: b.Method, target: a.fill(b, field, bad.value), wantField: lastName(field)})
			}
		}
		target := a.fill(b, "", "")
		// Query parameters.
		if b.Method == http.MethodGet {
			add(badCase{name: "unknown parameter", method: b.Method, target: target + "?colour=red", wantField: "colour"})
			add(badCase{name: "bad escape in a parameter name", method: b.Method, target: target + "?%FF=1", wantField: "query"})
			if hasField(b, "page_token") {
				add(badCase{name: "page token %%%", method: b.Method, target: target + "?page_token=%%%", wantField: "page_token"})
				add(badCase{name: "page token FF", method: b.Method, target: target + "?page_token=%FF", wantField: "page_token"})
				add(badCase{name: "page size a word", method: b.Method, target: target + "?page_size=many", wantField: "page_size"})
				add(badCase{name: "page size twice", method: b.Method, target: target + "?page_size=1&page_size=2", wantField: "page_size"})
			}
		}
		body := bodyMessage(b)
		if body == nil {
			continue
		}
		for _, bad := range []struct{ name, body, field string }{
			{"trailing data", `{}xyz`, "body"},
			{"two JSON values", `{} {}`, "body"},
			{"not JSON", `hello`, "body"},
			{"a list for the body", `[]`, "body"},
			{"unknown field", `{"colour":"red"}`, "colour"},
			{"unknown field, bad text", "{\"col\xffour\":1}", ""},
			{"truncated", `{"a":`, ""},
		} {
			add(badCase{name: bad.name, method: b.Method, target: target, body: bad.body, wantField: bad.field})
		}
		if s := firstField(body, func(fd protoreflect.FieldDescriptor) bool {
			return fd.Kind() == protoreflect.StringKind && !fd.IsList() && !inPath(b, fd)
		}); s != nil {
			name := string(s.Name())
			for _, bad := range []struct{ name, value string }{
				{"NUL escape", `"a\u0000b"`}, {"raw control byte", "\"a\x01b\""}, {"invalid UTF-8", "\"a\xffb\""},
				{"lone surrogate", `"\ud800"`}, {"a list for a string", `["a"]`}, {"a number for a string", `42`},
				{"an object for a string", `{"a":1}`},
			} {
				add(badCase{name: bad.name + " in " + name, method: b.Method, target: target, body: `{"` + name + `":` + bad.value + `}`, wantField: name})
			}
			add(badCase{name: "duplicate key " + name, method: b.Method, target: target, body: `{"` + name + `":"a","` + name + `":"b"}`, wantField: name})
		}
		if l := firstField(body, func(fd protoreflect.FieldDescriptor) bool { return fd.IsList() }); l != nil {
			name := string(l.Name())
			add(badCase{name: "a string for the list " + name, method: b.Method, target: target, body: `{"` + name + `":"x"}`, wantField: name})
			add(badCase{name: "an object for the list " + name, method: b.Method, target: target, body: `{"` + name + `":{"code":"A"}}`, wantField: name})
			add(badCase{name: "the list " + name + " by its JSON name", method: b.Method, target: target, body: `{"` + l.JSONName() + `":"x"}`, wantField: name})
		}
	}
	return out
}

func hasField(b gateway.Binding, name string) bool {
	md := inputOf(b)
	return md != nil && md.Fields().ByName(protoreflect.Name(name)) != nil
}

func inputOf(b gateway.Binding) protoreflect.MessageDescriptor {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(b.RPC))
	if err != nil {
		return nil
	}
	return d.(protoreflect.MethodDescriptor).Input()
}

func bodyMessage(b gateway.Binding) protoreflect.MessageDescriptor {
	in := inputOf(b)
	switch b.Body {
	case "":
		return nil
	case "*":
		return in
	}
	return in.Fields().ByName(protoreflect.Name(b.Body)).Message()
}

func inPath(b gateway.Binding, fd protoreflect.FieldDescriptor) bool {
	for _, p := range b.PathFields {
		if lastName(p) == string(fd.Name()) {
			return true
		}
	}
	return false
}

func firstField(md protoreflect.MessageDescriptor, ok func(protoreflect.FieldDescriptor) bool) protoreflect.FieldDescriptor {
	for i := 0; i < md.Fields().Len(); i++ {
		if fd := md.Fields().Get(i); ok(fd) {
			return fd
		}
	}
	return nil
}

// The services check text themselves too: a gRPC caller, who does not go
// through the gateway, cannot store a NUL either.
func TestServicesRefuseControlCharacters(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	a := startAPI(t)
	ctx := auth.WithBearerToken(t.Context(), a.admin)
	calls := map[string]func() error{
		"catalog practice title": func() error {
			_, err := a.catalog.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: &catalogv1.Practice{
				Title: "a\x00b", OwnerOrganizationIds: []string{a.ids["organization"]},
			}})
			return err
		},
		"twinning title": func() error {
			_, err := a.twinning.UpdateTwinning(ctx, &twinningv1.UpdateTwinningRequest{Twinning: &twinningv1.Twinning{Id: a.ids["twinning"], Title: "a\x07b"}})
			return err
		},
		"discussion thread title": func() error {
			_, err := a.discussion.CreateThread(auth.WithBearerToken(t.Context(), a.memberToken(t)), &discussionv1.CreateThreadRequest{Thread: &discussionv1.Thread{
				Title: "a\x00b", Body: "testo",
			}})
			return err
		},
	}
	for name, call := range calls {
		st, _ := status.FromError(call())
		if st.Code() != codes.InvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, st)
			continue
		}
		found := false
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, fv := range br.GetFieldViolations() {
					found = found || (fv.GetField() == "title" && fv.GetReason() == string(apperr.ReasonFieldControlCharacter))
				}
			}
		}
		if !found {
			t.Errorf("%s: no FIELD_CONTROL_CHARACTER violation on title: %v", name, st.Details())
		}
	}
}

// TestPortalPagesRefuseAPathThatIsNotUTF8: the pages that take an id
// answer "not found" to one that is not text, never a 500 (the id could
// not even be sent to a service).
func TestPortalPagesRefuseAPathThatIsNotUTF8(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	a := startAPI(t)
	for _, path := range []string{"/practices/%FF", "/twinnings/%FF", "/twinnings/%FF/reports", "/threads/%FF", "/members/%FF",
		"/needs/%FF", "/offers/%FF", "/organizations/%FF"} {
		if r := a.send(t, http.MethodGet, path, "", nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404; body %.200s", path, r.status, r.body)
		}
	}
}
