package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gemella/gemella/gateway/feed"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
)

// feedClients and feedEvents size section (g): issue 5 asks for 1,000
// concurrent feed clients on one gateway, each receiving the events.
const (
	feedClients = 1000
	feedEvents  = 5
)

// feedResult is section (g).
type feedResult struct {
	Clients        int     `json:"clients"`
	Events         int     `json:"events"`
	Deliveries     int     `json:"deliveries"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	BytesPerClient float64 `json:"bytes_per_client"`
	GoroutinesPer  float64 `json:"goroutines_per_client"`
}

func (f feedResult) print(w io.Writer) {
	fmt.Fprintf(w, "\n(g) live feed: %d concurrent SSE clients on one gateway feed hub (real NATS, FEED stream), %d public events\n", f.Clients, f.Events)
	fmt.Fprintf(w, "    delivery, publish -> client read:   p50 %.2fms  p99 %.2fms  max %.2fms  (%d deliveries of %d)\n", f.P50Ms, f.P99Ms, f.MaxMs, f.Deliveries, f.Clients*f.Events)
	fmt.Fprintf(w, "    p99 %.0fms   goal < 200ms   %s\n", f.P99Ms, verdict(f.P99Ms < 200))
	fmt.Fprintf(w, "    memory per feed client: %.1f KiB heap+stacks, %.1f goroutines (this process also holds the minimal clients: an upper bound for the gateway)\n", f.BytesPerClient/1024, f.GoroutinesPer)
}

// benchFeed connects feedClients raw HTTP clients to the feed hub (the
// gateway's /v1/events handler), publishes feedEvents public events on the
// TWINNING stream and times each delivery.
func benchFeed(ctx context.Context, quiet *slog.Logger) (feedResult, error) {
	progress("(g) %d live-feed clients", feedClients)
	res := feedResult{Clients: feedClients, Events: feedEvents}
	dir, err := os.MkdirTemp("", "gemella-feed-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	ns, err := embedded.StartNATS(embedded.NATSOptions{StoreDir: dir})
	if err != nil {
		return res, err
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		return res, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return res, err
	}
	for name, subj := range map[string]string{"CATALOG": "catalog.>", "TWINNING": "twinning.>", "DISCUSSION": "discussion.>"} {
		if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: name, Subjects: []string{subj}}); err != nil {
			return res, err
		}
	}
	hub, err := feed.NewHub(ctx, feed.Config{NATSURL: ns.URL(), Logger: quiet})
	if err != nil {
		return res, err
	}
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() { _ = hub.Run(hubCtx); close(hubDone) }()
	defer func() { stopHub(); <-hubDone }()
	srv := httptest.NewServer(hub)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()

	type delivery struct {
		event int
		at    time.Time
	}
	got := make(chan delivery, feedClients*feedEvents)
	var wg sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	for i := 0; i < feedClients; i++ {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return res, fmt.Errorf("client %d: %w", i, err)
		}
		mu.Lock()
		conns = append(conns, conn)
		mu.Unlock()
		if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
			return res, err
		}
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			r := bufio.NewReaderSize(c, 1024)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasPrefix(line, "data: ") {
					var n int
					if i := strings.Index(line, `"title":"bench-`); i >= 0 {
						fmt.Sscanf(line[i+len(`"title":"bench-`):], "%d", &n)
					}
					got <- delivery{event: n, at: time.Now()}
				}
			}
		}(conn)
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for hub.Subscribers() < feedClients {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("only %d of %d clients connected", hub.Subscribers(), feedClients)
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	res.BytesPerClient = float64((after.HeapInuse+after.StackInuse)-(before.HeapInuse+before.StackInuse)) / feedClients
	res.GoroutinesPer = float64(runtime.NumGoroutine()-goroutinesBefore) / feedClients

	sent := make([]time.Time, feedEvents+1)
	var lat []float64
	for e := 1; e <= feedEvents; e++ {
		env, err := events.NewEnvelope("twinning.twinning.activated", "bench", "twinning", "tw-bench", int64(e),
			&eventsv1.TwinningChanged{Twinning: &eventsv1.TwinningRef{Id: "tw-bench", Title: fmt.Sprintf("bench-%d", e), Status: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE}}, time.Now())
		if err != nil {
			return res, err
		}
		data, _ := proto.Marshal(env)
		sent[e] = time.Now()
		if _, err := js.Publish(ctx, env.Type, data, jetstream.WithMsgID(env.EventId)); err != nil {
			return res, err
		}
		timeout := time.After(10 * time.Second)
		for n := 0; n < feedClients; n++ {
			select {
			case d := <-got:
				if d.event >= 1 && d.event <= feedEvents {
					lat = append(lat, float64(d.at.Sub(sent[d.event]).Microseconds())/1000)
				}
			case <-timeout:
				n = feedClients
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	res.Deliveries = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P50Ms, res.P99Ms, res.MaxMs = lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
	}
	return res, nil
}
