package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/gemella/gemella/gateway/opendata"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/telemetry"
)

// middleware wraps a handler with one concern.
type middleware func(http.Handler) http.Handler

// chain applies the middlewares so that the first one listed sees the
// request first.
func chain(h http.Handler, mws ...middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

const requestIDHeader = "X-Request-Id"

// withRequestID gives every request an id: the caller's X-Request-Id when it
// is sane, a new one otherwise. The id is echoed in the response, kept in the
// context for logs and error bodies, and written back into the request header
// so the incoming header matcher forwards the same id to the backends.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !saneRequestID(id) {
			id = rand.Text()
		}
		r, st := withState(r)
		st.id = id
		r.Header.Set(requestIDHeader, id)
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}

// saneRequestID accepts short ids made of characters that are safe in logs,
// headers and gRPC metadata.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

func requestIDFrom(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.id
	}
	return ""
}

// logRequests writes one access log line per request, also for requests
// that end in a panic.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			s.logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("request_id", requestIDFrom(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.statusOrOK()),
				slog.Int64("bytes", rec.written),
				slog.Duration("duration", time.Since(start)),
				slog.String("trace_id", telemetry.TraceID(r.Context())))
		}()
		next.ServeHTTP(rec, r)
	})
}

// recoverPanics turns a panic into a 500 JSON error when nothing has been
// written yet, and into an aborted connection otherwise, so a client never
// takes a truncated body for a complete one.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.logger.ErrorContext(r.Context(), "panic while serving a request",
				slog.String("request_id", requestIDFrom(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("panic", fmt.Sprint(p)),
				slog.String("stack", string(debug.Stack())))
			if rec.status != 0 {
				panic(http.ErrAbortHandler)
			}
			s.writeError(rec, r, http.StatusInternalServerError, codes.Internal, apperr.ReasonInternal, "internal error")
		}()
		next.ServeHTTP(rec, r)
	})
}

// withTimeout gives every request a deadline; grpc-gateway passes it on to
// the backend call, whose DEADLINE_EXCEEDED becomes a 504.
func withTimeout(d time.Duration) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isStream(r.URL.Path) || opendata.Owns(r.URL.Path) {
				// A stream, or a download that sets its own deadline
				// (GEMELLA_OPENDATA_EXPORT_TIMEOUT): it ends when the
				// client or the gateway goes.
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// limitBody answers 413 to a body announced larger than the limit and caps
// the bodies of unknown length with http.MaxBytesReader.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.writeBodyTooLarge(w, r)
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			// A request without a body (most GETs) has nothing to cap.
			next.ServeHTTP(w, r)
			return
		}
		body := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)}
		r, st := withState(r)
		st.body = body
		r.Body = body
		next.ServeHTTP(w, r)
	})
}

// limitedBody remembers that the body hit the limit, because grpc-gateway
// turns the reader's error into a plain message before the error handler
// sees it.
type limitedBody struct {
	io.ReadCloser
	exceeded bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.exceeded = true
	}
	return n, err
}

func bodyLimitExceeded(ctx context.Context) bool {
	st := stateFrom(ctx)
	return st != nil && st.body != nil && st.body.exceeded
}

// statusRecorder notes the status and size of a response. It keeps
// flushing available (server-sent events, streamed responses) and exposes
// the wrapped writer to http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	written int64
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 && status >= http.StatusOK {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.written += int64(n)
	return n, err
}

func (r *statusRecorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) statusOrOK() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
