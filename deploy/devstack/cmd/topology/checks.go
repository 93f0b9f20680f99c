package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
)

// convergeWithin bounds the wait for the relays and the consumers: a
// replica killed while it held a document's lease keeps that document
// (its writes and its outbox) for the lease's 30 s (platform/doclock).
const convergeWithin = 60 * time.Second

// verdict is what the checks after one scenario found.
type verdict struct {
	lost, duplicated, unconverged int
	problems                      []string
	converged                     time.Duration
}

func (v *verdict) addf(format string, args ...any) {
	if len(v.problems) < 30 {
		v.problems = append(v.problems, fmt.Sprintf(format, args...))
	}
}

// checkStored reads every acknowledged write back through the gateways.
func (t *topology) checkStored(ctx context.Context, w *workload, v *verdict) error {
	ps, ts, posts := w.l.snapshot()
	for i, p := range ps {
		a, err := w.c.do(ctx, i, http.MethodGet, "/v1/practices/"+p.id, nil, w.editor)
		if err != nil {
			return err
		}
		m := a.json()
		if a.status != 200 || str(m, "status") != p.status || str(m, "title") != p.title {
			v.lost++
			v.addf("practice %s: acknowledged %s %q, stored %d %s %q", p.id, p.status, p.title, a.status, str(m, "status"), str(m, "title"))
		}
	}
	for i, tw := range ts {
		a, err := w.c.do(ctx, i+1, http.MethodGet, "/v1/twinnings/"+tw.id, nil, w.editor)
		if err != nil {
			return err
		}
		m := a.json()
		if a.status != 200 || str(m, "status") != tw.status {
			v.lost++
			v.addf("twinning %s: acknowledged %s, stored %d %s", tw.id, tw.status, a.status, str(m, "status"))
			continue
		}
		if tw.transferID != "" && transferStatus(m, tw.transferID) != tw.transferStatus {
			v.lost++
			v.addf("transfer %s of twinning %s: acknowledged %s, stored %q", tw.transferID, tw.id, tw.transferStatus, transferStatus(m, tw.transferID))
		}
	}
	stored := map[string]string{}
	pageToken := ""
	for page := 0; page < 1000; page++ {
		q := "/v1/threads/" + w.thread + "/posts?page_size=100"
		if pageToken != "" {
			q += "&page_token=" + url.QueryEscape(pageToken)
		}
		a, err := w.c.do(ctx, page, http.MethodGet, q, nil, w.member)
		if err != nil {
			return err
		}
		if a.status != 200 {
			return fmt.Errorf("list posts: %d %s", a.status, truncate(a.body))
		}
		m := a.json()
		for _, p := range list(m, "posts") {
			stored[str(p, "id")] = str(p, "body")
		}
		if pageToken = str(m, "next_page_token"); pageToken == "" {
			break
		}
	}
	for _, p := range posts {
		if body, ok := stored[p.id]; !ok || body != p.body {
			v.lost++
			v.addf("post %s: acknowledged, stored %q (present %v)", p.id, body, ok)
		}
	}
	return nil
}

// streamEvents reads a whole stream, trying again while the client
// reconnects after a server's restart.
func (t *topology) streamEvents(ctx context.Context, name string) ([]*eventsv1.Envelope, error) {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		var envs []*eventsv1.Envelope
		if envs, err = t.readStream(ctx, name); err == nil {
			return envs, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
	return nil, err
}

func (t *topology) readStream(ctx context.Context, name string) ([]*eventsv1.Envelope, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := t.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	last := info.State.LastSeq
	if last == 0 {
		return nil, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", name, err)
	}
	var out []*eventsv1.Envelope
	var seq uint64
	for {
		// As many as are left, so that the last batch does not wait.
		batch, err := cons.Fetch(int(min(last-seq, 1000)), jetstream.FetchMaxWait(3*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", name, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			md, err := msg.Metadata()
			if err != nil {
				return nil, err
			}
			seq = md.Sequence.Stream
			var env eventsv1.Envelope
			if err := proto.Unmarshal(msg.Data(), &env); err != nil {
				return nil, fmt.Errorf("stream %s seq %d: %w", name, seq, err)
			}
			out = append(out, &env)
		}
		if err := batch.Error(); err != nil && n == 0 {
			return nil, fmt.Errorf("read stream %s: %w", name, err)
		}
		if seq >= last {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read stream %s: at %d of %d: %w", name, seq, last, ctx.Err())
		}
	}
}

// eventIndex is what the streams hold, for the checks.
type eventIndex struct {
	has   map[string]bool // aggregate id + " " + type
	types map[string]int
	dups  []string
}

func (t *topology) indexEvents(ctx context.Context) (*eventIndex, error) {
	ix := &eventIndex{has: map[string]bool{}, types: map[string]int{}}
	for _, name := range []string{"CATALOG", "TWINNING", "DISCUSSION"} {
		envs, err := t.streamEvents(ctx, name)
		if err != nil {
			return nil, err
		}
		ids := map[string]int{}
		versions := map[string]int{}
		for _, e := range envs {
			ids[e.GetEventId()]++
			vkey := fmt.Sprintf("%s %s %s v%d", e.GetType(), e.GetAggregateType(), e.GetAggregateId(), e.GetAggregateVersion())
			// One write may move (or, proposing, announce) several
			// transfers: each is its own event of that version.
			var tr eventsv1.TransferStatusChanged
			if e.GetType() == "twinning.transfer.status_changed" && events.Unpack(e, &tr) == nil {
				vkey += " transfer " + tr.GetTransfer().GetId()
			}
			versions[vkey]++
			ix.has[e.GetAggregateId()+" "+e.GetType()] = true
			ix.types[e.GetType()]++
		}
		for id, n := range ids {
			if n > 1 {
				ix.dups = append(ix.dups, fmt.Sprintf("%s: event %s %d times", name, id, n))
			}
		}
		for k, n := range versions {
			if n > 1 {
				ix.dups = append(ix.dups, fmt.Sprintf("%s: %s %d times", name, k, n))
			}
		}
	}
	sort.Strings(ix.dups)
	return ix, nil
}

// missingEvents lists the acknowledged writes whose event is not on its
// stream.
func missingEvents(ix *eventIndex, ps []practiceRec, ts []twinningRec, posts []postRec) []string {
	var miss []string
	for _, p := range ps {
		for _, e := range p.events {
			if !ix.has[p.id+" "+e] {
				miss = append(miss, fmt.Sprintf("practice %s: no %s", p.id, e))
			}
		}
	}
	for _, tw := range ts {
		for _, e := range tw.events {
			if !ix.has[tw.id+" "+e] {
				miss = append(miss, fmt.Sprintf("twinning %s: no %s", tw.id, e))
			}
		}
		if tw.transferStatus == "TRANSFER_STATUS_IN_PROGRESS" && !ix.has[tw.id+" twinning.transfer.status_changed"] && !ix.has[tw.transferID+" twinning.transfer.status_changed"] {
			miss = append(miss, fmt.Sprintf("transfer %s of twinning %s: no twinning.transfer.status_changed", tw.transferID, tw.id))
		}
	}
	for _, p := range posts {
		if !ix.has[p.id+" discussion.post.added"] {
			miss = append(miss, fmt.Sprintf("post %s: no discussion.post.added", p.id))
		}
	}
	return miss
}

// effects lists the consumers' effects not yet there: the adoption
// figures of each moved transfer's model, the one thread of each approved
// twinning (two are a duplicate), and the search hits of each published
// practice not searched before, asked through both gateways twice (so
// both catalog replicas' indexes answer).
func (t *topology) effects(ctx context.Context, w *workload, ps []practiceRec, ts []twinningRec, searched map[string]bool, v *verdict) ([]string, error) {
	var (
		mu       sync.Mutex
		pending  []string
		firstErr error
	)
	note := func(err error, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		pending = append(pending, fmt.Sprintf(format, args...))
	}
	dup := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		v.duplicated++
		v.addf(format, args...)
	}
	// Four requests at a time: the checks are reads, the machine small.
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	spawn := func(f func()) {
		wg.Add(1)
		sem <- struct{}{}
		go func() { defer wg.Done(); defer func() { <-sem }(); f() }()
	}
	for i, tw := range ts {
		if tw.transferStatus == "TRANSFER_STATUS_IN_PROGRESS" {
			spawn(func() {
				a, err := w.c.do(ctx, i, http.MethodGet, "/v1/practices/"+tw.practiceID, nil, w.editor)
				if err != nil {
					note(err, "")
					return
				}
				models := list(a.json(), "models")
				if len(models) != 1 {
					note(nil, "practice %s: %d models", tw.practiceID, len(models))
					return
				}
				ad, _ := models[0]["adoption"].(map[string]any)
				if num(ad, "twinnings") != 1 || num(ad, "in_progress") != 1 {
					note(nil, "practice %s model A: adoption %v, want 1 twinning, 1 in progress", tw.practiceID, ad)
					if num(ad, "twinnings") > 1 || num(ad, "in_progress") > 1 {
						dup("practice %s model A counted twice: %v", tw.practiceID, ad)
					}
				}
			})
		}
		if !tw.approvedAt.IsZero() {
			spawn(func() {
				a, err := w.c.do(ctx, i+1, http.MethodGet, "/v1/threads?twinning_id="+url.QueryEscape(tw.id), nil, w.member)
				if err != nil {
					note(err, "")
					return
				}
				switch n := len(list(a.json(), "threads")); {
				case n == 0:
					note(nil, "twinning %s: no thread", tw.id)
				case n > 1:
					dup("twinning %s: %d threads", tw.id, n)
				}
			})
		}
	}
	for _, p := range ps {
		if p.status != "PRACTICE_STATUS_PUBLISHED" || searched[p.id] {
			continue
		}
		spawn(func() {
			found := 0
			for g := range 4 {
				a, err := w.c.do(ctx, g, http.MethodGet, "/v1/search/practices?q="+url.QueryEscape(p.token), nil, "")
				if err != nil {
					note(err, "")
					return
				}
				if a.status == 200 && strings.Contains(string(a.body), p.id) {
					found++
				}
			}
			if found == 4 {
				mu.Lock()
				searched[p.id] = true
				mu.Unlock()
			} else {
				note(nil, "practice %s: found by %d of 4 searches", p.id, found)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	sort.Strings(pending)
	return pending, nil
}

// check runs every check after a scenario, the writers paused, waiting for
// the events and the effects up to convergeWithin.
func (t *topology) check(ctx context.Context, w *workload, searched map[string]bool) (*verdict, error) {
	v := &verdict{}
	if err := t.checkStored(ctx, w, v); err != nil {
		return nil, err
	}
	ps, ts, posts := w.l.snapshot()
	start := time.Now()
	var missing, pending []string
	var ix *eventIndex
	for {
		var err error
		if ix, err = t.indexEvents(ctx); err != nil {
			return nil, err
		}
		missing = missingEvents(ix, ps, ts, posts)
		if len(missing) == 0 {
			if pending, err = t.effects(ctx, w, ps, ts, searched, v); err != nil {
				return nil, err
			}
		}
		if len(missing) == 0 && len(pending) == 0 {
			v.converged = time.Since(start)
			break
		}
		if time.Since(start) > convergeWithin || ctx.Err() != nil {
			for _, m := range missing {
				v.lost++
				v.addf("lost event: %s", m)
			}
			for _, p := range pending {
				v.unconverged++
				v.addf("not converged after %s: %s", convergeWithin, p)
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, d := range ix.dups {
		v.duplicated++
		v.addf("duplicate: %s", d)
	}
	if t.verbose {
		var types []string
		for ty, n := range ix.types {
			types = append(types, ty+"="+strconv.Itoa(n))
		}
		sort.Strings(types)
		t.logf("events: %s", strings.Join(types, " "))
	}
	return v, nil
}

// handled is the replica's count of answered gRPC calls, from its
// /metrics.
func handled(metrics string) (float64, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	res, err := c.Get("http://" + metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var sum float64
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "grpc_server_handled_total{") || strings.Contains(line, "grpc.health.v1") {
			continue
		}
		f := strings.Fields(line)
		n, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += n
		}
	}
	return sum, sc.Err()
}
