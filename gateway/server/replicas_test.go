package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gemella/gemella/services/platform/embedded"
)

// With n replicas each keeps 1/n of the rate and of the burst, and the
// buckets already made follow at once.
func TestALimitIsSharedAmongTheReplicas(t *testing.T) {
	set := newLimiterSet(60, 10)
	now := time.Now()
	takes := func(key string) int {
		n := 0
		for range 20 {
			if ok, _, _ := set.take(key, now); ok {
				n++
			}
		}
		return n
	}
	if got := takes("a"); got != 10 {
		t.Fatalf("alone: %d of 20 taken, want the burst of 10", got)
	}
	set.shareAmong(3)
	if got := takes("b"); got != 4 {
		t.Errorf("one of three: %d taken, want ceil(10/3) = 4", got)
	}
	if q, w := set.policy(); q != 4 || w != 12 {
		t.Errorf("policy among three: q=%d w=%d, want 4 and 12 s", q, w)
	}
	set.shareAmong(1)
	later := now.Add(10 * time.Second) // ten seconds at one a second again
	if ok, _, _ := set.take("a", later); !ok {
		t.Error("alone again: the bucket of a did not refill at the whole rate")
	}
}

// Two gateways on one NATS count each other, and one alone again once
// the other has stopped.
func TestReplicasCountEachOther(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a NATS server")
	}
	srv := embedded.NATSForTest(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	connect := func() *nats.Conn {
		nc, err := nats.Connect(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	counts := make(chan int, 16)
	a := newPresence(func(n int) { counts <- n }, quiet)
	b := newPresence(func(int) {}, quiet)
	for _, p := range []*presence{a, b} {
		p.every, p.ttl = 20*time.Millisecond, 100*time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = a.run(ctx, connect()) }()
	bctx, stopB := context.WithCancel(ctx)
	go func() { _ = b.run(bctx, connect()) }()
	waitCount := func(want int) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case n := <-counts:
				if n == want {
					return
				}
			case <-deadline:
				t.Fatalf("replica a counts %d, want %d", a.replicas(), want)
			}
		}
	}
	waitCount(2)
	stopB()
	waitCount(1)
}

// Behind a balancer that sends a client's requests to two gateways in
// turn, the client meets the configured log-in burst, not twice it.
func TestTwoGatewaysApplyOneLoginLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a NATS server and two gateways")
	}
	srv := embedded.NATSForTest(t)
	var gateways []*Server
	for range 2 {
		cfg := DefaultConfig()
		cfg.HTTPAddr = "127.0.0.1:0"
		cfg.CatalogAddr, cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
		cfg.NATSURL = srv.URL()
		cfg.LoginBurst, cfg.LoginPerMinute = 6, 1
		gateways = append(gateways, runGateway(t, cfg))
	}
	deadline := time.Now().Add(10 * time.Second)
	for gateways[0].presence.replicas() != 2 || gateways[1].presence.replicas() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the gateways count %d and %d replicas, want 2", gateways[0].presence.replicas(), gateways[1].presence.replicas())
		}
		time.Sleep(50 * time.Millisecond)
	}
	allowed := 0
	for i := range 12 {
		r := do(t, http.MethodPost, "http://"+gateways[i%2].Addr()+"/v1/sessions", nil, nil)
		if r.status != http.StatusTooManyRequests {
			allowed++
		}
	}
	if allowed != 6 {
		t.Errorf("%d of 12 log-ins over two gateways passed the limit, want the burst of 6", allowed)
	}
}
