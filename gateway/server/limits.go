package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/cors"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"

	"github.com/gemella/gemella/services/platform/apperr"
)

// requestClass says which rate limit applies to a request.
type requestClass int

const (
	classRead requestClass = iota
	classLogin
	classRegister
	classWrite
)

// loginPaths and registerPaths are the REST and portal forms that log in
// and sign up; the portal's forms are limited like the API.
var (
	loginPaths    = map[string]bool{"/v1/sessions": true, "/login": true, "/v1/members:requestPasswordReset": true, "/password/forgot": true}
	registerPaths = map[string]bool{"/v1/members": true, "/register": true}
)

func classify(r *http.Request) requestClass {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return classRead
	}
	switch {
	case loginPaths[r.URL.Path] && r.Method == http.MethodPost:
		return classLogin
	case registerPaths[r.URL.Path] && r.Method == http.MethodPost:
		return classRegister
	}
	return classWrite
}

// limiterSet keeps one token bucket per key, forgetting idle keys so that a
// flood of addresses cannot grow it without bound.
//
// Its figures are the whole deployment's: with n gateway replicas sharing
// the load (shareAmong), each keeps 1/n of the rate and of the burst, so
// that a client spread over the replicas by the load balancer meets the
// configured limit, not n times it.
type limiterSet struct {
	baseLimit rate.Limit
	baseBurst int
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	buckets   map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const maxBuckets = 100_000

func newLimiterSet(perMinute, burst int) *limiterSet {
	l := rate.Limit(float64(perMinute) / 60)
	return &limiterSet{baseLimit: l, baseBurst: burst, limit: l, burst: burst, buckets: map[string]*bucket{}}
}

// shareAmong gives this replica its share of the limits when n replicas
// (n >= 1) serve together; the buckets already made take the new
// figures at once.
func (l *limiterSet) shareAmong(n int) {
	n = max(n, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = l.baseLimit / rate.Limit(n)
	l.burst = max(1, int(math.Ceil(float64(l.baseBurst)/float64(n))))
	for _, b := range l.buckets {
		b.lim.SetLimit(l.limit)
		b.lim.SetBurst(l.burst)
	}
}

// budget is what a limiter says about a key after a request: the tokens
// left and how long until the bucket is full again.
type budget struct {
	remaining int
	reset     time.Duration
}

// allow takes a token for key; when none is left it says how long to wait.
func (l *limiterSet) allow(key string, now time.Time) (bool, time.Duration) {
	ok, wait, _ := l.take(key, now)
	return ok, wait
}

// take is allow that also reports the budget left, for the RateLimit header.
func (l *limiterSet) take(key string, now time.Time) (bool, time.Duration, budget) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	ok, wait := true, time.Duration(0)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		ok, wait = false, d
	}
	tokens := max(b.lim.TokensAt(now), 0)
	missing := float64(l.burst) - tokens
	return ok, wait, budget{remaining: int(tokens), reset: time.Duration(missing / float64(l.limit) * float64(time.Second))}
}

// policy is the limiter's quota and window for RateLimit-Policy: a burst
// of q requests, refilled over w seconds.
func (l *limiterSet) policy() (quota, windowSeconds int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.burst, int(math.Ceil(float64(l.burst) / float64(l.limit)))
}

// prune forgets buckets idle long enough to be full again.
func (l *limiterSet) prune(now time.Time) {
	idle := time.Duration(float64(l.burst)/float64(l.limit)*float64(time.Second)) + time.Minute
	for k, b := range l.buckets {
		if now.Sub(b.seen) > idle {
			delete(l.buckets, k)
		}
	}
}

// limits holds the limiters of each class, per client address and per
// credential (session token), so one member cannot write from many
// addresses and many members behind one address are not one budget.
type limits struct {
	byIP         map[requestClass]*limiterSet
	byCredential *limiterSet
	trustProxy   bool
}

// shareAmong divides every limit among n replicas.
func (l *limits) shareAmong(n int) {
	for _, set := range l.byIP {
		set.shareAmong(n)
	}
	l.byCredential.shareAmong(n)
}

func newLimits(cfg Config) *limits {
	return &limits{
		byIP: map[requestClass]*limiterSet{
			classLogin:    newLimiterSet(cfg.LoginPerMinute, cfg.LoginBurst),
			classRegister: newLimiterSet(cfg.RegisterPerMinute, cfg.RegisterBurst),
			classWrite:    newLimiterSet(5*cfg.WritePerMinute, 5*cfg.WriteBurst),
		},
		byCredential: newLimiterSet(cfg.WritePerMinute, cfg.WriteBurst),
		trustProxy:   cfg.TrustProxyHeaders,
	}
}

// middleware answers 429 with Retry-After once a limit is reached.
func (l *limits) middleware(s *Server) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The services count some requests per client address in their
			// store (password reset requests): they learn it from this
			// header, always set here and never taken from the client.
			r.Header.Set(ClientAddressHeader, l.clientIP(r))
			class := classify(r)
			if class == classRead {
				next.ServeHTTP(w, r)
				return
			}
			now := time.Now()
			set, name := l.byIP[class], classNames[class]
			ok, wait, left := set.take(l.clientIP(r), now)
			if ok && class == classWrite {
				if cred := credential(r); cred != "" {
					set, name = l.byCredential, "writes-per-session"
					ok, wait, left = set.take(cred, now)
				}
			}
			setRateLimitHeaders(w.Header(), name, set, left)
			if !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				if s.site != nil && !isAPIPath(r.URL.Path) {
					// A person's form: a page in their language, not JSON.
					s.site.TooManyRequests(w, r, wait)
					return
				}
				s.writeRetryable(w, r, http.StatusTooManyRequests, codes.ResourceExhausted, apperr.ReasonRateLimited, "too many requests: retry after the time in Retry-After", wait)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// classNames name the policies in the RateLimit headers.
var classNames = map[requestClass]string{classLogin: "login", classRegister: "register", classWrite: "writes-per-address"}

// setRateLimitHeaders writes the IETF draft RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers): the policy that applied, its
// quota and window, the requests left and the seconds until it is full.
func setRateLimitHeaders(h http.Header, name string, set *limiterSet, left budget) {
	quota, window := set.policy()
	h.Set("RateLimit-Policy", fmt.Sprintf("%q;q=%d;w=%d", name, quota, window))
	h.Set("RateLimit", fmt.Sprintf("%q;r=%d;t=%d", name, left.remaining, int(math.Ceil(left.reset.Seconds()))))
}

// ClientAddressHeader carries the client's address, as the limits see it,
// from the limits middleware to the handlers behind it; the REST mux and
// the portal send it on to the services (metadata gemella-client-address).
const ClientAddressHeader = "X-Gemella-Client-Address"

// clientIP is the peer address, or the first X-Forwarded-For address when
// the gateway runs behind a trusted proxy.
func (l *limits) clientIP(r *http.Request) string {
	if l.trustProxy {
		if fwd := r.Header.Get("X-Forwarded-For"); fwd != "" {
			first, _, _ := strings.Cut(fwd, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// credentialCookie is the portal's session cookie (HttpOnly; set on log-in).
const credentialCookie = "gemella_session"

// credential identifies the session of a request without trusting it: the
// hash of its bearer token or session cookie (the services verify them).
func credential(r *http.Request) string {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		if c, err := r.Cookie(credentialCookie); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:12])
}

// withCORS lets the configured origins call the API from a browser; with
// none configured no CORS header is sent (same-origin only).
func withCORS(origins []string) middleware {
	if len(origins) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	c := cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-Id", "Last-Event-ID", "X-CSRF-Token"},
		ExposedHeaders:   []string{"X-Request-Id", "Retry-After", "ETag", "RateLimit", "RateLimit-Policy", "WWW-Authenticate"},
		AllowCredentials: false,
		MaxAge:           600,
	})
	return func(next http.Handler) http.Handler {
		h := c.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodOptions && isAPIPath(r.URL.Path) && r.Header.Get("Access-Control-Request-Method") == "" {
				// A plain OPTIONS (not a preflight) asks what the API allows.
				w.Header().Set("Allow", "GET, POST, PATCH, DELETE, OPTIONS")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}
