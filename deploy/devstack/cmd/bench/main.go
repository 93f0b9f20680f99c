// Command bench measures four pairs of figures in one run and prints each
// pair's ratio next to its goal, then the sections other packages measure.
// It never fails on time: the figures depend on the machine, so it reports
// them (and writes artifacts/bench.json for later comparison) and leaves the
// judgement to the reader.
//
//	(a) REST GET /v1/practices/{id} through the gateway and the catalog,
//	    against a bare net/http handler answering the same bytes, and the
//	    floor: that handler after one plain GetPractice call; with the
//	    process CPU time per request of each and a CPU profile of one more
//	    gateway round (profile.go);
//	(b) gRPC GetPractice on the catalog with its full interceptor chain,
//	    against a bare gRPC server answering the same message, with
//	    tracing off (no TracerProvider installed) and on (every call a
//	    sampled client and server span, batched to a discarding exporter);
//	(c) one FindOne by _id on the embedded FerretDB, next to the GetPractice
//	    of (b), to show where the time of a real request goes;
//	(d) the latency of a transfer's status change in the twinning service
//	    to the updated adoption figures in the catalog (outbox, relay,
//	    JetStream, consumer), against the two store writes that path needs,
//	    on a practice with 10 and with 1,000 prior transfers;
//	(e) log-in costs and the log-in limiter under password guessing
//	    (services/discussion/loginbench);
//	(f) the catalog's search index at 10,000 and 100,000 practices
//	    (services/practice-catalog/searchbench);
//	(h) the notification fan-out of one twinning event to 1,000 and
//	    10,000 followers, next to the same number of plain inserts
//	    (services/notification/fanoutbench);
//	(i) the open-data export of 100,000 practices as CSV
//	    (gateway/opendata) against a plain encoding/csv of the same rows:
//	    rows per second and peak memory (opendata.go).
//
// For (a) and (b) the catalog runs on its in-memory repository, so they
// measure our own code, not a database; (d) runs the real catalog and
// twinning services on embedded NATS and FerretDB. Every server and the load
// generator share this process and its CPUs, on loopback. Run it with
// `make bench`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/discussion/loginbench"
	"github.com/gemella/gemella/services/notification/fanoutbench"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/practice-catalog/searchbench"
)

// allPairs are the letters of -pairs, in the order they run.
const allPairs = "abcdefghi"

// defaultPairs is every section. (f) indexes 100,000 practices: from about
// a minute and a half to over ten on a loaded 2-core machine; leave it out
// with -pairs abcdeghi when in a hurry.
const defaultPairs = "abcdefghi"

// searchSizes are the catalogue sizes section (f) indexes and searches.
var searchSizes = []int{10000, 100000}

// settings are the knobs of a run; the defaults keep a whole run on a
// 2-core machine under about five minutes.
type settings struct {
	Duration    time.Duration
	Warmup      time.Duration
	Concurrency int
	Rounds      int
	BenchTime   time.Duration
	Documents   int
	// EventRate and EventDuration are (d)'s steady load.
	EventRate     int
	EventDuration time.Duration
	// DocLocks is the services' document lock mode in (d): process, as
	// make run sets it, or lease, as several processes on one FerretDB
	// need it.
	DocLocks config.DocLockMode
	Pairs    string

	out        string
	cpuProfile string
}

func parseSettings(args []string) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.DurationVar(&s.Duration, "duration", 5*time.Second, "(a) measured load per round and target")
	fs.DurationVar(&s.Warmup, "warmup", time.Second, "(a) load before each measured round, not counted")
	fs.IntVar(&s.Concurrency, "concurrency", 32, "(a) concurrent HTTP clients; (b) goroutines of the parallel benchmark")
	fs.IntVar(&s.Rounds, "rounds", 2, "(a) and (b) rounds, baseline and subject alternating; the best round is reported")
	fs.DurationVar(&s.BenchTime, "benchtime", time.Second, "(b) and (c) target time of each testing.Benchmark")
	fs.IntVar(&s.Documents, "docs", 1000, "(c) documents of about 1 KB in the FerretDB collection")
	fs.IntVar(&s.EventRate, "event-rate", 20, "(d) transfer status changes per second")
	fs.DurationVar(&s.EventDuration, "event-duration", 30*time.Second, "(d) measured window of steady status changes")
	fs.TextVar(&s.DocLocks, "doclocks", config.DocLocksProcess, "(d) the services' document locks: process (as make run sets them) or lease (several processes on one FerretDB)")
	fs.StringVar(&s.Pairs, "pairs", defaultPairs, "which pairs and sections to run, any of "+allPairs+" (f is slow: see defaultPairs)")
	fs.StringVar(&s.out, "out", "", "JSON results file (default artifacts/bench.json at the repository root; \"-\" for none)")
	fs.StringVar(&s.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	var errs []error
	if s.Duration <= 0 || s.Warmup < 0 || s.BenchTime <= 0 {
		errs = append(errs, errors.New("-duration and -benchtime must be positive, -warmup not negative"))
	}
	if s.Concurrency < 1 || s.Concurrency > 4096 {
		errs = append(errs, fmt.Errorf("-concurrency %d: must be between 1 and 4096", s.Concurrency))
	}
	if s.Rounds < 1 || s.Rounds > 20 {
		errs = append(errs, fmt.Errorf("-rounds %d: must be between 1 and 20", s.Rounds))
	}
	if s.Documents < 1 || s.Documents > 100_000 {
		errs = append(errs, fmt.Errorf("-docs %d: must be between 1 and 100000", s.Documents))
	}
	if s.EventRate < 1 || s.EventRate > 1000 {
		errs = append(errs, fmt.Errorf("-event-rate %d: must be between 1 and 1000", s.EventRate))
	}
	if s.EventDuration < time.Second || s.EventDuration > 10*time.Minute {
		errs = append(errs, fmt.Errorf("-event-duration %s: must be between 1s and 10m", s.EventDuration))
	}
	if !s.DocLocks.On() {
		errs = append(errs, fmt.Errorf("-doclocks %s: must be process or lease, the embedded FerretDB writes non-atomically", s.DocLocks))
	}
	if strings.Trim(s.Pairs, allPairs) != "" || s.Pairs == "" {
		errs = append(errs, fmt.Errorf("-pairs %q: must be made of the letters %s", s.Pairs, allPairs))
	}
	return s, errors.Join(errs...)
}

func (s settings) runs(pair string) bool { return strings.Contains(s.Pairs, pair) }

// MarshalJSON writes the durations as "5s" rather than nanoseconds.
func (s settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"duration": s.Duration.String(), "warmup": s.Warmup.String(), "concurrency": s.Concurrency,
		"rounds": s.Rounds, "benchtime": s.BenchTime.String(), "documents": s.Documents,
		"event_rate": s.EventRate, "event_duration": s.EventDuration.String(), "doclocks": s.DocLocks.String(), "pairs": s.Pairs,
	})
}

func main() {
	s, err := parseSettings(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err = run(ctx, s)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, s settings) (err error) {
	// testing.Benchmark reads its target time from the test flags.
	testing.Init()
	if err := flag.CommandLine.Set("test.benchtime", s.BenchTime.String()); err != nil {
		return fmt.Errorf("set benchtime: %w", err)
	}
	if s.cpuProfile != "" {
		f, err := os.Create(s.cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	turnTracingOff()
	rep := newReport(s)
	// Services log only errors, and those go nowhere: logging is not what
	// these pairs measure.
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))

	if s.runs("a") || s.runs("b") || s.runs("c") {
		if err := runInMemoryPairs(ctx, s, rep, quiet); err != nil {
			return err
		}
	}
	if s.runs("b") {
		if rep.GRPCTracedSerial, rep.GRPCTracedParallel, err = benchGRPCTraced(ctx, s, quiet); err != nil {
			return fmt.Errorf("(b) tracing on: %w", err)
		}
	}
	if s.runs("d") {
		for _, prior := range priorTransfers {
			pair, err := benchAdoption(ctx, s, quiet, prior)
			if err != nil {
				return fmt.Errorf("(d) at %d prior transfers: %w", prior, err)
			}
			rep.Adoption = append(rep.Adoption, pair)
		}
	}
	if s.runs("e") {
		progress("(e) log-in costs and the log-in limiter (services/discussion/loginbench)")
		var out bytes.Buffer
		if err := loginbench.Run(ctx, &out); err != nil {
			return fmt.Errorf("(e): %w", err)
		}
		rep.Login = out.String()
	}
	if s.runs("g") {
		if rep.Feed, err = benchFeed(ctx, quiet); err != nil {
			return fmt.Errorf("(g): %w", err)
		}
	}
	if s.runs("h") {
		progress("(h) notification fan-out to %v followers (services/notification/fanoutbench)", fanoutbench.Sizes)
		var out bytes.Buffer
		if err := fanoutbench.Run(ctx, &out, fanoutbench.Sizes); err != nil {
			return fmt.Errorf("(h): %w", err)
		}
		rep.FanOut = out.String()
	}
	if s.runs("i") {
		if rep.OpenData, err = benchOpenData(ctx, s, quiet); err != nil {
			return fmt.Errorf("(i): %w", err)
		}
	}
	if s.runs("f") {
		progress("(f) the search index at %v practices (services/practice-catalog/searchbench)", searchSizes)
		var out bytes.Buffer
		if err := searchbench.Run(ctx, &out, searchSizes); err != nil {
			return fmt.Errorf("(f): %w", err)
		}
		rep.Search = out.String()
	}

	rep.print(os.Stdout)
	path, err := rep.save(s.out)
	if err != nil {
		return err
	}
	if path != "" {
		fmt.Printf("\nresults written to %s\n", path)
	}
	return nil
}

// runInMemoryPairs runs (a), (b) and (c), which share a catalog on its
// in-memory repository.
func runInMemoryPairs(ctx context.Context, s settings, rep *report, quiet *slog.Logger) (err error) {
	catalog, err := startCatalog(ctx, quiet)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, catalog.stop()) }()

	if s.runs("a") {
		if rep.REST, err = benchREST(ctx, s, catalog, quiet); err != nil {
			return fmt.Errorf("(a): %w", err)
		}
	}
	if s.runs("b") {
		if rep.GRPCSerial, rep.GRPCParallel, err = benchGRPC(ctx, s, catalog, tracingOff); err != nil {
			return fmt.Errorf("(b): %w", err)
		}
	}
	if s.runs("c") {
		if rep.Store, err = benchStore(ctx, s, catalog, rep.GRPCSerial); err != nil {
			return fmt.Errorf("(c): %w", err)
		}
	}
	return nil
}

// progress tells the person waiting what runs now; stdout keeps the table.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func machine() string {
	return fmt.Sprintf("%s %s/%s, %d CPUs, GOMAXPROCS %d", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
}
