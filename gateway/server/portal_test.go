package server

import (
	"net/http"
	"strings"
	"testing"
)

// The portal answers every path the API does not own; the API's paths
// keep their JSON answers.
func TestPortalIsMountedBesideTheAPI(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGateway(t, backend)

	tests := []struct {
		path       string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"/", http.StatusOK, "text/html", `<html lang="it">`},
		{"/practices/p1", http.StatusOK, "text/html", "Modelli trasferibili"},
		{"/no/such/page", http.StatusNotFound, "text/html", "Pagina non trovata"},
		{"/v1/practices/p1", http.StatusOK, "application/json", `"id":"p1"`},
		{"/v1/nothing-here", http.StatusNotFound, "application/json", `"ROUTE_NOT_FOUND"`},
		{"/v1", http.StatusNotFound, "application/json", `"ROUTE_NOT_FOUND"`},
		{"/healthz", http.StatusOK, "application/json", ""},
		{"/openapi.json", http.StatusOK, "application/json", `"Gemella API"`},
	}
	for _, tc := range tests {
		r := do(t, http.MethodGet, base+tc.path, nil, nil)
		if r.status != tc.wantStatus || !strings.HasPrefix(r.header.Get("Content-Type"), tc.wantType) || !strings.Contains(string(r.body), tc.wantBody) {
			t.Errorf("GET %s = %d %s, want %d %s with %q; body %.300s", tc.path, r.status, r.header.Get("Content-Type"), tc.wantStatus, tc.wantType, tc.wantBody, r.body)
		}
	}
}

func TestPortalConfigurationFromTheEnvironment(t *testing.T) {
	if got := DefaultConfig().Portal.AssetsDir; got != "gateway/portal/web/node_modules" {
		t.Errorf("default assets folder %q", got)
	}
	t.Setenv("GEMELLA_PORTAL_ASSETS_DIR", "/srv/gemella/node_modules")
	t.Setenv("GEMELLA_PORTAL_SECURE_COOKIES", "true")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Portal.AssetsDir != "/srv/gemella/node_modules" || !cfg.Portal.SecureCookies {
		t.Errorf("portal configuration %+v", cfg.Portal)
	}
	t.Setenv("GEMELLA_PORTAL_CSRF_KEY", "too-short")
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "GEMELLA_PORTAL_CSRF_KEY") {
		t.Errorf("a short CSRF key is accepted: %v", err)
	}
}
