package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// # Rate limits shared by the gateway replicas
//
// Each gateway process keeps its rate limit buckets in memory (a request
// costs no round trip), but the configured limits are the deployment's.
// So every replica says on NATS, every presenceEvery, that it is there
// (core NATS, nothing stored), counts the replicas it heard from within
// presenceTTL, itself included, and keeps 1/n of each limit. Behind a
// load balancer that spreads a client's requests over the replicas, the
// client meets the configured limit; behind one that keeps a client on
// one replica, the client meets 1/n of it, which errs on the safe side.
// Without NATS (the feed off) a gateway counts itself alone.

// presenceSubject is where the replicas say they are there.
const presenceSubject = "gemella.gateway.presence"

// presence counts the live gateway replicas.
type presence struct {
	id    string
	every time.Duration
	ttl   time.Duration
	// onCount is called with the count whenever it changes, and once at
	// the start.
	onCount func(int)
	logger  *slog.Logger

	mu   sync.Mutex
	seen map[string]time.Time
	// connectedSince is when NATS last came back (zero while it is away):
	// replicas age out only once this one could have heard them.
	connectedSince time.Time
	count          int
}

func newPresence(onCount func(int), logger *slog.Logger) *presence {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &presence{id: hex.EncodeToString(b), every: 2 * time.Second, ttl: 7 * time.Second,
		onCount: onCount, logger: logger, seen: map[string]time.Time{}}
}

// run announces this replica and listens to the others until ctx ends.
// A NATS outage leaves the count where it was: a partition that hears
// nobody does not take on the whole deployment's limits at once, and
// replicas gone for good age out when NATS is back.
func (p *presence) run(ctx context.Context, nc *nats.Conn) error {
	sub, err := nc.Subscribe(presenceSubject, func(m *nats.Msg) {
		if id := string(m.Data); id != "" && id != p.id && len(id) <= 64 {
			p.mu.Lock()
			p.seen[id] = time.Now()
			p.mu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	start := time.Now()
	p.mu.Lock()
	p.connectedSince = start.Add(-p.ttl) // heard from nobody yet, and free to say so
	p.mu.Unlock()
	p.recount(start, true)
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		if !nc.IsClosed() {
			_ = nc.Publish(presenceSubject, []byte(p.id))
		}
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			p.recount(now, nc.IsConnected())
		}
	}
}

// recount forgets the replicas not heard from within ttl, when this
// replica could have heard them, and reports a changed count.
func (p *presence) recount(now time.Time, connected bool) {
	p.mu.Lock()
	switch {
	case !connected:
		p.connectedSince = time.Time{}
	case p.connectedSince.IsZero():
		p.connectedSince = now
	}
	if connected && now.Sub(p.connectedSince) >= p.ttl {
		for id, at := range p.seen {
			if now.Sub(at) > p.ttl {
				delete(p.seen, id)
			}
		}
	}
	n := 1 + len(p.seen)
	changed := n != p.count
	p.count = n
	p.mu.Unlock()
	if changed {
		p.logger.Info("rate limits shared among the gateway replicas", slog.Int("replicas", n))
		p.onCount(n)
	}
}

// replicas is the count last reported.
func (p *presence) replicas() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}
