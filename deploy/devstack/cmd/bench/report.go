package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// loadStats is one measured round of HTTP load.
type loadStats struct {
	RequestsPerSec float64 `json:"requests_per_sec"`
	P50Millis      float64 `json:"p50_ms"`
	P99Millis      float64 `json:"p99_ms"`
	Requests       int64   `json:"requests"`
	Errors         int64   `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	Seconds        float64 `json:"seconds"`
	// CPUMicrosPerRequest is the CPU time (user and system) this process
	// used during the round over the requests answered: servers and load
	// generator together. Unlike req/s it hardly moves when other work
	// shares the machine.
	CPUMicrosPerRequest float64 `json:"cpu_us_per_request"`
}

// callStats is one testing.Benchmark result.
type callStats struct {
	NsPerOp     float64 `json:"ns_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
	BytesPerOp  int64   `json:"bytes_per_op"`
	Iterations  int     `json:"iterations"`
}

// restPair is (a). Ratio is gateway req/s over bare req/s; Goal its minimum.
type restPair struct {
	Path          string      `json:"path"`
	BodyBytes     int         `json:"body_bytes"`
	Concurrency   int         `json:"concurrency"`
	Pick          string      `json:"pick"`
	Bare          loadStats   `json:"bare"`
	Gateway       loadStats   `json:"gateway"`
	BareRounds    []loadStats `json:"bare_rounds"`
	GatewayRounds []loadStats `json:"gateway_rounds"`
	// Floor is the bare handler after the one GetPractice call a gateway
	// must make (startFloor); FloorRatio its req/s over bare's, the
	// ceiling of Ratio for the gateway's own code.
	Floor       loadStats   `json:"floor"`
	FloorRounds []loadStats `json:"floor_rounds"`
	FloorRatio  float64     `json:"floor_ratio"`
	// Uncached is the gateway with GEMELLA_GATEWAY_PUBLIC_CACHE_TTL=0: what
	// every read with a session costs; UncachedRatio its req/s over bare's.
	Uncached       loadStats   `json:"gateway_uncached"`
	UncachedRounds []loadStats `json:"gateway_uncached_rounds"`
	UncachedRatio  float64     `json:"gateway_uncached_ratio"`
	Ratio          float64     `json:"ratio"`
	Goal           float64     `json:"goal_min_ratio"`
	Met            bool        `json:"met"`
	// CPURatio is bare CPU per request over gateway CPU per request, the
	// lowest of each over the rounds: what Ratio would be on an idle
	// machine where CPU is the limit.
	CPURatio float64 `json:"cpu_ratio"`
	// Profile is a CPU profile of one more gateway round.
	Profile cpuProfile `json:"profile"`
}

// callPair is (b). Ratio is catalog ns/op over echo ns/op; Goal its maximum.
type callPair struct {
	Call          string      `json:"call"`
	Goroutines    int         `json:"goroutines"`
	Tracing       string      `json:"tracing"`
	Pick          string      `json:"pick"`
	Echo          callStats   `json:"echo"`
	Catalog       callStats   `json:"catalog"`
	EchoRounds    []callStats `json:"echo_rounds"`
	CatalogRounds []callStats `json:"catalog_rounds"`
	Ratio         float64     `json:"ratio"`
	Goal          float64     `json:"goal_max_ratio"`
	Met           bool        `json:"met"`
}

// storePair is (c): no goal, it shows where the time of a request goes.
type storePair struct {
	Documents       int       `json:"documents"`
	AvgDocBytes     int       `json:"avg_document_bytes"`
	InsertSeconds   float64   `json:"insert_seconds"`
	FindOne         callStats `json:"find_one"`
	GetPractice     callStats `json:"get_practice"`
	GetPracticeFrom string    `json:"get_practice_from"`
	// Ratio is FindOne ns/op over GetPractice ns/op.
	Ratio float64 `json:"ratio"`
	// StoreShare is the part of a GetPractice backed by FerretDB that the
	// FindOne would take: FindOne / (FindOne + GetPractice).
	StoreShare float64 `json:"store_share"`
}

type report struct {
	Time       time.Time `json:"time"`
	Go         string    `json:"go"`
	OS         string    `json:"os"`
	Arch       string    `json:"arch"`
	NumCPU     int       `json:"num_cpu"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	// LoadAverage is the machine's 1-minute load when the run started: other
	// work on the same CPUs makes every figure noisier.
	LoadAverage  string   `json:"load_average_at_start,omitempty"`
	Settings     settings `json:"settings"`
	Note         string   `json:"note"`
	REST         restPair `json:"a_rest"`
	GRPCSerial   callPair `json:"b_grpc_serial"`
	GRPCParallel callPair `json:"b_grpc_parallel"`
	// GRPCTraced* are (b) with tracing on, the others with it off.
	GRPCTracedSerial   callPair  `json:"b_grpc_traced_serial"`
	GRPCTracedParallel callPair  `json:"b_grpc_traced_parallel"`
	Store              storePair `json:"c_store"`
	// Adoption is (d) at each of priorTransfers.
	Adoption []adoptionPair `json:"d_adoption"`
	// Login and Search are what sections (e) and (f) printed.
	Login  string `json:"e_login_output,omitempty"`
	Search string `json:"f_search_output,omitempty"`
	// FanOut is what section (h) printed.
	FanOut string `json:"h_fanout_output,omitempty"`
	// Feed is section (g): the live feed under 1,000 clients.
	Feed feedResult `json:"g_feed"`
	// OpenData is section (i): the open-data export of 100,000 practices.
	OpenData openDataResult `json:"i_opendata"`
}

func newReport(s settings) *report {
	return &report{
		Time: time.Now().UTC().Truncate(time.Second), Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAverage: loadAverage(), Settings: s,
		Note: "loopback only; servers and load generator share this process; (a)-(c): catalog on its in-memory repository; (d): catalog and twinning on embedded NATS and FerretDB; service logs discarded",
	}
}

func (r *report) print(w io.Writer) {
	s := r.Settings
	fmt.Fprintf(w, "\nGemella ratio benchmarks  %s  %s", r.Time.Format(time.RFC3339), machine())
	if r.LoadAverage != "" {
		fmt.Fprintf(w, ", load average %s at start", r.LoadAverage)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Loopback only. Servers and load generator share this process and its CPUs. Service logs discarded.\n")

	if s.runs("a") {
		a := r.REST
		fmt.Fprintf(w, "\n(a) REST %s, %d-byte JSON, %d concurrent keep-alive clients, %s per round after %s warm-up, %s\n",
			a.Path, a.BodyBytes, a.Concurrency, s.Duration, s.Warmup, a.Pick)
		fmt.Fprintf(w, "    %-26s %s\n", "bare net/http:", loadLine(a.Bare))
		fmt.Fprintf(w, "    %-26s %s\n", "gateway+catalog:", loadLine(a.Gateway))
		fmt.Fprintf(w, "    %-26s %s   ratio %.2f: anonymous reads with GEMELLA_GATEWAY_PUBLIC_CACHE_TTL=0, as every read with a session\n", "gateway, no public cache:", loadLine(a.Uncached), a.UncachedRatio)
		fmt.Fprintf(w, "    %-26s %s   ratio %.2f: the ceiling with the catalog call\n", "floor, bare+GetPractice:", loadLine(a.Floor), a.FloorRatio)
		fmt.Fprintf(w, "    ratio %.2f (gateway/bare req/s)   goal >= %.2f   %s\n", a.Ratio, a.Goal, verdict(a.Met))
		fmt.Fprintf(w, "    CPU per request (process, all of it): bare %.0fµs, gateway %.0fµs, floor %.0fµs; ratio %.2f (bare/gateway CPU, best rounds), which req/s would show with the CPUs to itself\n",
			minCPU(a.BareRounds), minCPU(a.GatewayRounds), minCPU(a.FloorRounds), a.CPURatio)
		for i := range a.BareRounds {
			fmt.Fprintf(w, "      round %d: bare %s req/s %.0fµs CPU/req, gateway %s req/s %.0fµs CPU/req, no cache %s req/s %.0fµs CPU/req, floor %s req/s %.0fµs CPU/req\n", i+1,
				thousands(a.BareRounds[i].RequestsPerSec), a.BareRounds[i].CPUMicrosPerRequest,
				thousands(a.GatewayRounds[i].RequestsPerSec), a.GatewayRounds[i].CPUMicrosPerRequest,
				thousands(a.UncachedRounds[i].RequestsPerSec), a.UncachedRounds[i].CPUMicrosPerRequest,
				thousands(a.FloorRounds[i].RequestsPerSec), a.FloorRounds[i].CPUMicrosPerRequest)
		}
		a.Profile.print(w)
	}
	if s.runs("b") {
		for _, b := range []callPair{r.GRPCSerial, r.GRPCParallel, r.GRPCTracedSerial, r.GRPCTracedParallel} {
			fmt.Fprintf(w, "\n(b) gRPC %s, %d goroutine(s), tracing %s, testing.Benchmark ~%s each, %s\n", b.Call, b.Goroutines, b.Tracing, s.BenchTime, b.Pick)
			fmt.Fprintf(w, "    %-26s %s\n", "bare gRPC echo:", callLine(b.Echo))
			fmt.Fprintf(w, "    %-26s %s\n", "catalog, full chain:", callLine(b.Catalog))
			fmt.Fprintf(w, "    ratio %.2f (catalog/echo time per call)   goal <= %.2f   %s\n", b.Ratio, b.Goal, verdict(b.Met))
		}
		fmt.Fprintf(w, "    (allocs and bytes per call count client and server: both run in this process)\n")
	}
	if s.runs("c") {
		c := r.Store
		fmt.Fprintf(w, "\n(c) where the time of a real GetPractice goes: FindOne by _id on embedded FerretDB (SQLite), %d documents of %d bytes (inserted in %.2fs)\n",
			c.Documents, c.AvgDocBytes, c.InsertSeconds)
		fmt.Fprintf(w, "    %-26s %s\n", "FerretDB FindOne:", callLine(c.FindOne))
		fmt.Fprintf(w, "    %-26s %s   (%s)\n", "gRPC GetPractice, memory:", callLine(c.GetPractice), c.GetPracticeFrom)
		fmt.Fprintf(w, "    ratio %.0f (FindOne/GetPractice)   no goal: on FerretDB the store would take %.0f%% of a GetPractice\n", c.Ratio, 100*c.StoreShare)
	}
	if s.runs("d") {
		for _, d := range r.Adoption {
			d.print(w)
		}
		if n := len(r.Adoption); n > 1 && r.Adoption[0].Latency.P50Millis > 0 {
			first, last := r.Adoption[0], r.Adoption[n-1]
			fmt.Fprintf(w, "    growth from %d to %d prior transfers: latency p50 x%.2f, ratio %.2f -> %.2f (goal: no growth)\n",
				first.PriorTransfers, last.PriorTransfers, last.Latency.P50Millis/first.Latency.P50Millis, first.Ratio, last.Ratio)
		}
	}
	if s.runs("e") {
		fmt.Fprintf(w, "\n(e) log-in (services/discussion/loginbench)\n")
		printIndented(w, r.Login)
	}
	if s.runs("g") {
		r.Feed.print(w)
	}
	if s.runs("h") {
		fmt.Fprintf(w, "\n(h) notification fan-out (services/notification/fanoutbench)\n")
		printIndented(w, r.FanOut)
	}
	if s.runs("i") {
		r.OpenData.print(w)
	}
	if s.runs("f") {
		fmt.Fprintf(w, "\n(f) search index (services/practice-catalog/searchbench)\n")
		printIndented(w, r.Search)
	}
}

func (d adoptionPair) print(w io.Writer) {
	fmt.Fprintf(w, "\n(d) transfer status change -> adoption figures in the catalog, %s prior transfers of the practice: real catalog and twinning on embedded NATS and FerretDB (SQLite),\n",
		thousands(float64(d.PriorTransfers)))
	of := "one practice"
	if d.PriorTransfers <= len(modelCodes) {
		of = "a practice each"
	}
	fmt.Fprintf(w, "    %d status changes/s for %gs after %gs warm-up; %d active twinnings x %d transfers of %s (set up in %.1fs); document locks: %s\n",
		d.EventsPerSec, d.Seconds, d.WarmupSeconds, d.Twinnings, d.Transfers/max(1, d.Twinnings), of, d.SetupSeconds, d.DocLocks)
	fmt.Fprintf(w, "    %-34s %s   (%d events, %d missing; the last handled %.2fs after the window)\n",
		"event latency, occurred -> handled:", latencyLine(d.Latency), d.Latency.Count, d.Missing, d.CatchUpSeconds)
	fmt.Fprintf(w, "    %-34s %s   (the twinning's write, its relay, the publish)\n", "  occurred -> on the stream:", latencyLine(d.ToStream))
	fmt.Fprintf(w, "    %-34s %s   (delivery, the catalogue's handling)\n", "  on the stream -> handled:", latencyLine(d.FromStream))
	fmt.Fprintf(w, "    %-34s %s   (%d calls, %d errors)\n", "UpdateTransfer call:", latencyLine(d.UpdateCall), d.Moves, d.MoveErrors)
	fmt.Fprintf(w, "    %-34s %s   (%d pairs)\n", "two store writes, interleaved:", latencyLine(d.TwoWrites), d.TwoWrites.Count)
	fmt.Fprintf(w, "    %-34s %s   (%s B document)\n", "  versioned replace, twinning:", latencyLine(d.TwinningWrite), thousands(float64(d.TwinningDocBytes)))
	fmt.Fprintf(w, "    %-34s %s   (%s B document)\n", "  versioned replace, practice:", latencyLine(d.PracticeWrite), thousands(float64(d.PracticeDocBytes)))
	fmt.Fprintf(w, "    ratio %.2f (latency p50 / two writes p50)   goal <= %.2f   %s\n", d.Ratio, d.Goal, verdict(d.Met))
	d.Commands.print(w)
	if d.MoveErrors > 0 {
		fmt.Fprintf(w, "    FIRST ERROR: %s\n", d.FirstError)
	}
	if d.Missing > 0 {
		fmt.Fprintf(w, "    %d events of the window were not handled within %s: not met whatever the ratio\n", d.Missing, eventDrainTimeout)
	}
	fmt.Fprintf(w, "    (occurred-at is stamped to the millisecond before the twinning's write; handled after the catalog's write; same clock)\n")
}

func latencyLine(l latencySummary) string {
	return fmt.Sprintf("p50 %7.2fms   p99 %7.2fms   max %7.2fms", l.P50Millis, l.P99Millis, l.MaxMillis)
}

// printIndented writes text with each line indented like the pairs' lines.
func printIndented(w io.Writer, text string) {
	for line := range strings.Lines(text) {
		fmt.Fprint(w, "    "+line)
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		fmt.Fprintln(w)
	}
}

func loadLine(l loadStats) string {
	line := fmt.Sprintf("%9s req/s   p50 %.2fms   p99 %.2fms", thousands(l.RequestsPerSec), l.P50Millis, l.P99Millis)
	if l.Errors > 0 {
		line += fmt.Sprintf("   %d ERRORS (first: %s)", l.Errors, l.FirstError)
	}
	return line
}

func callLine(c callStats) string {
	return fmt.Sprintf("%9s/call   %4d allocs/call   %6d B/call   (%d calls)", perCall(c.NsPerOp), c.AllocsPerOp, c.BytesPerOp, c.Iterations)
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}

func perCall(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.1fµs", ns/1e3)
	default:
		return fmt.Sprintf("%.2fms", ns/1e6)
	}
}

// thousands writes a rate rounded to a whole number with comma separators.
func thousands(v float64) string {
	digits := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// save writes the report as JSON to path, or by default to
// artifacts/bench.json next to go.work. It returns the path written.
func (r *report) save(path string) (string, error) {
	if path == "-" {
		return "", nil
	}
	if path == "" {
		root, err := repositoryRoot()
		if err != nil {
			return "", err
		}
		path = filepath.Join(root, "artifacts", "bench.json")
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode results: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	return path, nil
}

// repositoryRoot is the nearest directory upwards that holds go.work.
func repositoryRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory; pass -out")
		}
		dir = parent
	}
}

// loadAverage is the 1-minute load average where the system tells it
// (Linux), else "".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if fields := strings.Fields(string(data)); len(fields) > 0 {
		return fields[0]
	}
	return ""
}
