package apitest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	gateway "github.com/gemella/gemella/gateway/server"
)

// Every GET of the API, sampled on the demo data as a visitor and as a
// member with every role, answers what the served OpenAPI document says:
// the properties it declares with their types and formats, the required
// ones present, and nothing it does not declare.
func TestGETAnswersMatchTheOpenAPIDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	a := startAPI(t)
	r := a.send(t, http.MethodGet, "/openapi.json", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", r.status)
	}
	var doc struct {
		Paths       map[string]map[string]json.RawMessage
		Definitions map[string]any
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	w := walker{definitions: doc.Definitions}
	moderator := a.memberToken(t)
	// The reads of one role a moderator does not hold are read by it.
	readers := map[string]string{"/v1/affiliationRequests": a.adminToken(t)}
	bindings, err := gateway.Bindings()
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{"/healthz": "/healthz", "/readyz": "/readyz"}
	for _, b := range bindings {
		if b.Method == http.MethodGet {
			targets[b.Template] = a.fill(b, "", "")
		}
	}
	// A few filters, so that sampled lists are not all the first page.
	extra := map[string][]string{
		"/v1/search/practices": {"?q=competenze", "?q=lavoro&page_size=2"},
		"/v1/practices":        {"?page_size=2", "?status=PRACTICE_STATUS_PUBLISHED"},
		"/v1/twinnings":        {"?status=TWINNING_STATUS_ACTIVE"},
		"/v1/threads":          {"?scope=SCOPE_TWINNING"},
	}
	sampled := 0
	templates := make([]string, 0, len(targets))
	for tpl := range targets {
		templates = append(templates, tpl)
	}
	sort.Strings(templates)
	for _, tpl := range templates {
		var op struct {
			Security  []map[string]any
			Responses map[string]struct {
				Schema map[string]any
			}
		}
		if err := json.Unmarshal(doc.Paths[tpl]["get"], &op); err != nil || op.Responses == nil {
			t.Errorf("GET %s is not in the document", tpl)
			continue
		}
		schema := op.Responses["200"].Schema
		optional := len(op.Security) == 0
		for _, req := range op.Security {
			optional = optional || len(req) == 0
		}
		for _, query := range append([]string{""}, extra[tpl]...) {
			for _, as := range []struct {
				name   string
				header map[string]string
			}{{"visitor", nil}, {"moderator", map[string]string{"Authorization": "Bearer " + cmp.Or(readers[tpl], moderator)}}} {
				target := targets[tpl] + query
				r := a.send(t, http.MethodGet, target, "", as.header)
				want, schema := http.StatusOK, schema
				if as.header == nil && !optional {
					// The document says a session is needed: a visitor gets
					// the 401 it describes.
					want, schema = http.StatusUnauthorized, map[string]any{"$ref": "#/definitions/Status"}
				}
				if r.status != want {
					t.Errorf("GET %s as %s: %d, want %d: %.300s", target, as.name, r.status, want, r.body)
					continue
				}
				var body any
				if err := json.Unmarshal(r.body, &body); err != nil {
					t.Errorf("GET %s: %v", target, err)
					continue
				}
				var problems []string
				w.check(schema, body, "", &problems)
				for _, p := range problems {
					t.Errorf("GET %s as %s: %s", target, as.name, p)
				}
				sampled++
			}
		}
	}
	t.Logf("%d answers of %d GET operations checked against the document", sampled, len(templates))
	if len(templates) < 25 {
		t.Errorf("only %d GET operations", len(templates))
	}
}

// walker checks a JSON value against a Swagger 2.0 schema: the part of
// JSON Schema that protoc-gen-openapiv2 writes.
type walker struct {
	definitions map[string]any
}

func (w walker) check(schema map[string]any, v any, path string, problems *[]string) {
	fail := func(format string, args ...any) {
		at := path
		if at == "" {
			at = "(top)"
		}
		*problems = append(*problems, at+": "+fmt.Sprintf(format, args...))
	}
	if ref, ok := schema["$ref"].(string); ok {
		def, ok := w.definitions[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
		if !ok {
			fail("unknown $ref %s", ref)
			return
		}
		w.check(def, v, path, problems)
		return
	}
	if all, ok := schema["allOf"].([]any); ok {
		for _, s := range all {
			w.check(s.(map[string]any), v, path, problems)
		}
	}
	if v == nil {
		fail("null, which the document does not allow")
		return
	}
	typ, _ := schema["type"].(string)
	props, hasProps := schema["properties"].(map[string]any)
	if typ == "" && hasProps {
		typ = "object"
	}
	switch typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			fail("%T, want an object", v)
			return
		}
		required, _ := schema["required"].([]any)
		for _, r := range required {
			if _, ok := obj[r.(string)]; !ok {
				fail("required property %s missing", r)
			}
		}
		extra, _ := schema["additionalProperties"].(map[string]any)
		allowAny := schema["additionalProperties"] == true
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			at := strings.TrimPrefix(path+"."+k, ".")
			if ps, ok := props[k].(map[string]any); ok {
				w.check(ps, obj[k], at, problems)
			} else if extra != nil {
				w.check(extra, obj[k], at, problems)
			} else if !allowAny {
				fail("property %s is not in the document", k)
			}
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			fail("%T, want a list", v)
			return
		}
		items, _ := schema["items"].(map[string]any)
		for i, el := range list {
			w.check(items, el, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			fail("%T, want a string", v)
			return
		}
		if enum, ok := schema["enum"].([]any); ok && !containsAny(enum, s) {
			fail("%q is not one of %v", s, enum)
		}
		switch schema["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				fail("%q is not a date-time", s)
			}
		case "int64", "uint64":
			if _, err := strconv.ParseInt(s, 10, 64); err != nil {
				fail("%q is not an int64", s)
			}
		case "byte":
			if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				fail("%q is not base64", s)
			}
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			fail("%v, want an integer", v)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			fail("%T, want a number", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("%T, want true or false", v)
		}
	}
}

func containsAny(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The walker itself finds what it is there to find.
func TestWalkerFindsMismatches(t *testing.T) {
	w := walker{definitions: map[string]any{
		"P": map[string]any{"type": "object", "required": []any{"title"}, "properties": map[string]any{
			"title":  map[string]any{"type": "string"},
			"time":   map[string]any{"type": "string", "format": "date-time"},
			"themes": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			"status": map[string]any{"type": "string", "enum": []any{"A", "B"}},
			"child":  map[string]any{"allOf": []any{map[string]any{"$ref": "#/definitions/P"}}},
		}},
	}}
	ref := map[string]any{"$ref": "#/definitions/P"}
	cases := map[string]any{
		"null message":     map[string]any{"title": "x", "child": nil},
		"missing required": map[string]any{"themes": []any{}},
		"undeclared":       map[string]any{"title": "x", "colour": "red"},
		"bad date-time":    map[string]any{"title": "x", "time": "yesterday"},
		"string for list":  map[string]any{"title": "x", "themes": "a"},
		"unknown enum":     map[string]any{"title": "x", "status": "C"},
		"nested":           map[string]any{"title": "x", "child": map[string]any{}},
	}
	for name, v := range cases {
		var problems []string
		w.check(ref, v, "", &problems)
		if len(problems) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
	var problems []string
	w.check(ref, map[string]any{"title": "x", "time": "2026-01-01T00:00:00Z", "themes": []any{"a"}, "status": "A", "child": map[string]any{"title": "y"}}, "", &problems)
	if len(problems) > 0 {
		t.Errorf("a valid value: %v", problems)
	}
}
