package server

import (
	"net/http"
	"sync"
	"time"
)

// publicCache keeps the 200 answers of anonymous API GETs for a moment
// (GEMELLA_GATEWAY_PUBLIC_CACHE_TTL, one second by default), so that a burst
// of readers of the same practice costs one backend call per moment instead
// of one per reader. Only anonymous reads are kept: what a member sees with a
// session always comes from the backend.
//
// Several gateway replicas each keep their own: that is safe because an
// anonymous answer is already public for publicMaxAge seconds to every
// browser and proxy on the way, far longer than the TTL. Within a replica a
// successful write through it, and every event its live feed receives from
// any replica's backends, empties the cache; a fill that was under way when
// that happened is not kept, so it cannot store what the write replaced.
type publicCache struct {
	ttl        time.Duration
	maxEntries int
	maxBody    int

	mu      sync.Mutex
	gen     uint64
	entries map[string]cachedAnswer
}

type cachedAnswer struct {
	expires time.Time
	header  http.Header
	body    []byte
}

func newPublicCache(ttl time.Duration) *publicCache {
	if ttl <= 0 {
		return nil
	}
	return &publicCache{ttl: ttl, maxEntries: 4096, maxBody: 256 << 10, entries: map[string]cachedAnswer{}}
}

// cacheKey is what an anonymous answer depends on: the path and query, and
// the negotiated language and type.
func cacheKey(r *http.Request) string {
	return r.URL.RequestURI() + "\x00" + r.Header.Get("Accept-Language") + "\x00" + r.Header.Get("Accept")
}

// get returns a live entry and the generation a fill must be stored under.
func (c *publicCache) get(key string, now time.Time) (cachedAnswer, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok && now.Before(e.expires) {
		return e, true, c.gen
	}
	if ok {
		delete(c.entries, key)
	}
	return cachedAnswer{}, false, c.gen
}

// put keeps an answer unless the cache was emptied since gen was read.
func (c *publicCache) put(key string, gen uint64, now time.Time, header http.Header, body []byte) {
	if len(body) > c.maxBody || len(header.Values("Set-Cookie")) > 0 {
		// A cookie is one client's: never handed to the next.
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= c.maxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.maxEntries {
			return
		}
	}
	c.entries[key] = cachedAnswer{expires: now.Add(c.ttl), header: header, body: append([]byte(nil), body...)}
}

// invalidate empties the cache; fills under way are not kept.
func (c *publicCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// headerChanges is what a handler set on h, compared with before.
func headerChanges(before, after http.Header) http.Header {
	out := http.Header{}
	for k, v := range after {
		if old, ok := before[k]; ok && equalValues(old, v) {
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

func equalValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
