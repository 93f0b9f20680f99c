package server

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemella/gemella/proto/openapi"
)

// committedDocument is the served document as a file, for the linter that
// make test runs (gateway/openapi) and for readers of the repository.
var committedDocument = filepath.Join("..", "openapi", "gemella.swagger.json")

// The committed document is the one the gateway serves. Run with
// GEMELLA_UPDATE_OPENAPI=1 to rewrite it after changing the protos or
// openapi.go.
func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	routes, err := loadRoutes()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := buildOpenAPI(openapi.JSON, routes)
	if err != nil {
		t.Fatal(err)
	}
	doc = append(doc, '\n')
	if os.Getenv("GEMELLA_UPDATE_OPENAPI") != "" {
		if err := os.WriteFile(committedDocument, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(committedDocument)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, doc) {
		t.Fatalf("%s is stale: run GEMELLA_UPDATE_OPENAPI=1 go test -run TestOpenAPIDocumentIsCurrent ./gateway/server/", committedDocument)
	}
}

// The document has one template per resource, a security requirement and
// error answers on every operation, and the gateway's own endpoints.
func TestOpenAPIDocumentIsComplete(t *testing.T) {
	routes, err := loadRoutes()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := buildOpenAPI(openapi.JSON, routes)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths               map[string]map[string]json.RawMessage
		SecurityDefinitions map[string]json.RawMessage
		Definitions         map[string]struct {
			Required []string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.SecurityDefinitions["bearer"]; !ok {
		t.Error("no bearer security definition")
	}
	shapes := map[string]string{}
	operations := 0
	for path, item := range doc.Paths {
		if strings.Contains(path, ".") && !strings.HasSuffix(path, ".json") {
			t.Errorf("path %s names a nested field", path)
		}
		shape := dottedOrPlain.ReplaceAllString(path, "{}")
		if other, dup := shapes[shape]; dup {
			t.Errorf("paths %s and %s are the same template", path, other)
		}
		shapes[shape] = path
		for method, rawOp := range item {
			operations++
			var op struct {
				Security  *[]map[string][]string
				Responses map[string]json.RawMessage
			}
			if err := json.Unmarshal(rawOp, &op); err != nil {
				t.Fatal(err)
			}
			if op.Security == nil {
				t.Errorf("%s %s: no security requirement", method, path)
			}
			codes := []string{"400", "500"}
			if !strings.HasPrefix(path, "/v1/") {
				codes = []string{"200"}
			}
			for _, code := range codes {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("%s %s: no %s answer", method, path, code)
				}
			}
		}
	}
	for _, p := range []string{"/v1/events", "/healthz", "/readyz", "/v1/practices/{id}"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("no path %s", p)
		}
	}
	if operations < len(routes.unique())+4 {
		t.Errorf("%d operations for %d routes", operations, len(routes.unique()))
	}
	required := 0
	for _, d := range doc.Definitions {
		required += len(d.Required)
	}
	if required < 30 {
		t.Errorf("only %d required properties in all definitions", required)
	}
	for _, want := range []string{`"If-Match"`, `"ETag"`, `"Retry-After"`, `"Last-Event-ID"`, `"X-Request-Id"`, `"readOnly": true`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("the document never mentions %s", want)
		}
	}
}
