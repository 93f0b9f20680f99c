package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gemella/gemella/services/platform/apperr"
)

// startGateway runs the gateway on a free loopback port against backendAddr
// and returns its base URL; the test's cleanup stops it.
func startGateway(t *testing.T, backendAddr string) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.CatalogAddr = backendAddr
	cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr, cfg.NATSURL = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))

	srv, err := New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return "http://" + srv.Addr()
}

var client = &http.Client{Timeout: 10 * time.Second}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, header map[string]string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// errorDetail is what a test reads from the error body.
type errorDetail struct {
	// Status is the canonical gRPC code name of the body's code.
	Status          string
	Message         string
	Reason          string
	FieldViolations []fieldViolation
	RequestID       string
	AllowedMoves    []string
	RetryDelay      time.Duration
}

type fieldViolation struct {
	Field, Description, Reason string
}

// decodeError checks the common error shape, a google.rpc.Status, and
// returns its content.
func decodeError(t *testing.T, r response) errorDetail {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	got, err := parseErrorBody(r.body)
	if err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if got.RequestID == "" || got.RequestID != r.header.Get(requestIDHeader) {
		t.Errorf("RequestInfo.request_id = %q, want the X-Request-Id header %q", got.RequestID, r.header.Get(requestIDHeader))
	}
	if !apperr.Reason(got.Reason).Known() {
		t.Errorf("ErrorInfo.reason = %q, not in the registry", got.Reason)
	}
	if r.status == http.StatusBadRequest && len(got.FieldViolations) == 0 {
		t.Errorf("a 400 without field violations: %s", r.body)
	}
	return got
}

// parseErrorBody reads a google.rpc.Status body strictly: no other fields.
func parseErrorBody(body []byte) (errorDetail, error) {
	var st spb.Status
	if err := protojson.Unmarshal(body, &st); err != nil {
		return errorDetail{}, err
	}
	out := errorDetail{Status: code.Code(st.GetCode()).String(), Message: st.GetMessage()}
	infos := 0
	for _, a := range st.GetDetails() {
		m, err := a.UnmarshalNew()
		if err != nil {
			return out, err
		}
		switch d := m.(type) {
		case *errdetails.ErrorInfo:
			infos++
			out.Reason = d.GetReason()
			if d.GetDomain() != apperr.Domain {
				return out, fmt.Errorf("ErrorInfo.domain = %q", d.GetDomain())
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				out.FieldViolations = append(out.FieldViolations, fieldViolation{Field: v.GetField(), Description: v.GetDescription(), Reason: v.GetReason()})
			}
		case *errdetails.RequestInfo:
			out.RequestID = d.GetRequestId()
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				out.AllowedMoves = append(out.AllowedMoves, v.GetDescription())
			}
		case *errdetails.RetryInfo:
			out.RetryDelay = d.GetRetryDelay().AsDuration()
		}
	}
	if infos != 1 {
		return out, fmt.Errorf("%d ErrorInfo details, want 1", infos)
	}
	return out, nil
}

func decodePractice(t *testing.T, r response) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("practice body %q: %v", r.body, err)
	}
	return p
}

// chunked hides the length of a body, so the request is sent chunked and
// only the limit reader can stop it.
type chunked struct{ io.Reader }

func TestGatewayErrors(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGateway(t, backend)
	twoMiB := strings.Repeat("x", 2<<20)
	bigPractice := `{"title":"` + twoMiB + `"}`

	tests := []struct {
		name    string
		method  string
		path    string
		header  map[string]string
		body    string
		chunked bool

		wantStatus     int
		wantCode       string // error.status
		wantViolation  string // a field in error.field_violations
		wantMessage    string // a part of error.message
		wantNotMessage string // must not appear anywhere in the body
	}{
		{name: "invalid argument with field violations", method: "POST", path: "/v1/practices", body: `{"summary":"no title"}`,
			wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantViolation: "title", wantMessage: "not valid"},
		{name: "unknown JSON field", method: "POST", path: "/v1/practices", body: `{"title":"x","colour":"red"}`,
			wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantViolation: "colour", wantMessage: "colour is not a field"},
		{name: "malformed JSON", method: "POST", path: "/v1/practices", body: `{"title":`,
			wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantViolation: "title", wantMessage: "not valid JSON"},
		{name: "out of range", method: "GET", path: "/v1/practices/range", wantStatus: 400, wantCode: "OUT_OF_RANGE"},
		{name: "not found", method: "GET", path: "/v1/practices/notfound",
			wantStatus: 404, wantCode: "NOT_FOUND", wantMessage: "does not exist"},
		{name: "already exists", method: "GET", path: "/v1/practices/exists", wantStatus: 409, wantCode: "ALREADY_EXISTS"},
		{name: "failed precondition", method: "GET", path: "/v1/practices/published",
			wantStatus: 409, wantCode: "FAILED_PRECONDITION", wantMessage: "PUBLISHED"},
		{name: "aborted is a stale etag", method: "GET", path: "/v1/practices/stale", wantStatus: 412, wantCode: "ABORTED"},
		{name: "permission denied", method: "GET", path: "/v1/practices/denied", wantStatus: 403, wantCode: "PERMISSION_DENIED"},
		{name: "unauthenticated", method: "GET", path: "/v1/practices/anonymous", wantStatus: 401, wantCode: "UNAUTHENTICATED"},
		{name: "resource exhausted", method: "GET", path: "/v1/practices/busy", wantStatus: 429, wantCode: "RESOURCE_EXHAUSTED"},
		{name: "unavailable hides internals", method: "GET", path: "/v1/practices/down",
			wantStatus: 503, wantCode: "UNAVAILABLE", wantNotMessage: secretDetail},
		{name: "deadline exceeded hides internals", method: "GET", path: "/v1/practices/slow",
			wantStatus: 504, wantCode: "DEADLINE_EXCEEDED", wantNotMessage: secretDetail},
		{name: "unimplemented", method: "GET", path: "/v1/practices/unimplemented", wantStatus: 501, wantCode: "UNIMPLEMENTED"},
		{name: "canceled", method: "GET", path: "/v1/practices/canceled", wantStatus: 499, wantCode: "CANCELLED"},
		{name: "internal hides internals", method: "GET", path: "/v1/practices/broken",
			wantStatus: 500, wantCode: "INTERNAL", wantMessage: "internal error", wantNotMessage: secretDetail},
		{name: "If-Match missing", method: "PATCH", path: "/v1/practices/p1", body: `{"title":"t"}`,
			wantStatus: 409, wantCode: "FAILED_PRECONDITION", wantMessage: "if-match is required"},
		{name: "If-Match stale", method: "PATCH", path: "/v1/practices/p1", body: `{"title":"t"}`,
			header:     map[string]string{"If-Match": `"v1"`},
			wantStatus: 412, wantCode: "ABORTED", wantMessage: `"v1"`},
		// Not an entity tag: a 400 naming the header, not "changed by
		// someone else".
		{name: "If-Match malformed", method: "PATCH", path: "/v1/practices/p1", body: `{"title":"t"}`,
			header:     map[string]string{"If-Match": `garbage`},
			wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantMessage: `If-Match header must be "*" or an entity tag`},
		// The path names the resource: a body naming another is refused,
		// not applied to the path's.
		{name: "body id other than the path's", method: "PATCH", path: "/v1/practices/p1", body: `{"id":"p2","title":"t"}`,
			header:     map[string]string{"If-Match": currentEtag},
			wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantMessage: `id is "p2" in the body but "p1" in the path`},
		{name: "If-Match a bare version", method: "PATCH", path: "/v1/practices/p1", body: `{"title":"t"}`,
			header:     map[string]string{"If-Match": `7`},
			wantStatus: 412, wantCode: "ABORTED"},
		{name: "body over the limit, length announced", method: "POST", path: "/v1/practices", body: bigPractice,
			wantStatus: 413, wantCode: "INVALID_ARGUMENT", wantMessage: "1048576 bytes"},
		{name: "body over the limit, chunked", method: "POST", path: "/v1/practices", body: bigPractice, chunked: true,
			wantStatus: 413, wantCode: "INVALID_ARGUMENT", wantMessage: "1048576 bytes"},
		{name: "unknown path", method: "GET", path: "/v1/nothing-here", wantStatus: 404, wantCode: "NOT_FOUND"},
		{name: "wrong method", method: "DELETE", path: "/v1/practices", wantStatus: 405, wantCode: "UNIMPLEMENTED"},
		{name: "wrong method on a gateway endpoint", method: "POST", path: "/healthz", wantStatus: 405, wantCode: "UNIMPLEMENTED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
				if tc.chunked {
					body = chunked{body}
				}
			}
			r := do(t, tc.method, base+tc.path, tc.header, body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %.300s", r.status, tc.wantStatus, r.body)
			}
			got := decodeError(t, r)
			if got.Status != tc.wantCode {
				t.Errorf("error.status = %q, want %q", got.Status, tc.wantCode)
			}
			if tc.wantMessage != "" && !strings.Contains(got.Message, tc.wantMessage) {
				t.Errorf("error.message = %q, want it to contain %q", got.Message, tc.wantMessage)
			}
			if tc.wantNotMessage != "" && bytes.Contains(r.body, []byte(tc.wantNotMessage)) {
				t.Errorf("body %s leaks %q", r.body, tc.wantNotMessage)
			}
			if tc.wantViolation != "" && !hasViolation(got.FieldViolations, tc.wantViolation) {
				t.Errorf("field_violations = %+v, want one for %q", got.FieldViolations, tc.wantViolation)
			}
		})
	}
}

func hasViolation(violations []fieldViolation, field string) bool {
	for _, v := range violations {
		if v.Field == field && v.Description != "" {
			return true
		}
	}
	return false
}

func TestGatewaySuccess(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGateway(t, backend)

	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		body       string
		wantStatus int
		check      func(t *testing.T, r response)
	}{
		{
			name: "practice in snake_case with unset fields", method: "GET", path: "/v1/practices/p1", wantStatus: 200,
			check: func(t *testing.T, r response) {
				p := decodePractice(t, r)
				if p["etag"] != currentEtag || p["status"] != "PRACTICE_STATUS_PUBLISHED" {
					t.Errorf("practice = %v", p)
				}
				for _, field := range []string{"owner_organization_ids", "start_date", "revision"} {
					if _, ok := p[field]; !ok {
						t.Errorf("field %q missing from %s", field, r.body)
					}
				}
				// An unset message is left out rather than null, as the
				// OpenAPI document declares it an object.
				if _, ok := p["create_time"]; ok {
					t.Errorf("unset create_time written: %s", r.body)
				}
			},
		},
		{
			name: "create practice", method: "POST", path: "/v1/practices", body: `{"title":"Orientamento"}`, wantStatus: 200,
			check: func(t *testing.T, r response) {
				if p := decodePractice(t, r); p["id"] != "p-new" || p["title"] != "Orientamento" {
					t.Errorf("practice = %v", p)
				}
			},
		},
		{
			name: "body id the same as the path's", method: "PATCH", path: "/v1/practices/p1", body: `{"id":"p1","title":"t"}`,
			header: map[string]string{"If-Match": currentEtag}, wantStatus: 200,
			check: func(*testing.T, response) {},
		},
		{
			name: "If-Match current", method: "PATCH", path: "/v1/practices/p1", body: `{"title":"t"}`,
			header: map[string]string{"If-Match": currentEtag}, wantStatus: 200,
			check: func(t *testing.T, r response) {
				if p := decodePractice(t, r); p["etag"] != `"v3"` {
					t.Errorf("practice = %v", p)
				}
			},
		},
		{
			name: "request id, authorization and If-Match reach the backend", method: "GET", path: "/v1/practices/echo-metadata",
			header:     map[string]string{"X-Request-Id": "req-42", "Authorization": "Bearer token-1", "If-Match": currentEtag},
			wantStatus: 200,
			check: func(t *testing.T, r response) {
				if got := r.header.Get(requestIDHeader); got != "req-42" {
					t.Errorf("X-Request-Id echoed = %q, want req-42", got)
				}
				p := decodePractice(t, r)
				want := map[string]string{"title": "req-42", "summary": "Bearer token-1", "description": currentEtag}
				for field, value := range want {
					if p[field] != value {
						t.Errorf("backend saw %s = %q, want exactly %q", field, p[field], value)
					}
				}
			},
		},
		{
			name: "unsafe request id is replaced", method: "GET", path: "/v1/practices/echo-metadata",
			header: map[string]string{"X-Request-Id": "no spaces <allowed>"}, wantStatus: 200,
			check: func(t *testing.T, r response) {
				id := r.header.Get(requestIDHeader)
				if id == "" || id == "no spaces <allowed>" {
					t.Fatalf("X-Request-Id = %q, want a generated one", id)
				}
				if p := decodePractice(t, r); p["title"] != id {
					t.Errorf("backend saw request id %q, client got %q", p["title"], id)
				}
			},
		},
		{
			name: "openapi document", method: "GET", path: "/openapi.json", wantStatus: 200,
			check: func(t *testing.T, r response) {
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				var doc struct {
					Info        struct{ Title, Version string }
					Paths       map[string]json.RawMessage
					Definitions map[string]json.RawMessage
				}
				if err := json.Unmarshal(r.body, &doc); err != nil {
					t.Fatalf("openapi: %v", err)
				}
				if doc.Info.Title != "Gemella API" || doc.Info.Version != "v1" {
					t.Errorf("info = %+v", doc.Info)
				}
				if _, ok := doc.Paths["/v1/practices"]; !ok {
					t.Errorf("no /v1/practices among %d paths", len(doc.Paths))
				}
				if _, ok := doc.Definitions["Status"]; !ok || bytes.Contains(r.body, []byte("rpcStatus")) {
					t.Errorf("error responses do not describe the gateway's error body")
				}
			},
		},
		{
			name: "healthz", method: "GET", path: "/healthz", wantStatus: 200,
			check: func(t *testing.T, r response) {
				if strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
					t.Errorf("body = %s", r.body)
				}
			},
		},
		{
			name: "readyz", method: "GET", path: "/readyz", wantStatus: 200,
			check: func(t *testing.T, r response) {
				if strings.TrimSpace(string(r.body)) != `{"status":"ready"}` {
					t.Errorf("body = %s", r.body)
				}
			},
		},
		{
			name: "readyz, verbose", method: "GET", path: "/readyz?verbose", wantStatus: 200,
			check: func(t *testing.T, r response) {
				if strings.TrimSpace(string(r.body)) != `{"status":"ready","backends":{"catalog":"SERVING"}}` {
					t.Errorf("body = %s", r.body)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := do(t, tc.method, base+tc.path, tc.header, body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %.300s", r.status, tc.wantStatus, r.body)
			}
			if r.header.Get(requestIDHeader) == "" {
				t.Errorf("no X-Request-Id in the response")
			}
			tc.check(t, r)
		})
	}
}

func TestGatewayWhenTheBackendStops(t *testing.T) {
	backend, stopBackend := startBackend(t)
	base := startGateway(t, backend)

	steps := []struct {
		name       string
		path       string
		wantStatus int
		wantBody   string // for the health endpoints
		wantCode   string // for API errors
	}{
		{name: "ready while the backend runs", path: "/readyz?verbose", wantStatus: 200,
			wantBody: `{"status":"ready","backends":{"catalog":"SERVING"}}`},
		{name: "API answers", path: "/v1/practices/p1", wantStatus: 200},
		{name: "backend stops"},
		// The gateway itself is still ready: its other routes work.
		{name: "still ready", path: "/readyz", wantStatus: 200, wantBody: `{"status":"ready"}`},
		{name: "ready, naming the backend that is down", path: "/readyz?verbose", wantStatus: 200,
			wantBody: `{"status":"ready","backends":{"catalog":"UNREACHABLE"}}`},
		// p2: p1's answer may still come from the cache of anonymous
		// reads for a moment.
		{name: "API is unavailable", path: "/v1/practices/p2", wantStatus: 503, wantCode: "UNAVAILABLE"},
		{name: "process is still healthy", path: "/healthz", wantStatus: 200, wantBody: `{"status":"ok"}`},
	}
	for _, step := range steps {
		if step.path == "" {
			stopBackend()
			continue
		}
		r := do(t, http.MethodGet, base+step.path, nil, nil)
		if r.status != step.wantStatus {
			t.Fatalf("%s: status = %d, want %d; body %s", step.name, r.status, step.wantStatus, r.body)
		}
		if step.wantBody != "" && strings.TrimSpace(string(r.body)) != step.wantBody {
			t.Errorf("%s: body = %s, want %s", step.name, r.body, step.wantBody)
		}
		if step.wantCode != "" {
			if got := decodeError(t, r); got.Status != step.wantCode {
				t.Errorf("%s: error.status = %q, want %q", step.name, got.Status, step.wantCode)
			}
		}
	}
}

func TestPanicBecomesJSONError(t *testing.T) {
	s := &Server{cfg: DefaultConfig(), logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	h := chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),
		withRequestID, s.logRequests, s.recoverPanics)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/practices", nil))

	r := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if r.status != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", r.status)
	}
	if got := decodeError(t, r); got.Status != "INTERNAL" || got.Message != "internal error" {
		t.Errorf("error = %+v", got)
	}
}

func TestConfig(t *testing.T) {
	def := DefaultConfig()
	if def.HTTPAddr != "127.0.0.1:8080" || def.CatalogAddr != "127.0.0.1:9091" ||
		def.RequestTimeout != 10*time.Second || def.MaxBodyBytes != 1<<20 || def.ShutdownTimeout <= 0 {
		t.Errorf("DefaultConfig() = %+v", def)
	}
	if err := def.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}

	tests := []struct {
		name       string
		env        map[string]string
		wantErrors []string // every one must be reported
	}{
		{name: "defaults", env: map[string]string{}},
		{name: "overrides", env: map[string]string{"GEMELLA_HTTP_ADDR": ":9000", "GEMELLA_REQUEST_TIMEOUT": "3s"}},
		{
			name: "every problem at once",
			env: map[string]string{
				"GEMELLA_HTTP_ADDR":        "no-port",
				"GEMELLA_CATALOG_ADDR":     "catalog",
				"GEMELLA_REQUEST_TIMEOUT":  "0s",
				"GEMELLA_MAX_BODY_BYTES":   "-1",
				"GEMELLA_SHUTDOWN_TIMEOUT": "-1s",
			},
			wantErrors: []string{"GEMELLA_HTTP_ADDR", "GEMELLA_CATALOG_ADDR", "GEMELLA_REQUEST_TIMEOUT", "GEMELLA_MAX_BODY_BYTES", "GEMELLA_SHUTDOWN_TIMEOUT"},
		},
		{name: "unparsable duration", env: map[string]string{"GEMELLA_REQUEST_TIMEOUT": "soon"}, wantErrors: []string{"RequestTimeout"}},
		// The live feed's NATS credentials are the services' variables.
		{name: "feed credentials", env: map[string]string{"GEMELLA_NATS_USER": "gemella", "GEMELLA_NATS_PASSWORD": "secret"}},
		{name: "feed user without password", env: map[string]string{"GEMELLA_NATS_USER": "gemella"}, wantErrors: []string{"GEMELLA_NATS_PASSWORD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, key := range []string{"GEMELLA_HTTP_ADDR", "GEMELLA_CATALOG_ADDR", "GEMELLA_REQUEST_TIMEOUT", "GEMELLA_MAX_BODY_BYTES", "GEMELLA_SHUTDOWN_TIMEOUT", "GEMELLA_NATS_USER", "GEMELLA_NATS_PASSWORD"} {
				// An empty variable counts as unset: the default applies.
				t.Setenv(key, tc.env[key])
			}
			cfg, err := LoadConfig()
			if len(tc.wantErrors) == 0 {
				if err != nil {
					t.Fatalf("LoadConfig: %v", err)
				}
				if addr, ok := tc.env["GEMELLA_HTTP_ADDR"]; ok && cfg.HTTPAddr != addr {
					t.Errorf("HTTPAddr = %q, want %q", cfg.HTTPAddr, addr)
				}
				if user := tc.env["GEMELLA_NATS_USER"]; cfg.FeedNATS.User != user || cfg.FeedNATS.Password != tc.env["GEMELLA_NATS_PASSWORD"] {
					t.Errorf("FeedNATS = %+v, want user %q and its password", cfg.FeedNATS, user)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadConfig succeeded, want errors about %v", tc.wantErrors)
			}
			for _, want := range tc.wantErrors {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %s", err, want)
				}
			}
		})
	}
}

func TestReadinessHeldUntilReleased(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.CatalogAddr, cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr, cfg.NATSURL = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
	srv := runGateway(t, cfg)
	base := "http://" + srv.Addr()
	expect := func(step string, status int, body string) {
		t.Helper()
		r := do(t, http.MethodGet, base+"/readyz", nil, nil)
		if r.status != status || strings.TrimSpace(string(r.body)) != body {
			t.Errorf("%s: /readyz = %d %s, want %d %s", step, r.status, r.body, status, body)
		}
		if h := do(t, http.MethodGet, base+"/healthz", nil, nil); h.status != http.StatusOK {
			t.Errorf("%s: /healthz = %d, want 200 whatever the holds", step, h.status)
		}
	}
	expect("no hold", 200, `{"status":"ready"}`)
	first, second := srv.HoldReadiness(), srv.HoldReadiness()
	expect("two holds", 503, `{"status":"starting"}`)
	first()
	first() // a second release of the same hold counts for nothing
	expect("one hold left", 503, `{"status":"starting"}`)
	second()
	expect("every hold released", 200, `{"status":"ready"}`)
}
