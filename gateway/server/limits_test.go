package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func limitedHandler(t *testing.T, mutate func(*Config)) http.Handler {
	t.Helper()
	cfg := DefaultConfig()
	cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr, cfg.NATSURL = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
	cfg.CatalogAddr = "127.0.0.1:1" // never reached by these requests' outcome checks
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.Handler()
}

func send(h http.Handler, method, path, remote string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(`{}`))
	req.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFiftyLoginsInASecondAreCut(t *testing.T) {
	h := limitedHandler(t, nil)
	limited, firstLimited := 0, -1
	for i := 0; i < 50; i++ {
		rec := send(h, "POST", "/v1/sessions", "203.0.113.7:4000")
		if rec.Code == http.StatusTooManyRequests {
			if firstLimited < 0 {
				firstLimited = i
			}
			limited++
			if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
				t.Fatalf("429 without a usable Retry-After: %q", rec.Header().Get("Retry-After"))
			}
			if !strings.Contains(rec.Body.String(), `"RATE_LIMITED"`) {
				t.Fatalf("429 body: %s", rec.Body)
			}
		}
	}
	if firstLimited != DefaultConfig().LoginBurst || limited != 50-DefaultConfig().LoginBurst {
		t.Fatalf("first 429 at request %d (%d limited), want after the burst of %d", firstLimited, limited, DefaultConfig().LoginBurst)
	}
	// Another address has its own budget.
	if rec := send(h, "POST", "/v1/sessions", "198.51.100.9:4000"); rec.Code == http.StatusTooManyRequests {
		t.Fatal("another client address was limited too")
	}
}

func TestWritesAreLimitedPerSessionAcrossAddresses(t *testing.T) {
	h := limitedHandler(t, func(c *Config) { c.WriteBurst, c.WritePerMinute = 3, 3 })
	// One address without a session: five times the session budget.
	for i := 0; i < 15; i++ {
		if rec := send(h, "PATCH", "/v1/practices/x", "192.0.2.200:1"); rec.Code == 429 {
			t.Fatalf("anonymous write %d from one address limited before 15", i)
		}
	}
	if rec := send(h, "PATCH", "/v1/practices/x", "192.0.2.200:1"); rec.Code != 429 {
		t.Fatalf("16th write from one address: %d, want 429", rec.Code)
	}
	for i := 0; i < 3; i++ {
		if rec := send(h, "POST", "/v1/practices", "192.0.2."+strconv.Itoa(i+1)+":1", "Authorization", "Bearer same-token"); rec.Code == 429 {
			t.Fatalf("write %d limited too early", i)
		}
	}
	if rec := send(h, "POST", "/v1/practices", "192.0.2.99:1", "Authorization", "Bearer same-token"); rec.Code != 429 {
		t.Fatalf("fourth write of one session from a fresh address: %d, want 429", rec.Code)
	}
	for i := 0; i < 20; i++ {
		if rec := send(h, "GET", "/v1/practices", "192.0.2.99:1", "Authorization", "Bearer same-token"); rec.Code == 429 {
			t.Fatal("reads must not be rate limited")
		}
	}
}

func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	closed := limitedHandler(t, nil)
	rec := send(closed, "OPTIONS", "/v1/practices", "192.0.2.1:1", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS allowed with no origin configured")
	}
	open := limitedHandler(t, func(c *Config) { c.CORSOrigins = []string{"https://portale.regione.example"} })
	rec = send(open, "OPTIONS", "/v1/practices", "192.0.2.1:1", "Origin", "https://portale.regione.example", "Access-Control-Request-Method", "POST")
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://portale.regione.example" {
		t.Fatalf("preflight from the configured origin: %v", rec.Header())
	}
	rec = send(open, "OPTIONS", "/v1/practices", "192.0.2.1:1", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS allowed an origin that is not configured")
	}
}

func TestRateAndCORSConfigIsValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.LoginBurst, cfg.CORSOrigins = 0, []string{"ftp://x"}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "GEMELLA_RATE_LOGIN_BURST") || !strings.Contains(err.Error(), "GEMELLA_CORS_ORIGINS") {
		t.Fatalf("validate: %v", err)
	}
}

// A person who sends the log-in form too often reads a page in their
// language that says how long to wait, not the API's JSON.
func TestALimitedFormIsAPageInTheVisitorsLanguage(t *testing.T) {
	h := limitedHandler(t, func(c *Config) { c.LoginBurst, c.LoginPerMinute = 1, 1 })
	send(h, "POST", "/login", "203.0.113.8:4000", "Content-Type", "application/x-www-form-urlencoded")
	for _, tc := range []struct {
		cookie, want, not string
	}{
		{"", "troppe richieste", "Too many"},
		{"gemella_lang=en", "too many requests", "troppe"},
	} {
		rec := send(h, "POST", "/login", "203.0.113.8:4000", "Content-Type", "application/x-www-form-urlencoded", "Cookie", tc.cookie)
		body := rec.Body.String()
		if rec.Code != http.StatusTooManyRequests || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("cookie %q: %d %s, want a 429 page", tc.cookie, rec.Code, rec.Header().Get("Content-Type"))
		}
		if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("cookie %q: Retry-After %q", tc.cookie, rec.Header().Get("Retry-After"))
		}
		if !strings.Contains(strings.ToLower(body), tc.want) || strings.Contains(body, tc.not) || strings.Contains(body, "RATE_LIMITED") {
			t.Errorf("cookie %q: the page does not say %q in its language: %.600s", tc.cookie, tc.want, body)
		}
	}
	// The API keeps its JSON.
	send(h, "POST", "/v1/sessions", "203.0.113.9:4000")
	if rec := send(h, "POST", "/v1/sessions", "203.0.113.9:4000"); rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"RATE_LIMITED"`) {
		t.Errorf("API: %d %.300s", rec.Code, rec.Body)
	}
}
