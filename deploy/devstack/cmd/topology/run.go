package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Scenario timings.
const (
	writers      = 4
	steadyFor    = 6 * time.Second
	downFor      = 5 * time.Second
	storeStopFor = 10 * time.Second
	settleFor    = 3 * time.Second
	recoverLimit = 5 * time.Second
	natsCatchUp  = 30 * time.Second
)

type scenario struct {
	name string
	// limit bounds recovered: 5 s for what the gateways call (a replica,
	// the store); a restarted NATS server's catching up with its streams
	// is not on a request's path, and gets natsCatchUp.
	limit time.Duration
	// fault breaks something and puts it back; it returns a description
	// and how long the broken part took to serve again after its return.
	fault func(ctx context.Context) (what string, recovered time.Duration, err error)
}

func (t *topology) run(ctx context.Context) error {
	if err := t.setup(ctx); err != nil {
		return err
	}
	w := &workload{
		c: &client{http: &http.Client{Timeout: hangAfter}},
		l: &ledger{}, run: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff),
	}
	for _, g := range t.gateways {
		w.c.bases = append(w.c.bases, "http://"+g.addr)
	}
	w.c.cur.Store(newTally())
	if err := t.prepare(ctx, w); err != nil {
		return err
	}
	wctx, stopWriters := context.WithCancel(ctx)
	defer func() { stopWriters(); w.running.Wait() }()
	w.start(wctx, writers)

	scenarios := []scenario{
		{"steady writes", recoverLimit, func(ctx context.Context) (string, time.Duration, error) {
			return "no fault", 0, sleep(ctx, steadyFor)
		}},
		{"stream leader killed", natsCatchUp, func(ctx context.Context) (string, time.Duration, error) {
			return t.killNATSLeader(ctx, "TWINNING", "")
		}},
		{"consumer leader killed", natsCatchUp, func(ctx context.Context) (string, time.Duration, error) {
			return t.killNATSLeader(ctx, "TWINNING", "catalog-adoption")
		}},
	}
	// A read that reaches each service, sent while a restarted replica is
	// waited for: the writers alone call some services seldom.
	probes := map[string]string{
		"practice-catalog": "/v1/practices?page_size=1", "twinning": "/v1/twinnings?page_size=1",
		"discussion": "/v1/me", "notification": "/v1/me/notifications?page_size=1",
	}
	for i, name := range []string{"practice-catalog", "twinning", "discussion", "notification"} {
		s := t.svc(name)
		r := s.replicas[i%replicas]
		scenarios = append(scenarios, scenario{"replica killed: " + name, recoverLimit, func(ctx context.Context) (string, time.Duration, error) {
			return t.killReplica(ctx, w, r, probes[name])
		}})
	}
	scenarios = append(scenarios,
		scenario{"gateway killed", recoverLimit, func(ctx context.Context) (string, time.Duration, error) {
			return t.killGateway(ctx, w, t.gateways[0])
		}},
		scenario{"every replica killed: twinning", recoverLimit, func(ctx context.Context) (string, time.Duration, error) {
			return t.killService(ctx, w, t.svc("twinning"), "/v1/twinnings?page_size=1", "/v1/practices?page_size=1")
		}},
		scenario{"store stopped", recoverLimit, func(ctx context.Context) (string, time.Duration, error) {
			return t.stopStore(ctx, w)
		}})

	var lost, duplicated int
	var failed []string
	searched := map[string]bool{}
	for i, sc := range scenarios {
		start := time.Now()
		tl := newTally()
		w.c.cur.Store(tl)
		what, recovered, err := sc.fault(ctx)
		if err != nil {
			return fmt.Errorf("scenario %q: %w", sc.name, err)
		}
		if err := sleep(ctx, settleFor); err != nil {
			return err
		}
		// The checks see no write in flight.
		w.gate.Lock()
		w.c.cur.Store(newTally())
		v, err := t.check(ctx, w, searched)
		w.gate.Unlock()
		w.c.cur.Store(tl)
		if err != nil {
			return fmt.Errorf("scenario %q: checks: %w", sc.name, err)
		}
		lost += v.lost
		duplicated += v.duplicated
		var bad []string
		bad = append(bad, v.problems...)
		tl.mu.Lock()
		bad = append(bad, tl.bad...)
		tl.mu.Unlock()
		if recovered > sc.limit {
			bad = append(bad, fmt.Sprintf("served again %s after its return, more than %s", recovered.Round(time.Millisecond), sc.limit))
		}
		for _, err := range w.failures() {
			bad = append(bad, "writer: "+err.Error())
		}
		w.errMu.Lock()
		w.errs = nil
		w.errMu.Unlock()
		status := "ok"
		if len(bad) > 0 {
			status = "FAIL"
			failed = append(failed, sc.name)
		}
		w.l.mu.Lock()
		flows := w.l.flows
		w.l.mu.Unlock()
		fmt.Printf("scenario %d %-32s %s: %s; back in %s; %s; %d lost, %d duplicated, checked and converged in %s; %d rounds so far; %s\n",
			i+1, sc.name, status, what, recovered.Round(time.Millisecond), tl, v.lost, v.duplicated,
			v.converged.Round(time.Millisecond), flows, time.Since(start).Round(100*time.Millisecond))
		for _, b := range bad {
			fmt.Printf("    %s\n", b)
		}
	}
	fmt.Printf("topology: %d scenarios, %d lost, %d duplicated\n", len(scenarios), lost, duplicated)
	if len(failed) > 0 || lost > 0 || duplicated > 0 {
		return fmt.Errorf("%d of %d scenarios failed: %s", len(failed), len(scenarios), strings.Join(failed, "; "))
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// killNATSLeader kills -9 the server leading the stream (consumer "") or
// the consumer, and starts it again after downFor; recovered is how long
// the stream took after the restart to have every replica current again.
func (t *topology) killNATSLeader(ctx context.Context, stream, consumer string) (string, time.Duration, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var leader string
	if consumer == "" {
		s, err := t.js.Stream(cctx, stream)
		if err != nil {
			return "", 0, err
		}
		if s.CachedInfo().Cluster != nil {
			leader = s.CachedInfo().Cluster.Leader
		}
	} else {
		c, err := t.js.Consumer(cctx, stream, consumer)
		if err != nil {
			return "", 0, err
		}
		if c.CachedInfo().Cluster != nil {
			leader = c.CachedInfo().Cluster.Leader
		}
	}
	var p *proc
	for _, n := range t.nats {
		if n.name == leader {
			p = n
		}
	}
	if p == nil {
		return "", 0, fmt.Errorf("no leader named %q among the NATS servers", leader)
	}
	what := stream + " leader " + leader
	if consumer != "" {
		what = stream + " > " + consumer + " leader " + leader
	}
	p.kill()
	if err := sleep(ctx, downFor); err != nil {
		return "", 0, err
	}
	if err := p.start(); err != nil {
		return "", 0, err
	}
	if err := p.waitListening(ctx, startTimeout); err != nil {
		return "", 0, err
	}
	back := time.Now()
	for {
		if ok := t.streamCurrent(ctx, stream, consumer); ok {
			break
		}
		if time.Since(back) > 60*time.Second {
			return "", 0, fmt.Errorf("%s: the restarted server is not current after 60s", what)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return "", 0, err
		}
	}
	return fmt.Sprintf("kill -9 %s, restarted after %s", what, downFor), time.Since(back), nil
}

// streamCurrent reports whether every replica of the stream (and of the
// consumer) is current, with a leader.
func (t *topology) streamCurrent(ctx context.Context, stream, consumer string) bool {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := t.js.Stream(cctx, stream)
	if err != nil {
		return false
	}
	ci := s.CachedInfo().Cluster
	if ci == nil || ci.Leader == "" || len(ci.Replicas) != 2 {
		return false
	}
	for _, r := range ci.Replicas {
		if !r.Current || r.Offline {
			return false
		}
	}
	if consumer == "" {
		return true
	}
	c, err := t.js.Consumer(cctx, stream, consumer)
	if err != nil {
		return false
	}
	cc := c.CachedInfo().Cluster
	if cc == nil || cc.Leader == "" || len(cc.Replicas) != 2 {
		return false
	}
	for _, r := range cc.Replicas {
		if !r.Current || r.Offline {
			return false
		}
	}
	return true
}

// killReplica kills -9 one replica and starts it again after downFor;
// recovered is how long after it served again (health check) a client
// (a gateway, another service) had a call answered by it.
func (t *topology) killReplica(ctx context.Context, w *workload, r *replica, probe string) (string, time.Duration, error) {
	r.kill()
	if err := sleep(ctx, downFor); err != nil {
		return "", 0, err
	}
	if err := r.start(); err != nil {
		return "", 0, err
	}
	if err := t.waitServing(ctx, r.proc); err != nil {
		return "", 0, err
	}
	back := time.Now()
	base, err := handled(r.metrics)
	if err != nil {
		return "", 0, fmt.Errorf("%s metrics: %w", r.name, err)
	}
	for i := 0; ; i++ {
		n, err := handled(r.metrics)
		if err == nil && n > base {
			break
		}
		if _, err := w.c.once(ctx, i, http.MethodGet, probe, nil, w.member); err != nil {
			return "", 0, err
		}
		if time.Since(back) > 30*time.Second {
			return "", 0, fmt.Errorf("%s: no call reached it in 30s after its restart", r.name)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return "", 0, err
		}
	}
	return fmt.Sprintf("kill -9 %s, restarted after %s", r.name, downFor), time.Since(back), nil
}

// stopStore stops the store (SIGSTOP) for storeStopFor and lets it go on;
// recovered is how long until a read through each gateway was answered.
func (t *topology) stopStore(ctx context.Context, w *workload) (string, time.Duration, error) {
	if err := t.store.signal(syscall.SIGSTOP); err != nil {
		return "", 0, err
	}
	if err := sleep(ctx, storeStopFor); err != nil {
		_ = t.store.signal(syscall.SIGCONT)
		return "", 0, err
	}
	if err := t.store.signal(syscall.SIGCONT); err != nil {
		return "", 0, err
	}
	back := time.Now()
	for g := range t.gateways {
		for {
			a, err := w.c.once(ctx, g, http.MethodGet, "/v1/twinnings?page_size=1", nil, w.editor)
			if err != nil {
				return "", 0, err
			}
			if a.status == 200 {
				break
			}
			if time.Since(back) > 60*time.Second {
				return "", 0, errors.New("the gateways do not answer 60s after the store's return")
			}
			if err := sleep(ctx, 50*time.Millisecond); err != nil {
				return "", 0, err
			}
		}
	}
	return fmt.Sprintf("SIGSTOP ferretdb for %s", storeStopFor), time.Since(back), nil
}

// killGateway kills -9 a gateway and starts it again after downFor (the
// writers go on through the other one, as behind a load balancer);
// recovered is how long after it was ready again its live feed handed on
// an event of the writers.
func (t *topology) killGateway(ctx context.Context, w *workload, g *proc) (string, time.Duration, error) {
	g.kill()
	if err := sleep(ctx, downFor); err != nil {
		return "", 0, err
	}
	if err := g.start(); err != nil {
		return "", 0, err
	}
	if err := t.waitGateway(ctx, g); err != nil {
		return "", 0, err
	}
	back := time.Now()
	if err := firstFeedEvent(ctx, "http://"+g.addr, 30*time.Second); err != nil {
		return "", 0, fmt.Errorf("%s after its restart: %w", g.name, err)
	}
	return fmt.Sprintf("kill -9 %s, restarted after %s", g.name, downFor), time.Since(back), nil
}

// firstFeedEvent waits for the first event of the gateway's live feed.
func firstFeedEvent(ctx context.Context, base string, within time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, base+"/v1/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("live feed: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("live feed: %d", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data:") {
			return nil
		}
	}
	if cctx.Err() != nil {
		return fmt.Errorf("live feed: no event in %s", within)
	}
	return fmt.Errorf("live feed ended without an event: %v", sc.Err())
}

// killService kills -9 every replica of s, and while they are gone reads
// probe (which only s serves) and other (which it does not) through each
// gateway: probe must answer 503 at once, never hang, and other 200.
// Then it starts them again; recovered is how long after they served
// again probe answered 200 through each gateway.
func (t *topology) killService(ctx context.Context, w *workload, s *service, probe, other string) (string, time.Duration, error) {
	for _, r := range s.replicas {
		r.kill()
	}
	down := time.Now()
	tl := w.c.cur.Load()
	for i := 0; time.Since(down) < downFor; i++ {
		g := i % len(t.gateways)
		a, err := w.c.once(ctx, g, http.MethodGet, probe, nil, w.member)
		if err != nil {
			return "", 0, err
		}
		if a.status != http.StatusServiceUnavailable {
			tl.fail("GET %s through gateway %d with every %s replica down: %d, want 503", probe, g+1, s.name, a.status)
		}
		if b, err := w.c.once(ctx, g, http.MethodGet, other, nil, w.member); err != nil {
			return "", 0, err
		} else if b.status != http.StatusOK {
			tl.fail("GET %s through gateway %d with every %s replica down: %d, want 200", other, g+1, s.name, b.status)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return "", 0, err
		}
	}
	for _, r := range s.replicas {
		if err := r.start(); err != nil {
			return "", 0, err
		}
	}
	for _, r := range s.replicas {
		if err := t.waitServing(ctx, r.proc); err != nil {
			return "", 0, err
		}
	}
	back := time.Now()
	for g := range t.gateways {
		for {
			a, err := w.c.once(ctx, g, http.MethodGet, probe, nil, w.member)
			if err != nil {
				return "", 0, err
			}
			if a.status == http.StatusOK {
				break
			}
			if time.Since(back) > 60*time.Second {
				return "", 0, fmt.Errorf("GET %s through gateway %d: %d 60s after every %s replica's return", probe, g+1, a.status, s.name)
			}
			if err := sleep(ctx, 50*time.Millisecond); err != nil {
				return "", 0, err
			}
		}
	}
	return fmt.Sprintf("kill -9 every %s replica, restarted after %s", s.name, downFor), time.Since(back), nil
}
