package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gemella/gemella/gateway/opendata"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// Section (i): the open-data export of issue 14, 100,000 practices as CSV
// through gateway/opendata (both passes: the scan for the ETag and the
// writing pass, oldest first, 100 practices a page), from an in-memory
// catalog of generated practices, next to a plain encoding/csv of the
// same rows in the same run: the rows built in memory first (with
// opendata.Records, so they are the same rows), then written by one
// csv.Writer. Both outputs are hashed: they must be the same bytes.
const (
	openDataRows      = 100_000
	openDataSmallRows = 10_000
	// openDataSampleEvery is how often (in pages of 100 rows) the memory
	// runs collect garbage and sample HeapInuse: after a collection it is
	// what is held, not what awaits the collector.
	openDataSampleEvery = 50
)

// exportRun is one way of writing the rows.
type exportRun struct {
	RowsPerSec float64 `json:"rows_per_sec"`
	Seconds    float64 `json:"seconds"`
	// PeakHeldBytes is the highest HeapInuse above the resting heap (the
	// catalog's practices), sampled after a forced collection every
	// 1,000 rows in a separate run of the same work.
	PeakHeldBytes int64 `json:"peak_heap_inuse_above_rest_bytes"`
	// AllocBytesPerRow is what the timed run allocated per row.
	AllocBytesPerRow float64 `json:"alloc_bytes_per_row"`
}

// openDataResult is section (i).
type openDataResult struct {
	Rows        int       `json:"rows"`
	OutputBytes int64     `json:"output_bytes"`
	Writer      exportRun `json:"writer"`
	Plain       exportRun `json:"plain_encoding_csv"`
	// WriterSmall is the writer's memory run at openDataSmallRows: the
	// same peak means memory does not grow with the rows.
	WriterSmallPeakHeldBytes int64 `json:"writer_10000_rows_peak_heap_inuse_above_rest_bytes"`
	Calls                    int64 `json:"writer_list_calls"`
	MaxHeldItems             int   `json:"writer_max_held_practices"`
	// BuildSeconds is how long plain took to build its rows before
	// encoding them (not in its rows/s).
	BuildSeconds float64 `json:"plain_build_seconds"`
	SameBytes    bool    `json:"same_bytes"`
	SHA256       string  `json:"sha256"`
	// RateRatio is writer rows/s over plain rows/s; MemoryRatio the
	// writer's peak held heap over plain's.
	RateRatio   float64 `json:"ratio_rows_per_sec"`
	MemoryRatio float64 `json:"ratio_peak_memory"`
	Rounds      int     `json:"rounds"`
}

func (o openDataResult) print(w io.Writer) {
	fmt.Fprintf(w, "\n(i) open data: %s practices exported as CSV (gateway/opendata) from an in-memory catalog of generated practices, %s bytes, best of %d rounds\n",
		thousands(float64(o.Rows)), thousands(float64(o.OutputBytes)), o.Rounds)
	fmt.Fprintf(w, "    %-34s %9s rows/s   peak held %8s   %6.0f B/row allocated   (%d list calls, both passes; at most %d practices held)\n",
		"writer, streamed in 2 passes:", thousands(o.Writer.RowsPerSec), mebibytes(o.Writer.PeakHeldBytes), o.Writer.AllocBytesPerRow, o.Calls, o.MaxHeldItems)
	fmt.Fprintf(w, "    %-34s %9s rows/s   peak held %8s   %6.0f B/row allocated   (rows built first in %.2fs, not counted in rows/s)\n",
		"plain encoding/csv of the rows:", thousands(o.Plain.RowsPerSec), mebibytes(o.Plain.PeakHeldBytes), o.Plain.AllocBytesPerRow, o.BuildSeconds)
	fmt.Fprintf(w, "    %-34s %9s          peak held %8s   (memory does not grow with the rows: %s)\n",
		fmt.Sprintf("writer at %s rows:", thousands(openDataSmallRows)), "", mebibytes(o.WriterSmallPeakHeldBytes), verdict(o.Writer.PeakHeldBytes <= 2*o.WriterSmallPeakHeldBytes+(4<<20)))
	withBuild := 0.0
	if o.Plain.Seconds+o.BuildSeconds > 0 {
		withBuild = float64(o.Rows) / (o.Plain.Seconds + o.BuildSeconds)
	}
	fmt.Fprintf(w, "    ratio %.2f (writer/plain rows/s; %.2f against plain with its build, %s rows/s)   memory ratio %.3f (writer/plain peak held)   same bytes: %s\n",
		o.RateRatio, o.Writer.RowsPerSec/max(withBuild, 1), thousands(withBuild), o.MemoryRatio, yesNo(o.SameBytes))
	fmt.Fprintf(w, "    (peak held: HeapInuse above the heap at rest, which holds the catalog's practices, sampled after a forced GC every %d rows in a run apart from the timed one)\n",
		openDataSampleEvery*100)
}

func mebibytes(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

// memCatalog lists generated practices as the catalog does: newest first,
// pages of at most 100, an opaque token. onList, when set, runs at each
// call (the memory runs sample there).
type memCatalog struct {
	catalogv1.CatalogServiceClient
	practices []*catalogv1.Practice // oldest first
	onList    func()
}

func (m *memCatalog) ListPractices(_ context.Context, req *catalogv1.ListPracticesRequest, _ ...grpc.CallOption) (*catalogv1.ListPracticesResponse, error) {
	if m.onList != nil {
		m.onList()
	}
	start := 0
	if t := req.GetPageToken(); t != "" {
		var err error
		if start, err = strconv.Atoi(t); err != nil {
			return nil, fmt.Errorf("page token %q: %w", t, err)
		}
	}
	size := min(int(req.GetPageSize()), 100)
	if size <= 0 {
		size = 20
	}
	n := len(m.practices)
	end := min(start+size, n)
	resp := &catalogv1.ListPracticesResponse{Practices: make([]*catalogv1.Practice, 0, end-start)}
	for i := start; i < end; i++ {
		resp.Practices = append(resp.Practices, m.practices[n-1-i])
	}
	if end < n {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// generatePractices makes n published practices of about the demo's size.
func generatePractices(n int) []*catalogv1.Practice {
	epoch := time.Date(2015, 1, 1, 9, 0, 0, 0, time.UTC)
	filler := strings.Repeat("Servizi per il lavoro, la formazione e l’inclusione dei cittadini; ", 12)
	text := func(n int) string { return string([]rune(filler)[:n]) }
	summary, description, problem := text(300), text(700), text(200)
	out := make([]*catalogv1.Practice, n)
	for i := range n {
		at := timestamppb.New(epoch.Add(time.Duration(i) * time.Minute))
		id := fmt.Sprintf("p%07d", i)
		out[i] = &catalogv1.Practice{
			Id: id, Slug: "pratica-" + id, Title: "Buona pratica numero " + strconv.Itoa(i) + " – valorizzare le competenze",
			Summary: summary, Description: description, Problem: problem, Results: problem,
			OwnerOrganizationIds: []string{"org-toscana", "org-firenze"}, Themes: []string{"lavoro", "istruzione e formazione", "politiche sociali"},
			Programme: &catalogv1.Programme{Name: "AGIRE POR 2007-2013", Priorities: []string{"1", "4"}},
			Territory: &catalogv1.Territory{Code: "ITI1", Name: "Toscana"}, StartDate: "2012-03-01", Ongoing: i%2 == 0,
			Languages: []string{"it"},
			Models: []*catalogv1.Model{
				{Code: "A", Title: "Modello A"}, {Code: "B", Title: "Modello B"}, {Code: "C", Title: "Modello C"},
			},
			Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED, Revision: 1, Etag: `"` + strconv.Itoa(i%7+1) + `"`,
			CreateTime: at, UpdateTime: at, PublishTime: at,
		}
	}
	return out
}

// hashingCounter counts and hashes what is written to it.
type hashingCounter struct {
	n int64
	h hash.Hash
}

func newHashingCounter() *hashingCounter { return &hashingCounter{h: sha256.New()} }

func (c *hashingCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *hashingCounter) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// heapSampler keeps the highest HeapInuse above rest, each sample taken
// right after a collection.
type heapSampler struct {
	mu   sync.Mutex
	rest uint64
	peak int64
}

func newHeapSampler() *heapSampler {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &heapSampler{rest: m.HeapInuse}
}

func (s *heapSampler) sample() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := int64(m.HeapInuse) - int64(s.rest); d > s.peak {
		s.peak = d
	}
}

func benchOpenData(ctx context.Context, s settings, quiet *slog.Logger) (openDataResult, error) {
	progress("(i) open data: %d practices as CSV, streamed by gateway/opendata and by plain encoding/csv", openDataRows)
	res := openDataResult{Rows: openDataRows, Rounds: s.Rounds}
	practices := generatePractices(openDataRows)
	backend := &memCatalog{practices: practices}
	svc, err := opendata.New(opendata.DefaultConfig(), opendata.Backends{Catalog: backend}, quiet)
	if err != nil {
		return res, err
	}
	var header []string
	for _, t := range opendata.Tables() {
		if t.Name == "practices" {
			header = t.ColumnNames()
		}
	}

	writer := func(out io.Writer) (opendata.ExportStats, error) {
		return svc.Export(ctx, "practices", opendata.CSV, out)
	}
	build := func(sample func(int)) ([][]string, error) {
		rows := make([][]string, 0, len(practices))
		for i, p := range practices {
			recs, err := opendata.Records("practices", p)
			if err != nil {
				return nil, err
			}
			rows = append(rows, recs...)
			if sample != nil {
				sample(i)
			}
		}
		return rows, nil
	}
	plain := func(out io.Writer, rows [][]string, sample func(int)) error {
		w := csv.NewWriter(out)
		w.UseCRLF = true
		if err := w.Write(header); err != nil {
			return err
		}
		for i, r := range rows {
			if err := w.Write(r); err != nil {
				return err
			}
			if sample != nil {
				sample(i)
			}
		}
		w.Flush()
		return w.Error()
	}

	// Timed rounds, alternating.
	var writerSum, plainSum string
	for range s.Rounds {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		out := newHashingCounter()
		start := time.Now()
		stats, err := writer(out)
		elapsed := time.Since(start)
		if err != nil {
			return res, fmt.Errorf("writer: %w", err)
		}
		runtime.ReadMemStats(&m1)
		if rate := float64(stats.Rows) / elapsed.Seconds(); rate > res.Writer.RowsPerSec {
			res.Writer.RowsPerSec, res.Writer.Seconds = rate, elapsed.Seconds()
			res.Writer.AllocBytesPerRow = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(stats.Rows)
		}
		res.Calls, res.MaxHeldItems, res.OutputBytes, writerSum = stats.Calls, stats.MaxHeldItems, out.n, out.sum()

		runtime.GC()
		buildStart := time.Now()
		rows, err := build(nil)
		if err != nil {
			return res, fmt.Errorf("plain: %w", err)
		}
		res.BuildSeconds = time.Since(buildStart).Seconds()
		runtime.ReadMemStats(&m0)
		out = newHashingCounter()
		start = time.Now()
		if err := plain(out, rows, nil); err != nil {
			return res, fmt.Errorf("plain: %w", err)
		}
		elapsed = time.Since(start)
		runtime.ReadMemStats(&m1)
		if rate := float64(len(rows)) / elapsed.Seconds(); rate > res.Plain.RowsPerSec {
			res.Plain.RowsPerSec, res.Plain.Seconds = rate, elapsed.Seconds()
			res.Plain.AllocBytesPerRow = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(rows))
		}
		plainSum = out.sum()
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	res.SameBytes, res.SHA256 = writerSum == plainSum, writerSum

	// Memory runs: the same work, sampled after a collection.
	peakOf := func(rows int) (int64, error) {
		sub := &memCatalog{practices: practices[:rows]}
		small, err := opendata.New(opendata.DefaultConfig(), opendata.Backends{Catalog: sub}, quiet)
		if err != nil {
			return 0, err
		}
		hs := newHeapSampler()
		calls := 0
		sub.onList = func() {
			if calls++; calls%openDataSampleEvery == 0 {
				hs.sample()
			}
		}
		if _, err := small.Export(ctx, "practices", opendata.CSV, io.Discard); err != nil {
			return 0, err
		}
		hs.sample()
		return hs.peak, nil
	}
	if res.Writer.PeakHeldBytes, err = peakOf(openDataRows); err != nil {
		return res, fmt.Errorf("writer memory: %w", err)
	}
	if res.WriterSmallPeakHeldBytes, err = peakOf(openDataSmallRows); err != nil {
		return res, fmt.Errorf("writer memory: %w", err)
	}
	hs := newHeapSampler()
	every := func(i int) {
		if i%(openDataSampleEvery*100) == 0 {
			hs.sample()
		}
	}
	rows, err := build(every)
	if err != nil {
		return res, err
	}
	if err := plain(io.Discard, rows, every); err != nil {
		return res, err
	}
	hs.sample()
	runtime.KeepAlive(rows)
	res.Plain.PeakHeldBytes = hs.peak

	if res.Plain.RowsPerSec > 0 {
		res.RateRatio = res.Writer.RowsPerSec / res.Plain.RowsPerSec
	}
	if res.Plain.PeakHeldBytes > 0 {
		res.MemoryRatio = float64(res.Writer.PeakHeldBytes) / float64(res.Plain.PeakHeldBytes)
	}
	return res, nil
}
