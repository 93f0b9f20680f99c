package opendata

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Paths under Prefix.
const (
	// Prefix is where the service is mounted.
	Prefix      = "/opendata/"
	CatalogPath = Prefix + "catalog.jsonld"
)

// LicenseURL is the licence of every file: CC BY 4.0.
const LicenseURL = "https://creativecommons.org/licenses/by/4.0/"

// licenseLink states the licence of each download in its metadata, since
// a CSV file has no place for it (a comment line would break parsers).
const licenseLink = "<" + LicenseURL + `>; rel="license"`

// Owns reports the paths the service answers: the gateway routes them
// here and lets a download run longer than its request timeout.
func Owns(path string) bool {
	return path == "/opendata" || strings.HasPrefix(path, Prefix)
}

// Route is the metrics label of path: a bounded set.
func Route(path string) string {
	switch path {
	case "/opendata", Prefix:
		return Prefix
	case CatalogPath:
		return CatalogPath
	}
	return Prefix + "{table}.{format}"
}

// ServeHTTP answers GET and HEAD under /opendata/.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeError(w, r, http.StatusMethodNotAllowed, codes.Unimplemented, "open data is read with GET or HEAD")
		return
	}
	switch r.URL.Path {
	case "/opendata":
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	case Prefix:
		s.serveIndex(w, r)
		return
	case CatalogPath:
		s.serveCatalog(w, r)
		return
	}
	name, ext, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, Prefix), ".")
	t, known := s.byName[name]
	f := Format(ext)
	if !ok || !known || (f != CSV && f != JSONL) {
		s.writeError(w, r, http.StatusNotFound, codes.NotFound, "no such open data file: see "+Prefix+" for the tables and their formats")
		return
	}
	s.serveTable(w, r, t, f)
}

// acquire takes a download slot, or says why not.
func (s *Service) acquire(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, true
	default:
		w.Header().Set("Retry-After", "10")
		s.writeError(w, r, http.StatusServiceUnavailable, codes.Unavailable, "too many open data downloads at once on this gateway; retry in a few seconds")
		return nil, false
	}
}

func (s *Service) serveTable(w http.ResponseWriter, r *http.Request, t table, f Format) {
	info := t.Info()
	if !t.available(s.b) {
		s.writeError(w, r, http.StatusServiceUnavailable, codes.Unavailable, "the "+t.service()+" service is not configured on this gateway")
		return
	}
	release, ok := s.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ExportTimeout)
	defer cancel()
	ctx = anonymous(ctx)

	var stats ExportStats
	x := s.run(&stats)
	cheap := r.Method == http.MethodHead || r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != ""
	j, err := t.prepare(ctx, x, s.cache, cheap)
	if err != nil {
		s.failBeforeBody(w, r, info.Name, err)
		return
	}
	h := w.Header()
	setMeta := func(sum summary) {
		h.Set("ETag", etag(info, f, sum))
		if !sum.modified.IsZero() {
			h.Set("Last-Modified", sum.modified.UTC().Format(http.TimeFormat))
		} else {
			h.Del("Last-Modified")
		}
		h.Set("Link", licenseLink)
		// Always revalidated: the ETag makes that one cheap call.
		h.Set("Cache-Control", "public, no-cache")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "ETag, Last-Modified, Link, Content-Disposition")
	}
	setMeta(j.summary())
	if notModified(r, h.Get("ETag"), j.summary().modified) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method != http.MethodHead {
		// A GET that the cached summary did not answer: scan for the
		// writing pass, and describe what that scan saw.
		if err := j.plan(ctx, s.cache); err != nil {
			s.failBeforeBody(w, r, info.Name, err)
			return
		}
		setMeta(j.summary())
	}
	h.Set("Content-Type", f.ContentType())
	h.Set("Content-Disposition", `attachment; filename="`+info.FileName(f)+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	out, err := newSink(f, info, w, func() error {
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	})
	if err == nil {
		err = j.write(ctx, out)
	}
	if err != nil {
		// The status is sent: cut the connection, so that the client sees
		// a broken download rather than a short file that looks whole.
		s.logger.WarnContext(r.Context(), "open data download failed mid-way", slog.String("table", info.Name),
			slog.String("format", string(f)), slog.Int64("rows", out.rowsOrZero()), slog.Any("err", err))
		panic(http.ErrAbortHandler)
	}
	s.logger.DebugContext(r.Context(), "open data download", slog.String("table", info.Name), slog.String("format", string(f)),
		slog.Int64("rows", out.rows), slog.Int64("calls", stats.Calls), slog.Int("max_held_items", stats.MaxHeldItems))
}

func (o *sink) rowsOrZero() int64 {
	if o == nil {
		return 0
	}
	return o.rows
}

// failBeforeBody answers a failure to read a list: the backend's code
// says whether to retry.
func (s *Service) failBeforeBody(w http.ResponseWriter, r *http.Request, table string, err error) {
	switch c := status.Code(err); {
	case errors.Is(err, context.DeadlineExceeded) || c == codes.DeadlineExceeded:
		s.writeError(w, r, http.StatusGatewayTimeout, codes.DeadlineExceeded, "reading the "+table+" table took too long")
	case c == codes.Unavailable:
		w.Header().Set("Retry-After", "5")
		s.writeError(w, r, http.StatusServiceUnavailable, codes.Unavailable, "the service behind the "+table+" table is unavailable; retry shortly")
	case errors.Is(err, context.Canceled) || c == codes.Canceled:
		s.writeError(w, r, 499, codes.Canceled, "the request was cancelled")
	default:
		s.logger.ErrorContext(r.Context(), "open data: list failed", slog.String("table", table), slog.Any("err", err))
		s.writeError(w, r, http.StatusBadGateway, codes.Internal, "the "+table+" table could not be read")
	}
}

// notModified applies If-None-Match, or without it If-Modified-Since
// (RFC 9110, 13.2.2), to a GET or HEAD.
func notModified(r *http.Request, etag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return etagListMatches(inm, etag)
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || modified.IsZero() {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	return !modified.Truncate(time.Second).After(t)
}

// etagListMatches is the weak comparison of If-None-Match.
func etagListMatches(list, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, candidate := range strings.Split(list, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == want {
			return true
		}
	}
	return false
}

// plainError is the gateway's JSON error shape, for a Service built
// without the gateway's own writer.
func plainError(w http.ResponseWriter, r *http.Request, httpStatus int, c codes.Code, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": httpStatus, "status": code.Code(c).String(), "message": message, "request_id": h.Get("X-Request-Id"),
	}})
}
