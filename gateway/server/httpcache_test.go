package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// startGatewayChanged is startGateway with a configuration change.
func startGatewayChanged(t *testing.T, backendAddr string, change func(*Config)) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.CatalogAddr = backendAddr
	cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr, cfg.NATSURL = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
	change(&cfg)
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
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
		_ = srv.Close()
	})
	return "http://" + srv.Addr()
}

// rawClient shows the bytes on the wire: no transparent gzip.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func rawDo(t *testing.T, method, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestETagsAndConditionalGets(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGateway(t, backend)

	first := rawDo(t, "GET", base+"/v1/practices/p1", nil)
	if first.status != 200 || first.header.Get("ETag") != currentEtag {
		t.Fatalf("GET: %d, ETag %q, want the resource's etag %s", first.status, first.header.Get("ETag"), currentEtag)
	}
	if cc := first.header.Get("Cache-Control"); cc != "public, max-age=10" {
		t.Errorf("anonymous Cache-Control = %q", cc)
	}
	for k := range first.header {
		if strings.HasPrefix(strings.ToLower(k), "grpc-") {
			t.Errorf("gRPC metadata leaks as header %s", k)
		}
	}
	for _, tc := range []struct {
		ifNoneMatch string
		want        int
	}{{currentEtag, 304}, {`W/` + currentEtag, 304}, {`"other", ` + currentEtag, 304}, {"*", 304}, {`"v1"`, 200}} {
		r := rawDo(t, "GET", base+"/v1/practices/p1", map[string]string{"If-None-Match": tc.ifNoneMatch})
		if r.status != tc.want {
			t.Errorf("If-None-Match %s: %d, want %d", tc.ifNoneMatch, r.status, tc.want)
		}
		if r.status == 304 && (len(r.body) != 0 || r.header.Get("ETag") != currentEtag) {
			t.Errorf("304 with body %q, ETag %q", r.body, r.header.Get("ETag"))
		}
	}

	private := rawDo(t, "GET", base+"/v1/practices/p1", map[string]string{"Authorization": "Bearer t"})
	if cc := private.header.Get("Cache-Control"); cc != "private, no-cache" {
		t.Errorf("Cache-Control with a session = %q", cc)
	}
	if !strings.Contains(strings.Join(private.header.Values("Vary"), ","), "Authorization") {
		t.Errorf("Vary = %v", private.header.Values("Vary"))
	}

	// An answer that is not a resource gets a hash of its body.
	doc := rawDo(t, "GET", base+"/openapi.json", nil)
	tag := doc.header.Get("ETag")
	if doc.status != 200 || !strings.HasPrefix(tag, `W/"`) {
		t.Fatalf("openapi.json: %d, ETag %q", doc.status, tag)
	}
	if again := rawDo(t, "GET", base+"/openapi.json", map[string]string{"If-None-Match": tag}); again.status != 304 {
		t.Errorf("openapi.json with its ETag: %d", again.status)
	}

	// Errors are not stored and have no ETag.
	missing := rawDo(t, "GET", base+"/v1/practices/notfound", nil)
	if missing.status != 404 || missing.header.Get("ETag") != "" || missing.header.Get("Cache-Control") != "no-store" {
		t.Errorf("404: ETag %q, Cache-Control %q", missing.header.Get("ETag"), missing.header.Get("Cache-Control"))
	}
}

func TestCompression(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGateway(t, backend)
	plain := rawDo(t, "GET", base+"/openapi.json", nil)
	zipped := rawDo(t, "GET", base+"/openapi.json", map[string]string{"Accept-Encoding": "gzip"})
	if zipped.header.Get("Content-Encoding") != "gzip" || len(zipped.body) >= len(plain.body)/3 {
		t.Fatalf("Content-Encoding %q, %d bytes for %d", zipped.header.Get("Content-Encoding"), len(zipped.body), len(plain.body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped.body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain.body) {
		t.Fatalf("gunzipped body differs (%v)", err)
	}
	if zipped.header.Get("ETag") != plain.header.Get("ETag") {
		t.Errorf("ETag %q compressed, %q plain", zipped.header.Get("ETag"), plain.header.Get("ETag"))
	}
	// HEAD answers the headers of the GET.
	head := rawDo(t, "HEAD", base+"/openapi.json", map[string]string{"Accept-Encoding": "gzip"})
	if head.status != 200 || head.header.Get("Content-Encoding") != "gzip" || head.header.Get("ETag") != plain.header.Get("ETag") || len(head.body) != 0 {
		t.Errorf("HEAD: %d, Content-Encoding %q, ETag %q, %d bytes", head.status, head.header.Get("Content-Encoding"), head.header.Get("ETag"), len(head.body))
	}
	// HTML of the portal too.
	page := rawDo(t, "GET", base+"/", map[string]string{"Accept-Encoding": "gzip"})
	if page.status != 200 || page.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("portal page: %d, Content-Encoding %q", page.status, page.header.Get("Content-Encoding"))
	}
	// A small answer is not worth compressing.
	small := rawDo(t, "GET", base+"/healthz", map[string]string{"Accept-Encoding": "gzip"})
	if small.header.Get("Content-Encoding") != "" {
		t.Errorf("healthz compressed")
	}
}

func TestCORSAndOptions(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGatewayChanged(t, backend, func(c *Config) { c.CORSOrigins = []string{"https://app.example"} })
	pre := rawDo(t, "OPTIONS", base+"/v1/practices", map[string]string{
		"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, if-match",
	})
	if pre.status/100 != 2 || pre.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	other := rawDo(t, "OPTIONS", base+"/v1/practices", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
	if other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin allowed: %v", other.header)
	}
	plain := rawDo(t, "OPTIONS", base+"/v1/practices", nil)
	if plain.status != 204 || !strings.Contains(plain.header.Get("Allow"), "PATCH") {
		t.Errorf("OPTIONS: %d, Allow %q", plain.status, plain.header.Get("Allow"))
	}
	get := rawDo(t, "GET", base+"/v1/practices/p1", map[string]string{"Origin": "https://app.example"})
	if !strings.Contains(get.header.Get("Access-Control-Expose-Headers"), "Etag") && !strings.Contains(get.header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Errorf("ETag not exposed: %q", get.header.Get("Access-Control-Expose-Headers"))
	}
}

func TestRateLimitHeaders(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGatewayChanged(t, backend, func(c *Config) { c.WriteBurst, c.WritePerMinute = 2, 60 })
	var last response
	for i := 0; i < 12; i++ {
		req, _ := http.NewRequest("POST", base+"/v1/practices", strings.NewReader(`{"title":"x"}`))
		req.Header.Set("Authorization", "Bearer same-session")
		resp, err := rawClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = response{status: resp.StatusCode, header: resp.Header, body: b}
		if i == 0 && (last.header.Get("RateLimit") != `"writes-per-session";r=1;t=1` || last.header.Get("RateLimit-Policy") != `"writes-per-session";q=2;w=2`) {
			t.Errorf("first write: RateLimit %q, RateLimit-Policy %q", last.header.Get("RateLimit"), last.header.Get("RateLimit-Policy"))
		}
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" || !strings.Contains(last.header.Get("RateLimit"), "r=0") {
		t.Fatalf("no 429 with Retry-After and RateLimit r=0: %d %v", last.status, last.header)
	}
	got := decodeError(t, last)
	if got.Reason != "RATE_LIMITED" || got.RetryDelay <= 0 {
		t.Errorf("429 body: reason %q, retry %v", got.Reason, got.RetryDelay)
	}
}
