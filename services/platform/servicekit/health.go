package servicekit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// The dependencies the kit itself watches, by the names health logs and
// metrics use.
const (
	dependencyStore = "mongodb"
	dependencyNATS  = "nats"
)

// errConnecting is a dependency's state before the kit has set it up.
var errConnecting = errors.New("not connected yet")

// health is what the service can do, as its dependencies and checks say:
// it drives the gRPC health service (SERVING only while every one is up)
// and the gate that refuses calls while the store is down.
type health struct {
	cfg        HealthConfig
	log        *slog.Logger
	setServing func(bool)
	up         *prometheus.GaugeVec
	kick       chan struct{}
	ready      chan struct{}

	// storeDown is read by every call; the rest under mu.
	storeDown atomic.Bool

	mu      sync.Mutex
	deps    []*dependency
	serving bool
}

// dependency is one thing the service needs: the store, NATS, or a check
// the service declared.
type dependency struct {
	name string
	// check is nil until the kit has set the dependency up (connected,
	// declared); the kit's connection loop reports its progress meanwhile.
	check    func(ctx context.Context) error
	err      error
	failures int
	down     bool
}

func newHealth(cfg HealthConfig, logger *slog.Logger) *health {
	return &health{
		cfg: cfg.withDefaults(), log: logger, setServing: func(bool) {},
		kick: make(chan struct{}, 1), ready: make(chan struct{}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gemella_dependency_up",
			Help: "Whether a dependency of the service (its store, NATS, a readiness check) is up (1) or down (0).",
		}, []string{"dependency"}),
	}
}

// attach connects the health to the server it reports for and the
// registry of its gauge; before any dependency is watched.
func (h *health) attach(setServing func(bool), reg prometheus.Registerer) error {
	if err := reg.Register(h.up); err != nil {
		return fmt.Errorf("register dependency gauge: %w", err)
	}
	h.setServing = setServing
	setServing(false)
	return nil
}

// watch adds a dependency, down until its first success. A nil check
// means the kit sets it up later (setUp).
func (h *health) watch(name string, check func(ctx context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	reason := errConnecting
	if check != nil {
		reason = errors.New("not checked yet")
	}
	h.deps = append(h.deps, &dependency{name: name, check: check, err: reason, down: true})
	h.up.WithLabelValues(name).Set(0)
	if name == dependencyStore {
		h.storeDown.Store(true)
	}
}

// connecting records why a dependency the kit is still setting up is not
// there yet.
func (h *health) connecting(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := h.find(name); d != nil {
		d.err = err
	}
}

// setUp marks a dependency set up and healthy; check watches it from now on.
func (h *health) setUp(name string, check func(ctx context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := h.find(name); d != nil {
		d.check = check
		h.recordLocked(d, nil)
	}
}

func (h *health) find(name string) *dependency {
	for _, d := range h.deps {
		if d.name == name {
			return d
		}
	}
	return nil
}

// run checks every dependency each interval, and at once when kicked,
// until ctx ends.
func (h *health) run(ctx context.Context) {
	h.round(ctx)
	t := time.NewTicker(h.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.kick:
		}
		h.round(ctx)
	}
}

// suspect asks for a round of checks now: a call has just failed in a way
// that says the store may be gone.
func (h *health) suspect() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// round runs every set-up check at once, each under the check timeout.
func (h *health) round(ctx context.Context) {
	h.mu.Lock()
	deps := make([]*dependency, 0, len(h.deps))
	checks := make([]func(context.Context) error, 0, len(h.deps))
	for _, d := range h.deps {
		if d.check != nil {
			deps, checks = append(deps, d), append(checks, d.check)
		}
	}
	h.mu.Unlock()
	results := make([]error, len(deps))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() {
			checkCtx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
			defer cancel()
			results[i] = check(checkCtx)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, d := range deps {
		h.recordLocked(d, results[i])
	}
	h.updateServingLocked()
}

// recordLocked takes one check's result and updates what the service
// reports; h.mu is held.
func (h *health) recordLocked(d *dependency, err error) {
	d.err = err
	switch {
	case err == nil:
		d.failures = 0
		if d.down {
			d.down = false
			h.log.Info("dependency available", slog.String("dependency", d.name))
		}
	case !d.down:
		d.failures++
		if d.failures >= h.cfg.FailuresToDown {
			d.down = true
			h.log.Warn("dependency unavailable; reporting NOT_SERVING", slog.String("dependency", d.name), slog.Any("error", err))
		}
	}
	up := 1.0
	if d.down {
		up = 0
	}
	h.up.WithLabelValues(d.name).Set(up)
	if d.name == dependencyStore {
		h.storeDown.Store(d.down)
	}
	h.updateServingLocked()
}

// updateServingLocked reports SERVING while no dependency is down; h.mu is
// held.
func (h *health) updateServingLocked() {
	serving := true
	for _, other := range h.deps {
		serving = serving && !other.down
	}
	if serving != h.serving {
		h.serving = serving
		h.setServing(serving)
		if serving {
			h.log.Info("serving")
			select {
			case <-h.ready:
			default:
				close(h.ready)
			}
		}
	}
}

// problems says what keeps the service from serving, for errors and logs.
func (h *health) problems() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, d := range h.deps {
		if d.down {
			errs = append(errs, fmt.Errorf("%s: %w", d.name, d.err))
		}
	}
	return errors.Join(errs...)
}

// exempt are the calls that answer whatever the dependencies do: health
// (that is how callers learn about them) and reflection.
func exempt(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.")
}

// storeGate is the status a call gets while the store is down, or nil.
func (h *health) storeGate(service string) error {
	if !h.storeDown.Load() {
		return nil
	}
	st := status.New(codes.Unavailable, service+": its database is unreachable; retry later")
	if withRetry, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(h.cfg.Interval)}); err == nil {
		st = withRetry
	}
	return st.Err()
}

// afterCall turns a handler's error that says the store is gone into
// Unavailable (not Internal) and has the store checked at once. A call
// whose client went away (a browser closing a live stream) sees its store
// operation end with a network error that wraps context.Canceled: that
// is the client's doing, not an outage, and stays as it is (Canceled).
func (h *health) afterCall(ctx context.Context, err error) error {
	if err == nil || !isStoreOutage(err) || grpcx.ClientGone(ctx, err) {
		return err
	}
	h.suspect()
	return apperr.Unavailable(err, "the database is unreachable; retry later")
}

// unaryGate refuses calls fast while the store is down, rather than
// letting each wait for its deadline.
func (h *health) unaryGate(service string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if exempt(info.FullMethod) {
			return handler(ctx, req)
		}
		if err := h.storeGate(service); err != nil {
			return nil, err
		}
		resp, err := handler(ctx, req)
		return resp, h.afterCall(ctx, err)
	}
}

// streamGate is unaryGate for streaming calls.
func (h *health) streamGate(service string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if exempt(info.FullMethod) {
			return handler(srv, ss)
		}
		if err := h.storeGate(service); err != nil {
			return err
		}
		return h.afterCall(ss.Context(), handler(srv, ss))
	}
}
