package opendata

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// Service serves /opendata/. It is an http.Handler; build it with New.
type Service struct {
	cfg    Config
	b      Backends
	logger *slog.Logger
	cache  *summaryCache
	// slots bounds the downloads running at once.
	slots      chan struct{}
	byName     map[string]table
	now        func() time.Time
	writeError ErrorWriter
}

// ErrorWriter answers a failed request; the gateway passes its own, so
// that /opendata/ fails with the API's JSON error shape.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, httpStatus int, code codes.Code, message string)

// Option adjusts New.
type Option func(*Service)

// WithErrorWriter sets how failures are answered.
func WithErrorWriter(ew ErrorWriter) Option { return func(s *Service) { s.writeError = ew } }

// WithClock replaces time.Now, for tests of the cache.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New builds the open-data service over the backends' clients.
func New(cfg Config, b Backends, logger *slog.Logger, opts ...Option) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Service{cfg: cfg, b: b, logger: logger, slots: make(chan struct{}, cfg.MaxExports), byName: map[string]table{}, now: time.Now, writeError: plainError}
	for _, opt := range opts {
		opt(s)
	}
	s.cache = newSummaryCache(cfg.CacheTTL, s.now)
	for _, t := range tables {
		s.byName[t.Info().Name] = t
	}
	return s, nil
}

// Tables describes every table, in the order the index lists them.
func Tables() []*TableInfo {
	out := make([]*TableInfo, len(tables))
	for i, t := range tables {
		out[i] = t.Info()
	}
	return out
}

func (s *Service) run(stats *ExportStats) *run {
	return &run{b: s.b, callTimeout: s.cfg.CallTimeout, stats: stats}
}

// Export writes table in format f to w, as a download does, without the
// HTTP conditional handling: for benchmarks and tools.
func (s *Service) Export(ctx context.Context, name string, f Format, w io.Writer) (ExportStats, error) {
	var stats ExportStats
	t, ok := s.byName[name]
	if !ok {
		return stats, fmt.Errorf("table %q: no such table", name)
	}
	if !t.available(s.b) {
		return stats, fmt.Errorf("table %s: the %s service is not configured", name, t.service())
	}
	ctx = anonymous(ctx)
	j, err := t.prepare(ctx, s.run(&stats), s.cache, false)
	if err != nil {
		return stats, err
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	out, err := newSink(f, t.Info(), bw, func() error { return bw.Flush() })
	if err != nil {
		return stats, err
	}
	if err := j.write(ctx, out); err != nil {
		return stats, err
	}
	stats.Rows = out.rows
	return stats, bw.Flush()
}

// newSink writes the header of table in format f to w; page runs after
// the encoder has flushed each page.
func newSink(f Format, t *TableInfo, w io.Writer, page func() error) (*sink, error) {
	enc, err := newEncoder(f, w, t.Columns)
	if err != nil {
		return nil, err
	}
	if err := enc.header(t.Columns); err != nil {
		return nil, err
	}
	if err := enc.flush(); err != nil {
		return nil, err
	}
	out := &sink{enc: enc, ncols: len(t.Columns), rec: record{vals: make([]value, 0, len(t.Columns))}}
	out.page = func() error {
		if err := enc.flush(); err != nil {
			return err
		}
		return page()
	}
	return out, nil
}

// Records are the CSV rows that item (a practice, a twinning…) makes in
// the table name: what a plain encoder of the same rows writes.
func Records(name string, item proto.Message) ([][]string, error) {
	for _, t := range tables {
		if t.Info().Name == name {
			return t.records(item)
		}
	}
	return nil, fmt.Errorf("table %q: no such table", name)
}
