package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// profileTop is how many functions each list of the profile shows.
const profileTop = 12

// cpuProfile is what a CPU profile of one extra, unmeasured gateway round
// of (a) says: where the process spent its time while serving the REST GET
// (load generator, gateway, gRPC hop and catalog all run in this process).
type cpuProfile struct {
	Seconds float64 `json:"seconds"`
	// SampledSeconds is the CPU time the profile saw (both CPUs count).
	SampledSeconds float64 `json:"sampled_cpu_seconds"`
	Requests       int64   `json:"requests"`
	// CPUMicrosPerRequest is the process's CPU time per request in the
	// round (getrusage), which the shares divide.
	CPUMicrosPerRequest float64 `json:"cpu_us_per_request"`
	// Flat is time spent in the function itself, Cum in it and what it
	// called; both as shares of SampledSeconds.
	Flat []profileEntry `json:"top_flat"`
	Cum  []profileEntry `json:"top_cum"`
	// Parts are the shares of the main stages of a request.
	Parts []profileEntry `json:"parts"`
	// Skipped says why there is no profile (a whole-run -cpuprofile).
	Skipped string `json:"skipped,omitempty"`
}

type profileEntry struct {
	Name  string  `json:"name"`
	Share float64 `json:"share"`
	// MicrosPerRequest is the CPU time per request it stands for.
	MicrosPerRequest float64 `json:"us_per_request"`
}

// profileParts attribute each sample to a stage of the request: the first
// part listed one of whose functions is on the sample's stack (matched by
// prefix of the full name) wins, so nested stages come before the stages
// around them.
var profileParts = []struct{ name, prefix string }{
	{"protojson encoding", "google.golang.org/protobuf/encoding/protojson."},
	{"catalog service (gRPC server, interceptors, handler)", "google.golang.org/grpc.(*Server)."},
	{"gRPC transport goroutines (HTTP/2 framing, both sides)", "google.golang.org/grpc/internal/transport."},
	{"gateway's gRPC client call", "google.golang.org/grpc.(*ClientConn).Invoke"},
	{"grpc-gateway mux, handler and checks (strictInput)", "github.com/grpc-ecosystem/grpc-gateway/v2/runtime.(*ServeMux).ServeHTTP"},
	{"gateway middleware (outside the mux)", "github.com/gemella/gemella/gateway/server."},
	{"HTTP server (net/http)", "net/http.(*conn).serve"},
	{"load generator (HTTP client)", "main.hammer"},
	{"HTTP client transport", "net/http.(*persistConn)."},
	{"garbage collector (background)", "runtime.gcBgMarkWorker"},
}

// profileGateway loads the gateway for d under a CPU profile and sums it
// up. It fails only if the load does; a profile that cannot be taken is
// reported as skipped.
func profileGateway(ctx context.Context, client *http.Client, url string, workers int, d time.Duration) (cpuProfile, error) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		// Only one CPU profile at a time: -cpuprofile has the whole run.
		return cpuProfile{Skipped: "not taken: " + err.Error()}, nil
	}
	start := time.Now()
	st, err := hammer(ctx, client, url, workers, d)
	pprof.StopCPUProfile()
	if err != nil {
		return cpuProfile{}, err
	}
	p, err := summariseProfile(&buf, st.Requests, st.CPUMicrosPerRequest)
	if err != nil {
		return cpuProfile{Skipped: "not read: " + err.Error()}, nil
	}
	p.Seconds = time.Since(start).Seconds()
	return p, nil
}

// summariseProfile reads the profile for the shares of the time; the time
// per request they stand for is that share of cpuPerRequest, the process's
// own measure (a profile under load misses samples).
func summariseProfile(r io.Reader, requests int64, cpuPerRequest float64) (cpuProfile, error) {
	prof, err := profile.Parse(r)
	if err != nil {
		return cpuProfile{}, err
	}
	value := len(prof.SampleType) - 1 // cpu nanoseconds
	for i, st := range prof.SampleType {
		if st.Type == "cpu" {
			value = i
		}
	}
	var total int64
	flat, cum, parts := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, s := range prof.Sample {
		v := s.Value[value]
		total += v
		seen := map[string]bool{}
		part := len(profileParts)
		for i, loc := range s.Location {
			// Inlined calls are several lines of one location, the
			// innermost first.
			for j, line := range loc.Line {
				if line.Function == nil {
					continue
				}
				name := line.Function.Name
				if i == 0 && j == 0 {
					flat[name] += v
				}
				if !seen[name] {
					seen[name] = true
					cum[name] += v
				}
				for k, pp := range profileParts[:part] {
					if strings.HasPrefix(name, pp.prefix) {
						part = k
						break
					}
				}
			}
		}
		name := "other"
		if part < len(profileParts) {
			name = profileParts[part].name
		}
		parts[name] += v
	}
	out := cpuProfile{SampledSeconds: float64(total) / 1e9, Requests: requests, CPUMicrosPerRequest: cpuPerRequest}
	if total == 0 {
		return out, fmt.Errorf("no samples")
	}
	entry := func(name string, v int64) profileEntry {
		e := profileEntry{Name: name, Share: float64(v) / float64(total)}
		e.MicrosPerRequest = e.Share * cpuPerRequest
		return e
	}
	top := func(m map[string]int64, keep func(string) bool, n int) []profileEntry {
		var es []profileEntry
		for name, v := range m {
			if keep(name) {
				es = append(es, entry(name, v))
			}
		}
		slices.SortFunc(es, func(a, b profileEntry) int {
			if a.Share != b.Share {
				if a.Share > b.Share {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Name, b.Name)
		})
		if n == 0 {
			return es // all, sorted
		}
		return es[:min(n, len(es))]
	}
	all := func(string) bool { return true }
	out.Flat = top(flat, all, profileTop)
	// The cumulative list leaves out the frames every sample of a stage
	// shares (goroutine entry points, the runtime), which say nothing.
	// It also leaves out a function with the same time as one listed
	// before it: a middleware that only wraps the next one says nothing
	// new, the first one where the time drops does.
	sorted := top(cum, func(name string) bool {
		return !strings.HasPrefix(name, "runtime.") && !strings.HasPrefix(name, "net/http.HandlerFunc.ServeHTTP") &&
			!strings.HasPrefix(name, "internal/") && !strings.HasPrefix(name, "syscall.")
	}, 0)
	for _, e := range sorted {
		if len(out.Cum) == profileTop {
			break
		}
		if n := len(out.Cum); n > 0 && out.Cum[n-1].Share == e.Share {
			continue
		}
		out.Cum = append(out.Cum, e)
	}
	out.Parts = top(parts, all, len(profileParts)+1)
	return out, nil
}

func (p cpuProfile) print(w io.Writer) {
	if p.Skipped != "" {
		fmt.Fprintf(w, "    CPU profile of an extra gateway round: %s\n", p.Skipped)
		return
	}
	fmt.Fprintf(w, "    CPU profile of an extra gateway round (not counted): %.1fs, %s requests, %.0fµs of CPU per request, %.2fs of CPU sampled; µs/req below are shares of the %.0fµs\n",
		p.Seconds, thousands(float64(p.Requests)), p.CPUMicrosPerRequest, p.SampledSeconds, p.CPUMicrosPerRequest)
	list := func(title string, es []profileEntry) {
		fmt.Fprintf(w, "      %s\n", title)
		for _, e := range es {
			fmt.Fprintf(w, "        %5.1f%%  %6.1fµs/req  %s\n", 100*e.Share, e.MicrosPerRequest, e.Name)
		}
	}
	list("by stage (each sample counted once, in the first stage listed in profile.go found on its stack):", p.Parts)
	list("top by self time:", p.Flat)
	list("top by cumulative time (runtime frames, and functions with the time of the one above, left out):", p.Cum)
}
