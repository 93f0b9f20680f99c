package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	gateway "github.com/gemella/gemella/gateway/server"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// benchREST measures pair (a): the same GET through the gateway and the
// catalog, and from a bare handler that answers the bytes the gateway sent.
func benchREST(ctx context.Context, s settings, catalog *catalogUnderTest, logger *slog.Logger) (restPair, error) {
	gw, err := startGateway(ctx, catalog.addr, logger, gateway.DefaultConfig().PublicCacheTTL)
	if err != nil {
		return restPair{}, err
	}
	defer gw.stop()
	// The same gateway without its cache of anonymous reads: what every
	// read with a session costs, and what the profile shows.
	nocache, err := startGateway(ctx, catalog.addr, logger, 0)
	if err != nil {
		return restPair{}, err
	}
	defer nocache.stop()
	path := "/v1/practices/" + catalog.practiceID
	gatewayURL := "http://" + gw.addr + path
	uncachedURL := "http://" + nocache.addr + path

	body, contentType, err := fetchOnce(ctx, gatewayURL)
	if err != nil {
		return restPair{}, err
	}
	bare, err := startBare(body, contentType)
	if err != nil {
		return restPair{}, err
	}
	defer bare.stop()
	bareURL := "http://" + bare.addr + path
	floor, err := startFloor(catalog, body, contentType)
	if err != nil {
		return restPair{}, err
	}
	defer floor.stop()
	floorURL := "http://" + floor.addr + path

	p := restPair{
		Path:        "GET /v1/practices/{id}",
		BodyBytes:   len(body),
		Concurrency: s.Concurrency,
		Pick:        fmt.Sprintf("best of %d rounds (highest req/s), bare, gateway and floor in turn", s.Rounds),
		Goal:        0.40,
	}
	bareClient, gwClient, floorClient := newLoadClient(s.Concurrency), newLoadClient(s.Concurrency), newLoadClient(s.Concurrency)
	uncachedClient := newLoadClient(s.Concurrency)
	defer bareClient.CloseIdleConnections()
	defer gwClient.CloseIdleConnections()
	defer floorClient.CloseIdleConnections()
	defer uncachedClient.CloseIdleConnections()
	for round := 1; round <= s.Rounds; round++ {
		for _, target := range []struct {
			name   string
			url    string
			client *http.Client
			rounds *[]loadStats
		}{
			{"bare net/http", bareURL, bareClient, &p.BareRounds},
			{"gateway+catalog", gatewayURL, gwClient, &p.GatewayRounds},
			{"gateway+catalog, no public cache", uncachedURL, uncachedClient, &p.UncachedRounds},
			{"floor: bare + GetPractice", floorURL, floorClient, &p.FloorRounds},
		} {
			progress("(a) round %d/%d: %s, %d concurrent, %s warm-up + %s", round, s.Rounds, target.name, s.Concurrency, s.Warmup, s.Duration)
			if s.Warmup > 0 {
				if _, err := hammer(ctx, target.client, target.url, s.Concurrency, s.Warmup); err != nil {
					return p, fmt.Errorf("warm up %s: %w", target.name, err)
				}
			}
			st, err := hammer(ctx, target.client, target.url, s.Concurrency, s.Duration)
			if err != nil {
				return p, fmt.Errorf("load %s: %w", target.name, err)
			}
			*target.rounds = append(*target.rounds, st)
		}
	}
	p.Bare, p.Gateway, p.Floor = bestLoad(p.BareRounds), bestLoad(p.GatewayRounds), bestLoad(p.FloorRounds)
	p.Uncached = bestLoad(p.UncachedRounds)
	if p.Bare.RequestsPerSec > 0 {
		p.FloorRatio = p.Floor.RequestsPerSec / p.Bare.RequestsPerSec
		p.UncachedRatio = p.Uncached.RequestsPerSec / p.Bare.RequestsPerSec
	}
	progress("(a) profiled gateway round without the public cache (not counted), %s", profileDuration(s))
	if p.Profile, err = profileGateway(ctx, uncachedClient, uncachedURL, s.Concurrency, profileDuration(s)); err != nil {
		return p, fmt.Errorf("profile the gateway: %w", err)
	}
	if p.Bare.RequestsPerSec > 0 {
		p.Ratio = p.Gateway.RequestsPerSec / p.Bare.RequestsPerSec
	}
	p.Met = p.Ratio >= p.Goal
	if g := minCPU(p.GatewayRounds); g > 0 {
		p.CPURatio = minCPU(p.BareRounds) / g
	}
	return p, nil
}

type runningGateway struct {
	addr   string
	srv    *gateway.Server
	cancel context.CancelFunc
	served chan error
}

func startGateway(ctx context.Context, catalogAddr string, logger *slog.Logger, publicCacheTTL time.Duration) (*runningGateway, error) {
	cfg := gateway.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.PublicCacheTTL = publicCacheTTL
	cfg.CatalogAddr = catalogAddr
	// Only the catalog's routes are measured: no other backend, no live
	// feed (it would need NATS).
	cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NATSURL = gateway.BackendDisabled, gateway.BackendDisabled, gateway.BackendDisabled
	srv, err := gateway.New(ctx, cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("build gateway: %w", err)
	}
	if err := srv.Listen(); err != nil {
		return nil, errors.Join(fmt.Errorf("gateway: %w", err), srv.Close())
	}
	runCtx, cancel := context.WithCancel(ctx)
	g := &runningGateway{addr: srv.Addr(), srv: srv, cancel: cancel, served: make(chan error, 1)}
	go func() { g.served <- srv.Run(runCtx) }()
	return g, nil
}

// startFloor serves body like startBare, after the one GetPractice call
// to the catalog that any gateway must make for the answer: the least a
// REST GET of a practice can cost with the catalog behind it, so the
// ceiling of (a)'s ratio for the gateway's own code. Its connection has
// no interceptor, no tracing and no metadata.
func startFloor(catalog *catalogUnderTest, body []byte, contentType string) (*bareServer, error) {
	conn, err := grpc.NewClient(catalog.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("floor server: %w", err)
	}
	client := catalogv1.NewCatalogServiceClient(conn)
	id := catalog.practiceID
	b, err := serveBare(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := client.GetPractice(r.Context(), &catalogv1.GetPracticeRequest{Id: id}); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	if err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	b.closers = append(b.closers, conn.Close)
	return b, nil
}

// profileDuration is the profiled round's length: one measured round's, for
// some hundreds of samples at pprof's 100 Hz on a busy machine.
func profileDuration(s settings) time.Duration { return s.Duration }

func (g *runningGateway) stop() {
	g.cancel()
	if err := <-g.served; err != nil {
		progress("gateway stopped with: %v", err)
	}
	if err := g.srv.Close(); err != nil {
		progress("close gateway: %v", err)
	}
}

// fetchOnce gets the body the bare handler will answer with, and checks on
// the way that the gateway serves the practice at all.
func fetchOnce(ctx context.Context, url string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, callDeadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("fetch %s: status %d: %s", url, resp.StatusCode, body)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

type bareServer struct {
	addr    string
	srv     *http.Server
	served  chan error
	closers []func() error
}

// startBare serves body to every request: the floor of what net/http on
// loopback costs for a response of this size.
func startBare(body []byte, contentType string) (*bareServer, error) {
	return serveBare(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
}

func serveBare(handler http.Handler) (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bare server: %w", err)
	}
	b := &bareServer{
		addr:   ln.Addr().String(),
		srv:    &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second},
		served: make(chan error, 1),
	}
	go func() { b.served <- b.srv.Serve(ln) }()
	return b, nil
}

func (b *bareServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(ctx); err != nil {
		_ = b.srv.Close()
	}
	<-b.served
	for _, c := range b.closers {
		_ = c()
	}
}

// newLoadClient keeps one idle connection per worker, so every request
// after the first of each worker reuses a kept-alive connection.
func newLoadClient(workers int) *http.Client {
	return &http.Client{
		Timeout: callDeadline,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: callDeadline}).DialContext,
			MaxIdleConns:        2 * workers,
			MaxIdleConnsPerHost: 2 * workers,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// hammer sends GETs from workers goroutines, each waiting for its answer
// before the next, for about d. Requests under way when d has passed are
// allowed to finish and are counted; the rate divides by the time that took.
func hammer(ctx context.Context, client *http.Client, url string, workers int, d time.Duration) (loadStats, error) {
	var (
		stop     atomic.Bool
		failures atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	latencies := make([][]time.Duration, workers)
	cpu0 := processCPU()
	start := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 4096)
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				err := getOnce(ctx, client, url)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				own = append(own, time.Since(t0))
			}
			latencies[w] = own
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	if err := ctx.Err(); err != nil {
		return loadStats{}, err
	}

	all := slices.Concat(latencies...)
	slices.Sort(all)
	st := loadStats{
		Requests: int64(len(all)),
		Errors:   failures.Load(),
		Seconds:  elapsed.Seconds(),
	}
	if msg, ok := firstErr.Load().(string); ok {
		st.FirstError = msg
	}
	if len(all) == 0 {
		return st, fmt.Errorf("no request succeeded (first error: %s)", st.FirstError)
	}
	st.RequestsPerSec = float64(len(all)) / elapsed.Seconds()
	st.CPUMicrosPerRequest = float64(cpu.Microseconds()) / float64(len(all))
	st.P50Millis = millis(percentile(all, 0.50))
	st.P99Millis = millis(percentile(all, 0.99))
	return st, nil
}

func getOnce(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	// Reading to the end is what lets the connection go back to the pool.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// percentile of sorted latencies, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// processCPU is the user and system time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// minCPU is the lowest CPU time per request of the rounds.
func minCPU(rounds []loadStats) float64 {
	low := 0.0
	for _, r := range rounds {
		if r.CPUMicrosPerRequest > 0 && (low == 0 || r.CPUMicrosPerRequest < low) {
			low = r.CPUMicrosPerRequest
		}
	}
	return low
}

func bestLoad(rounds []loadStats) loadStats {
	best := rounds[0]
	for _, r := range rounds[1:] {
		if r.RequestsPerSec > best.RequestsPerSec {
			best = r
		}
	}
	return best
}
