package opendata

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

func newTestService(t *testing.T, b Backends, opts ...Option) *Service {
	t.Helper()
	s, err := New(DefaultConfig(), b, slog.New(slog.NewTextHandler(t.Output(), nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exportCSV(t *testing.T, s *Service, table string) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Export(context.Background(), table, CSV, &buf); err != nil {
		t.Fatalf("export %s: %v", table, err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("%s.csv does not parse as CSV: %v", table, err)
	}
	return rows
}

// column is the value of the named column in each data row.
func column(t *testing.T, rows [][]string, name string) []string {
	t.Helper()
	i := slices.Index(rows[0], name)
	if i < 0 {
		t.Fatalf("no column %s in header %v", name, rows[0])
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[i])
	}
	return out
}

func TestEveryTableHasItsHeaderAndOnlyPublicRows(t *testing.T) {
	f := newFakes(t)
	s := newTestService(t, f.backends())
	want := map[string][]string{
		"organizations": {"org-calabria", "org-toscana"},
		"practices":     {"p-0000", "p-0001", "p-0002", "p-0004"},
		"models":        {"p-0000", "p-0000", "p-0001", "p-0001", "p-0002", "p-0002", "p-0004", "p-0004"},
		"adoption":      {"p-0000", "p-0000", "p-0000", "p-0001", "p-0001", "p-0001", "p-0002", "p-0002", "p-0002", "p-0004", "p-0004", "p-0004"},
		"twinnings":     {"tw-tosca"},
		"transfers":     {"tr-a", "tr-b"},
		"needs":         {"need-1"},
		"offers":        {"offer-1"},
		"stories":       {"story-1"},
	}
	for _, info := range Tables() {
		t.Run(info.Name, func(t *testing.T) {
			rows := exportCSV(t, s, info.Name)
			if !slices.Equal(rows[0], info.ColumnNames()) {
				t.Fatalf("header %v, want %v", rows[0], info.ColumnNames())
			}
			first := info.Columns[0].Name
			if got := column(t, rows, first); !slices.Equal(got, want[info.Name]) {
				t.Errorf("%s column %s = %v, want %v", info.Name, first, got, want[info.Name])
			}
			all := fmt.Sprint(rows)
			for _, secret := range []string{"Bozza riservata", "p-0003", "tw-draft", "Maria Rossi", "member-1"} {
				if strings.Contains(all, secret) {
					t.Errorf("%s.csv contains %q, which is not public", info.Name, secret)
				}
			}
		})
	}
}

func TestRowsSayWhatTheServicesSay(t *testing.T) {
	s := newTestService(t, newFakes(t).backends())
	practices := exportCSV(t, s, "practices")
	p0 := practices[1]
	get := func(row []string, header []string, name string) string { return row[slices.Index(header, name)] }
	for name, want := range map[string]string{
		"id": "p-0000", "summary": "Una pratica, con virgole, \"virgolette\" e\nun a capo.", "owner_organization_ids": "org-toscana|org-firenze",
		"model_codes": "A|B", "status": "published", "ongoing": "true", "start_date": "2012-03-01", "revision": "1",
		"create_time": "2024-01-01T09:00:00Z", "programme_name": "",
	} {
		if got := get(p0, practices[0], name); got != want {
			t.Errorf("practices %s = %q, want %q", name, got, want)
		}
	}
	adoption := exportCSV(t, s, "adoption")
	if got := adoption[1][:7]; !slices.Equal(got, []string{"p-0000", "", "1", "1", "1", "0", "0"}) {
		t.Errorf("adoption of the whole practice = %v", got)
	}
	if got := adoption[2][:3]; !slices.Equal(got, []string{"p-0000", "A", "1"}) {
		t.Errorf("adoption of model A = %v", got)
	}
	transfers := exportCSV(t, s, "transfers")
	for name, want := range map[string]string{"status": "adopted", "note_count": "2", "last_note": "adottato, con \"modifiche\"", "twinning_id": "tw-tosca"} {
		if got := get(transfers[1], transfers[0], name); got != want {
			t.Errorf("transfers %s = %q, want %q", name, got, want)
		}
	}
	twinnings := exportCSV(t, s, "twinnings")
	for name, want := range map[string]string{"status": "active", "objectives": "regionale: Competenze", "transfer_count": "2", "approve_time": "2024-01-01T09:30:00Z"} {
		if got := get(twinnings[1], twinnings[0], name); got != want {
			t.Errorf("twinnings %s = %q, want %q", name, got, want)
		}
	}
	orgs := exportCSV(t, s, "organizations")
	if got := get(orgs[1], orgs[0], "kind"); got != "region" {
		t.Errorf("organisation kind = %q, want region", got)
	}
}

func TestJSONLinesHaveTheColumnsOfTheCSV(t *testing.T) {
	s := newTestService(t, newFakes(t).backends())
	for _, info := range Tables() {
		var buf bytes.Buffer
		if _, err := s.Export(context.Background(), info.Name, JSONL, &buf); err != nil {
			t.Fatal(err)
		}
		csvRows := exportCSV(t, s, info.Name)
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			n++
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				t.Fatalf("%s.jsonl line %d: %v: %s", info.Name, n, err, sc.Bytes())
			}
			if len(obj) != len(info.Columns) {
				t.Errorf("%s.jsonl line %d has %d keys, want %d", info.Name, n, len(obj), len(info.Columns))
			}
			for i, c := range info.Columns {
				v, ok := obj[c.Name]
				if !ok {
					t.Fatalf("%s.jsonl line %d lacks %s", info.Name, n, c.Name)
				}
				want := csvRows[n][i]
				var got string
				switch x := v.(type) {
				case nil:
					got = ""
				case string:
					got = x
				case json.Number:
					got = x.String()
				case bool:
					got = strconv.FormatBool(x)
				case []any:
					parts := make([]string, len(x))
					for k, e := range x {
						parts[k] = e.(string)
					}
					got = strings.Join(parts, ListSeparator)
				}
				if got != want {
					t.Errorf("%s line %d %s: JSON %v, CSV %q", info.Name, n, c.Name, v, want)
				}
			}
		}
		if n != len(csvRows)-1 {
			t.Errorf("%s: %d JSON lines, %d CSV rows", info.Name, n, len(csvRows)-1)
		}
	}
}

// The two passes of an export read the list at different times; what
// changes in between must neither duplicate nor lose a row that stays.
func TestAChangeBetweenTheTwoPassesNeitherDuplicatesNorLoses(t *testing.T) {
	f := newFakes(t)
	const n = 350 // four pages
	f.catalog.practices.set(newestFirst(practicesN(n, nil)))
	var once sync.Once
	calls := 0
	f.catalog.practices.beforeList = func(token string) {
		calls++
		// Four calls scan the list; the fifth starts the writing pass.
		if calls != 5 {
			return
		}
		once.Do(func() {
			f.catalog.practices.update(func(items []*catalogv1.Practice) []*catalogv1.Practice {
				var kept []*catalogv1.Practice
				for _, p := range items {
					switch p.GetId() {
					// The last item of the scan's second page (a mark) and
					// one inside the third leave the list.
					case "p-0150", "p-0120":
						continue
					}
					kept = append(kept, p)
				}
				// Three practices created since the scan.
				return append(newestFirst(practicesN(3, func(i int, p *catalogv1.Practice) {
					p.Id = fmt.Sprintf("new-%d", i)
					p.CreateTime = ts(epoch.Add(time.Duration(n+i) * time.Minute))
				})), kept...)
			})
		})
	}
	s := newTestService(t, f.backends())
	ids := column(t, exportCSV(t, s, "practices"), "id")
	var want []string
	for i := range n {
		if i != 150 && i != 120 {
			want = append(want, fmt.Sprintf("p-%04d", i))
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("got %d rows, want %d; first difference at %d", len(ids), len(want), firstDifference(ids, want))
	}
}

func firstDifference(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestPagesTooLargeForAMessageAreReadInHalves(t *testing.T) {
	f := newFakes(t)
	f.catalog.practices.set(newestFirst(practicesN(230, nil)))
	f.catalog.practices.tooLargeAbove = 30
	s := newTestService(t, f.backends())
	ids := column(t, exportCSV(t, s, "practices"), "id")
	if len(ids) != 230 || ids[0] != "p-0000" || ids[229] != "p-0229" {
		t.Fatalf("got %d rows from %s to %s, want 230 from p-0000 to p-0229", len(ids), ids[0], ids[len(ids)-1])
	}
	if !slices.IsSorted(ids) {
		t.Error("rows out of order")
	}
	for _, size := range f.catalog.practices.sizes {
		if size > maxPageSize {
			t.Errorf("asked for a page of %d, more than %d", size, maxPageSize)
		}
	}
}

func TestAListThatRepeatsItsTokenIsAnError(t *testing.T) {
	cat := &loopingCatalog{}
	s := newTestService(t, Backends{Catalog: cat})
	_, err := s.Export(context.Background(), "practices", CSV, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "page token") {
		t.Fatalf("export of a looping list: %v, want an error about its page token", err)
	}
}

type loopingCatalog struct{ catalogv1.CatalogServiceClient }

func (loopingCatalog) ListPractices(_ context.Context, req *catalogv1.ListPracticesRequest, _ ...grpc.CallOption) (*catalogv1.ListPracticesResponse, error) {
	return &catalogv1.ListPracticesResponse{Practices: []*catalogv1.Practice{practiceAt(1)}, NextPageToken: "again"}, nil
}

// generatedCatalog lists n generated practices, newest first, making each
// page when asked: it holds none of them, so what the heap holds during an
// export is the export's.
type generatedCatalog struct {
	catalogv1.CatalogServiceClient
	n int
	// writingPage runs when the writing pass asks for the page that starts
	// at index start (newest first), at most once per page.
	onList func(start int)
}

func (g *generatedCatalog) ListPractices(_ context.Context, req *catalogv1.ListPracticesRequest, _ ...grpc.CallOption) (*catalogv1.ListPracticesResponse, error) {
	start := 0
	if req.GetPageToken() != "" {
		var err error
		if start, err = strconv.Atoi(req.GetPageToken()); err != nil {
			return nil, err
		}
	}
	if g.onList != nil {
		g.onList(start)
	}
	size := int(req.GetPageSize())
	end := min(start+size, g.n)
	resp := &catalogv1.ListPracticesResponse{}
	for i := start; i < end; i++ {
		p := practiceAt(g.n - 1 - i)
		p.Summary = "Una pratica generata, su una riga." // one line per row, for countingWriter
		resp.Practices = append(resp.Practices, p)
	}
	if end < g.n {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// countingWriter counts bytes and lines written through it.
type countingWriter struct {
	bytes, lines int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.bytes += int64(len(p))
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// liveHeapMidway exports n generated practices and returns the live heap
// (after a collection) when the writing pass is halfway through.
func liveHeapMidway(t *testing.T, n int) (uint64, ExportStats) {
	t.Helper()
	g := &generatedCatalog{n: n}
	s := newTestService(t, Backends{Catalog: g})
	calls, pages := 0, (n+maxPageSize-1)/maxPageSize
	var live uint64
	g.onList = func(int) {
		calls++
		if calls == pages+pages/2 { // the scan's pages, then half the writing pass
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			live = m.HeapAlloc
		}
	}
	out := &countingWriter{}
	stats, err := s.Export(context.Background(), "practices", CSV, out)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Rows != int64(n) || out.lines < int64(n)+1 {
		t.Fatalf("exported %d rows, %d lines; want %d rows", stats.Rows, out.lines, n)
	}
	return live, stats
}

// The rows never pile up: halfway through 100,000 rows the export holds
// about what it holds halfway through 10,000 (one page token per 100 rows
// more, about 5 KB per 10,000 rows), not the ~60 MB of rows that it wrote.
func TestMemoryDoesNotGrowWithTheRows(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 110,000 generated rows")
	}
	small, smallStats := liveHeapMidway(t, 10_000)
	large, largeStats := liveHeapMidway(t, 100_000)
	growth := int64(large) - int64(small)
	t.Logf("live heap halfway: %d B at 10,000 rows, %d B at 100,000 rows (growth %d B)", small, large, growth)
	if growth > 2<<20 {
		t.Errorf("the live heap grew by %d B from 10,000 to 100,000 rows, want less than 2 MiB", growth)
	}
	for _, st := range []ExportStats{smallStats, largeStats} {
		if st.MaxHeldItems > 2*maxPageSize {
			t.Errorf("held %d items at once, want at most two pages (%d)", st.MaxHeldItems, 2*maxPageSize)
		}
	}
}

// Each page goes to the client before the next one is read: the gateway
// buffers at most one page of encoded rows.
func TestEachPageReachesTheClientBeforeTheNextIsRead(t *testing.T) {
	const n = 1000
	g := &generatedCatalog{n: n}
	out := &countingWriter{}
	pages := n / maxPageSize
	calls := 0
	g.onList = func(int) {
		calls++
		if calls <= pages {
			if out.lines != 0 {
				t.Errorf("the scan wrote %d lines", out.lines)
			}
			return
		}
		// Before writing page k (1-based) of the writing pass, the header
		// and the rows of the k-1 pages before it have been written.
		k := calls - pages
		if want := int64(1 + (k-1)*maxPageSize); out.lines != want {
			t.Errorf("before the writing pass reads its page %d, the client has %d lines, want %d", k, out.lines, want)
		}
	}
	s := newTestService(t, Backends{Catalog: g})
	// Straight to the sink, without Export's own buffer.
	var stats ExportStats
	j, err := practicesTable.prepare(anonymous(context.Background()), s.run(&stats), s.cache, false)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := newSink(CSV, practicesTable.Info(), out, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := j.write(context.Background(), sk); err != nil {
		t.Fatal(err)
	}
	if out.lines != n+1 {
		t.Errorf("wrote %d lines, want %d", out.lines, n+1)
	}
}

func TestRecordsAreTheRowsOfTheExport(t *testing.T) {
	p := practiceAt(7)
	recs, err := Records("models", p)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0][0] != "p-0007" || recs[1][1] != "B" {
		t.Errorf("models of a practice with two models: %v", recs)
	}
	if _, err := Records("models", &catalogv1.Need{}); err == nil {
		t.Error("Records took a need for a practice")
	}
	if _, err := Records("nope", p); err == nil {
		t.Error("Records found a table that does not exist")
	}
}

// BenchmarkExportPracticesCSV writes generated practices through the
// export: the bytes and allocations per row stay the same whatever the
// number of rows (see also make bench, section (i)).
func BenchmarkExportPracticesCSV(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(strconv.Itoa(n)+"rows", func(b *testing.B) {
			s, err := New(DefaultConfig(), Backends{Catalog: &generatedCatalog{n: n}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				if _, err := s.Export(context.Background(), "practices", CSV, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&m1)
			rows := float64(n) * float64(b.N)
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/rows, "B/row")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/rows, "allocs/row")
			b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
