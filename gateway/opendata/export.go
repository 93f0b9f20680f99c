package opendata

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// maxPageSize is the largest page the services' list calls return
// (services/platform/paging.MaxSize); the export asks for it.
const maxPageSize = 100

// Backends are the clients of the services the data comes from: the
// gateway's own connections. A nil client makes its tables answer 503.
type Backends struct {
	Catalog    catalogv1.CatalogServiceClient
	Twinning   twinningv1.TwinningServiceClient
	Discussion discussionv1.DiscussionServiceClient
}

// source is one list call of a service and what an export needs to know
// of its items.
type source[T any] struct {
	// name keys the fingerprint cache and names the list in errors.
	name string
	// service is the backend's name, for the 503 message.
	service   string
	available func(Backends) bool
	// list returns the page at token (empty: the first) of at most size
	// items, and the token of the next page (empty: the last).
	list func(ctx context.Context, b Backends, token string, size int32) ([]T, string, error)
	// newestFirst is a list sorted by orderKey, newest first: the files
	// are written oldest first. A list sorted otherwise (organisations by
	// name) is written in its own order.
	newestFirst bool
	orderKey    func(T) time.Time
	// public is checked on every item, whatever the service filtered.
	public func(T) bool
	id     func(T) string
	// version changes whenever the item changes (its etag).
	version  func(T) string
	modified func(T) time.Time
}

// summary is what one pass learns of a list: it makes the ETag and the
// Last-Modified of its tables.
type summary struct {
	items    int64
	modified time.Time
	digest   [sha256.Size]byte
	// firstPage fingerprints the first page, to tell a cached summary
	// from a list that has changed at its head.
	firstPage [sha256.Size]byte
}

// page is one page as listed.
type page[T any] struct {
	items []T
	next  string
}

// mark is where a page other than the first begins and ends, as the scan
// saw it: the token that lists it, how many items it had, and its last
// (oldest) item.
type mark struct {
	token   string
	count   int
	lastID  string
	lastKey time.Time
}

// ExportStats counts what an export did.
type ExportStats struct {
	// Rows written, header excluded.
	Rows int64
	// Calls to the service, both passes.
	Calls int64
	// MaxHeldItems is the most list items held at once: the first page
	// and the page being written. It never depends on the size of the list.
	MaxHeldItems int
}

// run is one export's access to the services.
type run struct {
	b           Backends
	callTimeout time.Duration
	stats       *ExportStats
}

func (x *run) hold(n int) {
	if n > x.stats.MaxHeldItems {
		x.stats.MaxHeldItems = n
	}
}

// anonymous is ctx without any outgoing metadata (no token): the services
// answer a list as they answer anyone.
func anonymous(ctx context.Context) context.Context {
	return metadata.NewOutgoingContext(ctx, metadata.MD{})
}

// fetch lists one page. A page too large for the gRPC message limit (long
// texts) is asked again at half the size, down to one item: the page
// tokens do not depend on the page size.
func (s *source[T]) fetch(ctx context.Context, x *run, token string, size int32) (page[T], error) {
	for {
		callCtx, cancel := context.WithTimeout(ctx, x.callTimeout)
		items, next, err := s.list(callCtx, x.b, token, size)
		cancel()
		x.stats.Calls++
		if err == nil {
			if next != "" && next == token {
				return page[T]{}, fmt.Errorf("list %s: the service returned the page token it was given", s.name)
			}
			return page[T]{items: items, next: next}, nil
		}
		if tooLarge(err) && size > 1 {
			size /= 2
			continue
		}
		return page[T]{}, fmt.Errorf("list %s: %w", s.name, err)
	}
}

// tooLarge is the gRPC client's refusal of a message over its size limit.
func tooLarge(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), "larger than max")
}

// digester folds items into a summary.
type digester[T any] struct {
	s   *source[T]
	h   hash.Hash
	buf []byte
	sum summary
}

func newDigester[T any](s *source[T]) *digester[T] {
	return &digester[T]{s: s, h: sha256.New(), buf: make([]byte, 0, 128)}
}

func (d *digester[T]) add(item T) {
	if !d.s.public(item) {
		return
	}
	d.sum.items++
	if m := d.s.modified(item); m.After(d.sum.modified) {
		d.sum.modified = m
	}
	d.buf = append(d.buf[:0], d.s.id(item)...)
	d.buf = append(d.buf, 0)
	d.buf = append(d.buf, d.s.version(item)...)
	d.buf = append(d.buf, 0)
	d.h.Write(d.buf)
}

func (d *digester[T]) done() summary {
	d.h.Write(strconv.AppendInt(d.buf[:0], d.sum.items, 10))
	d.h.Sum(d.sum.digest[:0])
	return d.sum
}

// fingerprint identifies a first page: its items' ids and versions, and
// whether and where it continues.
func (s *source[T]) fingerprint(p page[T]) [sha256.Size]byte {
	h := sha256.New()
	buf := make([]byte, 0, 128)
	for _, it := range p.items {
		buf = append(buf[:0], s.id(it)...)
		buf = append(buf, 0)
		buf = append(buf, s.version(it)...)
		buf = append(buf, 0)
		h.Write(buf)
	}
	h.Write([]byte(p.next))
	var fp [sha256.Size]byte
	h.Sum(fp[:0])
	return fp
}

// scanned is the result of a scan: the summary, and for a plan the first
// page (written last) and the marks of the others.
type scanned[T any] struct {
	sum   summary
	first page[T]
	marks []mark
}

// scan reads the whole list once. With plan it keeps what the writing
// pass needs; first, when it has been fetched already, is not fetched
// again.
func (s *source[T]) scan(ctx context.Context, x *run, plan bool, first *page[T]) (*scanned[T], error) {
	d := newDigester(s)
	var out scanned[T]
	var p page[T]
	if first != nil {
		p = *first
	} else {
		var err error
		if p, err = s.fetch(ctx, x, "", maxPageSize); err != nil {
			return nil, err
		}
	}
	d.sum.firstPage = s.fingerprint(p)
	if plan && s.newestFirst {
		out.first = p
	}
	x.hold(len(p.items))
	for _, it := range p.items {
		d.add(it)
	}
	for p.next != "" {
		token := p.next
		var err error
		if p, err = s.fetch(ctx, x, token, maxPageSize); err != nil {
			return nil, err
		}
		x.hold(len(out.first.items) + len(p.items))
		for _, it := range p.items {
			d.add(it)
		}
		if plan && s.newestFirst && len(p.items) > 0 {
			last := p.items[len(p.items)-1]
			out.marks = append(out.marks, mark{token: token, count: len(p.items), lastID: s.id(last), lastKey: s.orderKey(last)})
		}
	}
	out.sum = d.done()
	return &out, nil
}

// region lists again the page of m as the scan saw it. Items created
// since then are newer than every mark and do not fall in it; an item
// that has left the list (a need closed since) lets the next page's first
// item in, which the cut at the mark's last item leaves out. If that last
// item is the one that left, the cut falls where older items begin.
func (s *source[T]) region(ctx context.Context, x *run, m mark) ([]T, error) {
	var got []T
	token := m.token
	for {
		p, err := s.fetch(ctx, x, token, int32(m.count))
		if err != nil {
			return nil, err
		}
		if got == nil {
			got = p.items
		} else {
			got = append(got, p.items...)
		}
		for i, it := range got {
			if s.id(it) == m.lastID {
				return got[:i+1], nil
			}
		}
		// Fewer than asked (a page halved for size), or the last item
		// gone: read on, at most one more page's worth.
		if p.next == "" || len(got) >= 2*m.count {
			break
		}
		token = p.next
	}
	for i, it := range got {
		if s.orderKey(it).Before(m.lastKey) {
			return got[:i], nil
		}
	}
	return got, nil
}

// sink receives the rows of one table.
type sink struct {
	enc   encoder
	rec   record
	ncols int
	rows  int64
	// page ends a page: the encoder's buffer goes to the client, so the
	// gateway never holds more than one page of encoded rows.
	page func() error
}

func (o *sink) emit() error {
	if len(o.rec.vals) != o.ncols {
		n := len(o.rec.vals)
		o.rec.reset()
		return fmt.Errorf("internal error: a row of %d cells for %d columns", n, o.ncols)
	}
	err := o.enc.row(o.rec.vals)
	o.rec.reset()
	o.rows++
	return err
}

// tableDef is one table over a source of items of type T.
type tableDef[T any] struct {
	info *TableInfo
	src  *source[T]
	// rows fills r with the cells of each row item makes, in column
	// order, calling emit after each row.
	rows func(item T, r *record, emit func() error) error
}

// table is a tableDef of any item type.
type table interface {
	Info() *TableInfo
	sourceName() string
	service() string
	available(Backends) bool
	// prepare starts an export. cheap: a conditional or HEAD request,
	// which a fresh cached summary answers after reading the first page.
	prepare(ctx context.Context, x *run, c *summaryCache, cheap bool) (job, error)
	// summarize is the table's summary, cached or from a scan.
	summarize(ctx context.Context, x *run, c *summaryCache) (summary, error)
	// records are the rows item makes, as CSV fields.
	records(item proto.Message) ([][]string, error)
}

// job is an export under way.
type job interface {
	summary() summary
	// plan makes ready the writing pass; it may scan the list, which
	// changes the summary.
	plan(ctx context.Context, c *summaryCache) error
	write(ctx context.Context, out *sink) error
}

func (t *tableDef[T]) Info() *TableInfo          { return t.info }
func (t *tableDef[T]) sourceName() string        { return t.src.name }
func (t *tableDef[T]) service() string           { return t.src.service }
func (t *tableDef[T]) available(b Backends) bool { return t.src.available(b) }

type tableJob[T any] struct {
	t     *tableDef[T]
	run   *run
	sum   summary
	first page[T]
	// fetched: first holds the first page as listed now; validated: it
	// matched the cached summary, which sum then is.
	fetched, validated bool
	marks              []mark
	planned            bool
}

func (j *tableJob[T]) summary() summary { return j.sum }

func (t *tableDef[T]) prepare(ctx context.Context, x *run, c *summaryCache, cheap bool) (job, error) {
	j := &tableJob[T]{t: t, run: x}
	if cheap {
		if cached, ok := c.get(t.src.name); ok {
			p, err := t.src.fetch(ctx, x, "", maxPageSize)
			if err != nil {
				return nil, err
			}
			x.hold(len(p.items))
			j.first, j.fetched = p, true
			if t.src.fingerprint(p) == cached.firstPage {
				j.sum, j.validated = cached, true
				return j, nil
			}
		}
	}
	return j, j.plan(ctx, c)
}

// plan scans the list, unless a validated summary is enough: a list in
// its own order is written by reading it from the start.
func (j *tableJob[T]) plan(ctx context.Context, c *summaryCache) error {
	if j.planned || (j.validated && !j.t.src.newestFirst) {
		return nil
	}
	var first *page[T]
	if j.fetched {
		first = &j.first
	}
	sc, err := j.t.src.scan(ctx, j.run, true, first)
	if err != nil {
		return err
	}
	c.put(j.t.src.name, sc.sum)
	j.sum, j.first, j.marks, j.planned = sc.sum, sc.first, sc.marks, true
	return nil
}

func (j *tableJob[T]) write(ctx context.Context, out *sink) error {
	src, rows := j.t.src, j.t.rows
	emit := out.emit
	writeItems := func(items []T, backwards bool) error {
		for k := range items {
			if backwards {
				k = len(items) - 1 - k
			}
			if !src.public(items[k]) {
				continue
			}
			if err := rows(items[k], &out.rec, emit); err != nil {
				return err
			}
		}
		return out.page()
	}
	if !src.newestFirst {
		token := ""
		for {
			p, err := src.fetch(ctx, j.run, token, maxPageSize)
			if err != nil {
				return err
			}
			j.run.hold(len(p.items))
			if err := writeItems(p.items, false); err != nil {
				return err
			}
			if p.next == "" {
				return nil
			}
			token = p.next
		}
	}
	if !j.planned {
		return errors.New("internal error: an export written before its plan")
	}
	for i := len(j.marks) - 1; i >= 0; i-- {
		items, err := src.region(ctx, j.run, j.marks[i])
		if err != nil {
			return err
		}
		j.run.hold(len(j.first.items) + len(items))
		if err := writeItems(items, true); err != nil {
			return err
		}
	}
	return writeItems(j.first.items, true)
}

func (t *tableDef[T]) summarize(ctx context.Context, x *run, c *summaryCache) (summary, error) {
	if cached, ok := c.get(t.src.name); ok {
		return cached, nil
	}
	sc, err := t.src.scan(ctx, x, false, nil)
	if err != nil {
		return summary{}, err
	}
	c.put(t.src.name, sc.sum)
	return sc.sum, nil
}

func (t *tableDef[T]) records(item proto.Message) ([][]string, error) {
	it, ok := item.(T)
	if !ok {
		return nil, fmt.Errorf("table %s: a %T is not one of its items", t.info.Name, item)
	}
	var out [][]string
	var r record
	err := t.rows(it, &r, func() error {
		if len(r.vals) != len(t.info.Columns) {
			return fmt.Errorf("internal error: a row of %d cells for %d columns", len(r.vals), len(t.info.Columns))
		}
		fields := make([]string, len(r.vals))
		for i := range r.vals {
			fields[i] = csvField(&r.vals[i])
		}
		out = append(out, fields)
		r.reset()
		return nil
	})
	return out, err
}

// etag is the entity tag of a table in one format: its columns, the
// format (a CSV and the JSON Lines of one table are different bodies, and
// an If-None-Match of one must not answer 304 for the other), and its
// source's summary. Weak, because the writing pass reads the pages again
// and a change between the two passes may show in the body.
func etag(t *TableInfo, f Format, s summary) string {
	h := sha256.New()
	h.Write([]byte(t.Name))
	h.Write([]byte{0})
	h.Write([]byte(f))
	for _, c := range t.Columns {
		h.Write([]byte{0})
		h.Write([]byte(c.Name))
		h.Write([]byte{byte(c.Kind)})
	}
	h.Write(s.digest[:])
	sum := h.Sum(nil)
	return `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// summaryCache keeps each source's last summary for a short time, for
// conditional requests and the catalogue. Per gateway process; the
// summaries are the same on every replica for the same data.
type summaryCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedSummary
}

type cachedSummary struct {
	sum summary
	at  time.Time
}

func newSummaryCache(ttl time.Duration, now func() time.Time) *summaryCache {
	return &summaryCache{ttl: ttl, now: now, entries: map[string]cachedSummary{}}
}

func (c *summaryCache) get(name string) (summary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		return summary{}, false
	}
	return e.sum, true
}

func (c *summaryCache) put(name string, s summary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[name] = cachedSummary{sum: s, at: c.now()}
}
