package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// hangAfter is how long a request may take before it counts as a hang:
// the gateway's own deadline and a margin for a loaded machine.
const hangAfter = requestTimeout + 4*time.Second

// tally counts the gateways' answers during one scenario.
type tally struct {
	mu       sync.Mutex
	byStatus map[int]int
	hangs    int
	refused  int // connection errors (no gateway is killed: none expected)
	bad      []string
}

func newTally() *tally { return &tally{byStatus: map[int]int{}} }

func (t *tally) add(status int) {
	t.mu.Lock()
	t.byStatus[status]++
	t.mu.Unlock()
}

func (t *tally) fail(format string, args ...any) {
	t.mu.Lock()
	if len(t.bad) < 20 {
		t.bad = append(t.bad, fmt.Sprintf(format, args...))
	}
	t.mu.Unlock()
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	ok, s503, s504, s5xx := 0, t.byStatus[503], t.byStatus[504], 0
	for code, n := range t.byStatus {
		switch {
		case code < 500:
			ok += n
		case code != 503 && code != 504:
			s5xx += n
		}
	}
	return fmt.Sprintf("%d answered, %d×503, %d×504, %d other 5xx, %d hangs", ok+s503+s504+s5xx, s503, s504, s5xx, t.hangs)
}

// client calls the gateways' REST API.
type client struct {
	bases []string
	http  *http.Client
	// cur is the tally of the running scenario.
	cur atomic.Pointer[tally]
}

type answer struct {
	status int
	body   []byte
	took   time.Duration
}

func (a answer) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(a.body, &m)
	return m
}

// once sends one request through gateway g.
func (c *client) once(ctx context.Context, g int, method, path string, body any, token string) (answer, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.bases[g%len(c.bases)]+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := c.http.Do(req)
	took := time.Since(start)
	tl := c.cur.Load()
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		var nerr interface{ Timeout() bool }
		if errors.As(err, &nerr) && nerr.Timeout() {
			tl.mu.Lock()
			tl.hangs++
			tl.mu.Unlock()
			tl.fail("%s %s through gateway %d: no answer after %s", method, path, g%len(c.bases)+1, hangAfter)
			return answer{status: -1, took: took}, nil
		}
		tl.mu.Lock()
		tl.refused++
		tl.mu.Unlock()
		return answer{status: -2, took: took}, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	tl.add(res.StatusCode)
	a := answer{status: res.StatusCode, body: raw, took: took}
	switch {
	case res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "":
		tl.fail("%s %s: 503 without Retry-After", method, path)
	case res.StatusCode >= 500 && res.StatusCode != 503 && res.StatusCode != 504:
		tl.fail("%s %s through gateway %d: %d %s", method, path, g%len(c.bases)+1, res.StatusCode, truncate(raw))
	case took > hangAfter:
		tl.fail("%s %s: answered after %s, past the deadline", method, path, took.Round(time.Millisecond))
	}
	return a, nil
}

// retryFor bounds how long a write is retried while a backend is gone: a
// killed replica's document lease (platform/doclock, 30 s) and the store's
// stop (10 s) fit in it.
const retryFor = 75 * time.Second

// do sends a request until it gets an answer that is not an outage (503,
// 504, 429, a hang, a refused connection, a 500), alternating gateways.
func (c *client) do(ctx context.Context, g int, method, path string, body any, token string) (answer, error) {
	deadline := time.Now().Add(retryFor)
	for attempt := 0; ; attempt++ {
		a, err := c.once(ctx, g+attempt, method, path, body, token)
		if err != nil {
			return a, err
		}
		switch a.status {
		case -1, -2, 429, 500, 502, 503, 504:
		default:
			return a, nil
		}
		if time.Now().After(deadline) {
			return a, fmt.Errorf("%s %s: still %d after %s", method, path, a.status, retryFor)
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func num(m map[string]any, key string) int {
	switch v := m[key].(type) {
	case float64:
		return int(v)
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

func list(m map[string]any, key string) []map[string]any {
	raw, _ := m[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		if mm, ok := r.(map[string]any); ok {
			out = append(out, mm)
		}
	}
	return out
}
