package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestMethodNotAllowed: a method a route does not have is a 405 with Allow
// and the usual error body, even as a form POST (what curl -d sends), which
// grpc-gateway would otherwise serve as the GET.
func TestMethodNotAllowed(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGateway(t, backend)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		wantAllow          string
	}{
		{name: "form POST on a GET route", method: "POST", path: "/v1/practices/p1/lineage", header: form, body: "a=b", wantAllow: "GET"},
		{name: "JSON POST on a GET route", method: "POST", path: "/v1/practices/p1/lineage", body: "{}", wantAllow: "GET"},
		{name: "form POST on the search of everything", method: "POST", path: "/v1/search?q=x", header: form, body: "q=x", wantAllow: "GET"},
		{name: "form POST on a resource", method: "POST", path: "/v1/practices/p1", header: form, wantAllow: "DELETE, GET, PATCH"},
		{name: "method override does not turn a POST into a DELETE", method: "POST", path: "/v1/practices/p1",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-HTTP-Method-Override": "DELETE"}, wantAllow: "DELETE, GET, PATCH"},
		{name: "GET on a custom verb is not the GET of the resource", method: "GET", path: "/v1/practices/p1:publish", wantAllow: "POST"},
		{name: "PUT on a collection", method: "PUT", path: "/v1/practices", body: "{}", wantAllow: "GET, POST"},
		{name: "form POST on a gateway endpoint", method: "POST", path: "/healthz", header: form, wantAllow: "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, base+tc.path, tc.header, strings.NewReader(tc.body))
			if r.status != http.StatusMethodNotAllowed {
				t.Fatalf("status = %d, want 405; body %.300s", r.status, r.body)
			}
			if got := r.header.Get("Allow"); got != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tc.wantAllow)
			}
			got := decodeError(t, r)
			if got.Status != "UNIMPLEMENTED" || got.Reason != "METHOD_NOT_ALLOWED" {
				t.Errorf("error = %s %s, want UNIMPLEMENTED METHOD_NOT_ALLOWED", got.Status, got.Reason)
			}
		})
	}
}

// TestAllowedMethodsOfPaths: the Allow of the routes of every service, the
// custom verbs and the gateway's own routes included.
func TestAllowedMethodsOfPaths(t *testing.T) {
	routes, err := loadRoutes()
	if err != nil {
		t.Fatal(err)
	}
	var m pathMethods
	for _, rt := range routes.unique() {
		m.add(rt.method, rt.template)
	}
	m.add(http.MethodGet, reportDownloadPath)
	m.add(http.MethodGet, searchPath)
	for path, want := range map[string]string{
		"/v1/twinnings/t1/reports/r1:render":   "GET",
		"/v1/twinnings/t1/reports/r1:approve":  "POST",
		"/v1/twinnings/t1/reports/r1/download": "GET",
		"/v1/twinnings/t1/reports/r1":          "GET, PATCH",
		"/v1/practices/p1/lineage":             "GET",
		"/v1/search":                           "GET",
		"/v1/practices/p1:publish":             "POST",
		"/v1/nothing-here":                     "",
	} {
		if got := m.allowed(path); got != want {
			t.Errorf("allowed(%s) = %q, want %q", path, got, want)
		}
	}
}
