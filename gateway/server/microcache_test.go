package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// echoTitle is the title the stub answers for echo-metadata: the request
// id the backend received, different for every call that reaches it.
func echoTitle(t *testing.T, base string, header map[string]string) string {
	t.Helper()
	r := rawDo(t, "GET", base+"/v1/practices/echo-metadata", header)
	if r.status != http.StatusOK {
		t.Fatalf("GET echo-metadata: %d %s", r.status, r.body)
	}
	var p struct {
		Title string `json:"title"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Title == "" {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	return p.Title
}

func TestPublicCacheServesAnonymousReadsForAMoment(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGatewayChanged(t, backend, func(c *Config) { c.PublicCacheTTL = time.Minute })

	first := echoTitle(t, base, nil)
	if again := echoTitle(t, base, nil); again != first {
		t.Errorf("second anonymous read reached the backend (request %q, then %q): not cached", first, again)
	}
	full := rawDo(t, "GET", base+"/v1/practices/echo-metadata", map[string]string{"If-None-Match": `"nothing"`})
	if full.header.Get("Cache-Control") != "public, max-age=10" || full.header.Get("Content-Type") == "" {
		t.Errorf("cached answer headers: Cache-Control %q, Content-Type %q", full.header.Get("Cache-Control"), full.header.Get("Content-Type"))
	}
	// Another language is another entry.
	if other := echoTitle(t, base, map[string]string{"Accept-Language": "en"}); other == first {
		t.Errorf("a read in another language was served the Italian entry")
	}
	// A member's read always reaches the backend.
	a := echoTitle(t, base, map[string]string{"Authorization": "Bearer t"})
	b := echoTitle(t, base, map[string]string{"Authorization": "Bearer t"})
	if a == b || a == first {
		t.Errorf("reads with a session were served from the cache: %q, %q", a, b)
	}
	// A write through this gateway empties the cache.
	w := rawDo(t, "PATCH", base+"/v1/practices/p1", map[string]string{"If-Match": currentEtag, "Content-Type": "application/json"})
	if w.status >= 500 {
		t.Fatalf("PATCH: %d %s", w.status, w.body)
	}
	if after := echoTitle(t, base, nil); after == first {
		t.Errorf("after a write the anonymous read still came from the cache")
	}
	// Errors are never kept.
	for i := 0; i < 2; i++ {
		if r := rawDo(t, "GET", base+"/v1/practices/notfound", nil); r.status != http.StatusNotFound {
			t.Fatalf("GET notfound: %d", r.status)
		}
	}
}

func TestPublicCacheOff(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGatewayChanged(t, backend, func(c *Config) { c.PublicCacheTTL = 0 })
	if a, b := echoTitle(t, base, nil), echoTitle(t, base, nil); a == b {
		t.Errorf("with GEMELLA_GATEWAY_PUBLIC_CACHE_TTL=0 two reads gave the same request id %q", a)
	}
}

func TestPublicCacheDropsAFillOverlappingAnInvalidation(t *testing.T) {
	c := newPublicCache(time.Minute)
	now := time.Now()
	_, hit, gen := c.get("k", now)
	if hit {
		t.Fatal("empty cache hit")
	}
	c.invalidate() // a write finished while the read was at the backend
	c.put("k", gen, now, http.Header{"Content-Type": {"application/json"}}, []byte(`{"old":true}`))
	if _, hit, _ := c.get("k", now); hit {
		t.Fatal("an answer read before a write was kept after the write")
	}
	_, _, gen = c.get("k", now)
	c.put("k", gen, now, http.Header{}, []byte(`{}`))
	if _, hit, _ := c.get("k", now); !hit {
		t.Fatal("a fill with the current generation was not kept")
	}
	if _, hit, _ := c.get("k", now.Add(2*time.Minute)); hit {
		t.Fatal("an expired entry was served")
	}
	c.put("cookie", gen, now, http.Header{"Set-Cookie": {"gemella_session=x"}}, []byte(`{}`))
	if _, hit, _ := c.get("cookie", now); hit {
		t.Fatal("an answer that sets a cookie was kept for the next client")
	}
	if c.put("big", gen, now, http.Header{}, []byte(strings.Repeat("x", c.maxBody+1))); len(c.entries) != 0 {
		t.Fatalf("an oversized answer was kept (%d entries)", len(c.entries))
	}
}
