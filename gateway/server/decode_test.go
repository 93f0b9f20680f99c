package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/apperr"
)

func TestCheckBody(t *testing.T) {
	md := (&catalogv1.Practice{}).ProtoReflect().Descriptor()
	cases := []struct {
		body       string
		wantField  string // "" for a body that passes
		wantReason apperr.Reason
	}{
		{`{"title":"Orientamento","themes":["lavoro"]}`, "", ""},
		{`  {"ownerOrganizationIds":["o1"]}  `, "", ""},
		{`{"title":"a\u00e8\ud83d\ude00"}`, "", ""},
		{`{"title":"x"}xyz`, "body", apperr.ReasonMalformedJSON},
		{`{"title":"x"}{}`, "body", apperr.ReasonMalformedJSON},
		{`{"title":"a\u0000b"}`, "title", apperr.ReasonFieldControlCharacter},
		{"{\"title\":\"a\x01b\"}", "title", apperr.ReasonFieldControlCharacter},
		{"{\"title\":\"a\xffb\"}", "title", apperr.ReasonFieldInvalidUTF8},
		{`{"title":"\ud800"}`, "title", apperr.ReasonFieldInvalidUTF8},
		{`{"title":"\udc00\ud800"}`, "title", apperr.ReasonFieldInvalidUTF8},
		{`{"themes":"lavoro"}`, "themes", apperr.ReasonFieldTypeMismatch},
		{`{"models":{"code":"A"}}`, "models", apperr.ReasonFieldTypeMismatch},
		{`{"models":[{"code":5}]}`, "models[0].code", apperr.ReasonFieldTypeMismatch},
		{`{"models":[null]}`, "models[0]", apperr.ReasonFieldTypeMismatch},
		{`{"colour":"red"}`, "colour", apperr.ReasonFieldUnknown},
		{`{"title":"a","title":"b"}`, "title", apperr.ReasonFieldDuplicate},
		{`{"owner_organization_ids":[],"ownerOrganizationIds":[]}`, "owner_organization_ids", apperr.ReasonFieldDuplicate},
		{`{"status":"PUBLISHED"}`, "status", apperr.ReasonFieldInvalid},
		{`{"status":99}`, "status", apperr.ReasonFieldInvalid},
		{`{"create_time":"yesterday"}`, "create_time", apperr.ReasonFieldInvalid},
		{`{"title":`, "title", apperr.ReasonMalformedJSON},
		{`[]`, "body", apperr.ReasonFieldTypeMismatch},
		{`{"title":"x",}`, "body", apperr.ReasonMalformedJSON},
		{strings.Repeat("[", 100), "body" + strings.Repeat("[0]", 32), apperr.ReasonMalformedJSON},
	}
	for _, c := range cases {
		v := checkBody(md, []byte(c.body))
		if c.wantField == "" {
			if len(v) > 0 {
				t.Errorf("%s: refused: %+v", c.body, v)
			}
			continue
		}
		if len(v) == 0 || v[0].field != c.wantField || v[0].reason != c.wantReason {
			t.Errorf("%q: violations %+v, want %s on %s", c.body, v, c.wantReason, c.wantField)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	routes, err := loadRoutes()
	if err != nil {
		t.Fatal(err)
	}
	list := routes[routeKey("GET", "/v1/practices")]
	create := routes[routeKey("POST", "/v1/practices")]
	if list == nil || create == nil {
		t.Fatalf("routes missing: %v", routes)
	}
	cases := []struct {
		rt        *route
		query     string
		wantField string
	}{
		{list, "page_size=5&page_token=abc", ""},
		{list, "pageSize=5", ""},
		{list, "page_token=%FF", "page_token"},
		{list, "page_token=%%%", "page_token"},
		{list, "page_token=a%00b", "page_token"},
		{list, "page_size=abc", "page_size"},
		{list, "page_size=99999999999", "page_size"},
		{list, "page_size=1&page_size=2", "page_size"},
		{list, "theme=competenze", ""},
		{list, "colour=red", "colour"},
		{list, "%FF=1", "query"},
		{list, "status=NOPE", "status"},
		{create, "request_id=r1", ""},
		{create, "practice.title=x", "practice"},
	}
	for _, c := range cases {
		var v violations
		checkQuery(c.rt, c.query, &v)
		switch {
		case c.wantField == "" && len(v) > 0:
			t.Errorf("?%s: refused: %+v", c.query, v)
		case c.wantField != "" && (len(v) == 0 || v[0].field != c.wantField):
			t.Errorf("?%s: violations %+v, want one on %s", c.query, v, c.wantField)
		}
	}
}

// Every HTTP rule of http.yaml resolves to an RPC, and every RPC of the
// three services has a rule.
func TestEveryRPCHasARoute(t *testing.T) {
	routes, err := loadRoutes()
	if err != nil {
		t.Fatal(err)
	}
	bound := map[string]bool{}
	for _, rt := range routes {
		bound[string(rt.rpc.FullName())] = true
	}
	services := catalogv1.File_gemella_catalog_v1_catalog_proto.Services()
	for i := 0; i < services.Len(); i++ {
		methods := services.Get(i).Methods()
		for j := 0; j < methods.Len(); j++ {
			if name := string(methods.Get(j).FullName()); !bound[name] {
				t.Errorf("%s has no HTTP rule", name)
			}
		}
	}
	if len(routes.unique()) < 60 {
		t.Errorf("only %d routes", len(routes.unique()))
	}
}

// FuzzCheckBody feeds request bodies to the strict check. It must never
// panic, every violation must name a field and be valid text, and a body it
// lets through must decode with protojson (else grpc-gateway would answer
// with protojson's own words).
func FuzzCheckBody(f *testing.F) {
	for _, seed := range []string{
		`{"title":"Orientamento","models":[{"code":"A","title":"Modello"}],"start_date":"2024-01-01"}`,
		`{"title":"x"}xyz`, `{"title":"\u0000"}`, "{\"title\":\"\xff\"}", `{"title":"\ud800"}`,
		`{"themes":"x"}`, `{"models":{}}`, `{"status":1}`, `{"create_time":"2024-01-01T00:00:00Z"}`,
		`{"adoption":{"twinnings":"12"}}`, `{"models":[{"adoption":{"twinnings":1e2}}]}`, `null`, `{}`,
	} {
		f.Add([]byte(seed))
	}
	md := (&catalogv1.Practice{}).ProtoReflect().Descriptor()
	f.Fuzz(func(t *testing.T, body []byte) {
		v := checkBody(md, body)
		for _, fv := range v {
			if fv.field == "" || fv.rule == "" || !utf8.ValidString(fv.field) || !utf8.ValidString(fv.rule) || !fv.reason.Known() {
				t.Fatalf("body %q: bad violation %+v", body, fv)
			}
		}
		if len(v) == 0 {
			if err := protojson.Unmarshal(body, &catalogv1.Practice{}); err != nil {
				t.Fatalf("body %q passed the check but protojson refuses it: %v", body, err)
			}
		}
	})
}

// FuzzCheckQuery: any query string, no panic, every violation names a field.
func FuzzCheckQuery(f *testing.F) {
	for _, seed := range []string{"page_size=5", "page_token=%%%", "q=%FF", "a=b&&c", "status=1&status=2", "owner_organization_id=%00"} {
		f.Add(seed)
	}
	routes, err := loadRoutes()
	if err != nil {
		f.Fatal(err)
	}
	rt := routes[routeKey("GET", "/v1/practices")]
	f.Fuzz(func(t *testing.T, query string) {
		var v violations
		checkQuery(rt, query, &v)
		for _, fv := range v {
			if fv.field == "" || !utf8.ValidString(fv.field) || !utf8.ValidString(fv.rule) {
				t.Fatalf("query %q: bad violation %+v", query, fv)
			}
		}
	})
}

// A request finds its route by grpc-gateway's own spelling of the template.
func TestRouteLookupByPattern(t *testing.T) {
	routes, err := loadRoutes()
	if err != nil {
		t.Fatal(err)
	}
	for method, template := range map[string]string{
		"GET": "/v1/practices/{id=*}", "PATCH": "/v1/practices/{practice.id=*}", "POST": "/v1/practices/{id=*}:submit",
	} {
		r, _ := http.NewRequest(method, "/", nil)
		if routes.lookup(r, template) == nil {
			t.Errorf("%s %s: no route", method, template)
		}
	}
}

// A path variable the body carries too must agree with the path, at any
// depth and by either JSON spelling; left out or empty, the path fills it.
func TestBodyMustNameThePathsResource(t *testing.T) {
	routes, err := loadRoutes()
	if err != nil {
		t.Fatal(err)
	}
	const template = "/v1/twinnings/{twinning_id=*}/transfers/{transfer.id=*}"
	r, _ := http.NewRequest(http.MethodPatch, "/", nil)
	rt := routes.lookup(r, template)
	if rt == nil {
		t.Fatalf("PATCH %s: no route", template)
	}
	params := map[string]string{"twinning_id": "t1", "transfer.id": "x1"}
	for body, want := range map[string][]string{
		`{"status":"TRANSFER_STATUS_ADOPTED"}`:                        nil,
		`{"twinning_id":"t1","transfer":{"id":"x1"}}`:                 nil,
		`{"twinningId":"","transfer":{"id":""}}`:                      nil,
		`{"twinning_id":"t2","transfer":{"id":"x1"}}`:                 {"twinning_id"},
		`{"twinningId":"t2"}`:                                         {"twinning_id"},
		`{"transfer":{"id":"x2","status":"TRANSFER_STATUS_ADOPTED"}}`: {"transfer.id"},
		`{"twinning_id":"t9","transfer":{"id":"x9"}}`:                 {"transfer.id", "twinning_id"},
		`{"transfer":"not an object"}`:                                nil, // the type check says what is wrong
	} {
		root, err := parseJSON([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		var v violations
		checkPathInBody(rt, rt.bodyMessage(), params, root, &v)
		var got []string
		for _, fv := range v {
			got = append(got, fv.field)
			if fv.reason != apperr.ReasonFieldInvalid || !strings.Contains(fv.rule, "in the path") {
				t.Errorf("%s: violation %+v", body, fv)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: violations on %v, want %v", body, got, want)
		}
	}
}
