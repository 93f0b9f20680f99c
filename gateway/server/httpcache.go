package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// HTTP the way clients and caches expect it:
//
//   - every successful GET of the API has an ETag: the resource's own etag
//     (the one If-Match takes on updates) when the answer is a resource, a
//     hash of the body for lists and other answers; If-None-Match with a
//     matching tag answers 304 without a body;
//   - Cache-Control: anonymous reads are public for a short while
//     (publicMaxAge), reads with a session are private and revalidated,
//     errors are never stored;
//   - JSON and HTML are compressed (gzip, or zstd when preferred) by
//     github.com/klauspost/compress/gzhttp, already in the module graph
//     through NATS: it negotiates Accept-Encoding with q-values, sets Vary,
//     skips small bodies and compressed content types, and pools writers,
//     which the standard library (compress/gzip alone) leaves to us;
//   - the backends' gRPC metadata never becomes response headers
//     (noGRPCMetadata).

// publicMaxAge is how long anyone may reuse an anonymous read: short, so a
// change shows within seconds, yet long enough to absorb a burst.
const publicMaxAge = 10

// setResourceETag is a grpc-gateway forward-response option: an answer
// that is a resource with an etag gets it as its ETag header.
func setResourceETag(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	if m == nil {
		return nil
	}
	msg := m.ProtoReflect()
	fd := msg.Descriptor().Fields().ByName("etag")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return nil
	}
	if tag := msg.Get(fd).String(); validEntityTag(tag) {
		w.Header().Set("ETag", tag)
	}
	return nil
}

// validEntityTag accepts "…" or W/"…" with the characters RFC 9110 allows.
func validEntityTag(tag string) bool {
	tag = strings.TrimPrefix(tag, "W/")
	if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		return false
	}
	for _, c := range []byte(tag[1 : len(tag)-1]) {
		if c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// noGRPCMetadata keeps the backends' response metadata (content-type,
// grpc-status and the like) out of the HTTP headers.
func noGRPCMetadata(string) (string, bool) { return "", false }

// cacheable is a request whose answer the caching middleware handles.
func cacheable(r *http.Request) bool {
	return r.Method == http.MethodGet && isAPIPath(r.URL.Path) && !isStream(r.URL.Path) && r.URL.Path != unsubscribePath &&
		r.URL.Path != "/healthz" && r.URL.Path != "/readyz"
}

// httpCaching buffers the answer of a GET, gives it an ETag and a
// Cache-Control, and answers 304 when If-None-Match matches. It runs after
// sessionCookies, so that a session cookie counts as a session.
func (s *Server) httpCaching(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cacheable(r) {
			next.ServeHTTP(w, r)
			if isWrite(r.Method) && isAPIPath(r.URL.Path) {
				// What this write changed must not be served from the
				// cache of anonymous reads.
				s.publicCache.invalidate()
			}
			return
		}
		h := w.Header()
		anonymous := r.Header.Get("Authorization") == ""
		var key string
		var gen uint64
		var before http.Header
		if anonymous && s.publicCache != nil {
			key = cacheKey(r)
			now := time.Now()
			e, hit, g := s.publicCache.get(key, now)
			if hit {
				for k, v := range e.header {
					h[k] = append([]string(nil), v...)
				}
				s.finishGET(w, r, http.StatusOK, e.body)
				return
			}
			gen, before = g, h.Clone()
		}
		buf := &bufferedResponse{ResponseWriter: w}
		next.ServeHTTP(buf, r)
		if before != nil && (buf.status == 0 || buf.status == http.StatusOK) {
			s.publicCache.put(key, gen, time.Now(), headerChanges(before, h), buf.body.Bytes())
		}
		s.finishGET(w, r, buf.status, buf.body.Bytes())
	})
}

// finishGET sends a GET's complete answer with its ETag, Cache-Control and
// Vary, or 304 when If-None-Match matches.
func (s *Server) finishGET(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Add("Vary", "Authorization, Cookie, Accept-Language")
	if status != 0 && status != http.StatusOK {
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	tag := h.Get("ETag")
	if !validEntityTag(tag) {
		sum := sha256.Sum256(body)
		tag = `W/"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		h.Set("ETag", tag)
	}
	if r.Header.Get("Authorization") != "" {
		h.Set("Cache-Control", "private, no-cache")
	} else {
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(publicMaxAge))
	}
	if noneMatch(r.Header.Get("If-None-Match"), tag) {
		h.Del("Content-Type")
		h.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// noneMatch is If-None-Match's weak comparison: any listed tag (or *)
// equal to tag, W/ prefixes ignored.
func noneMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	opaque := strings.TrimPrefix(tag, "W/")
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == opaque {
			return true
		}
	}
	return false
}

// bufferedResponse holds a GET's answer until it is complete; headers go
// straight to the real writer's map.
type bufferedResponse struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Flush does nothing: the answer is sent whole once complete.
func (b *bufferedResponse) Flush() {}

// compressed wraps the handler with gzip and zstd for the text types the
// gateway serves. The live feed is left alone: a compressor buffers, and a
// stream must reach the browser event by event.
func compressed() (middleware, error) {
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(1024),
		gzhttp.ContentTypes([]string{
			"application/json", "text/html", "text/css", "text/javascript", "application/javascript",
			"image/svg+xml", "text/plain",
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("compression: %w", err)
	}
	return func(next http.Handler) http.Handler {
		gz := wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isStream(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			if r.Method == http.MethodHead && isAPIPath(r.URL.Path) {
				// HEAD is served as the GET, whose body net/http drops
				// since the connection knows it is a HEAD: the same headers,
				// ETag and Content-Encoding included (gzhttp alone does not
				// compress HEAD).
				r = r.Clone(r.Context())
				r.Method = http.MethodGet
			}
			gz.ServeHTTP(w, r)
		})
	}, nil
}
