package servicekit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/outbox"
)

// natsSetupTimeout bounds one attempt to declare the streams.
const natsSetupTimeout = 10 * time.Second

// Service is a service on the kit: built by New or NewInMemory, bound by
// Listen, served by Run until its context ends.
type Service struct {
	decl   Declaration
	cfg    Config
	logger *slog.Logger
	server *grpcx.Server
	health *health
	parts  Parts
	locks  *doclock.Locks

	// mongo and db are nil in memory.
	mongo *mongo.Client
	db    *mongo.Database

	natsMu sync.Mutex
	nc     *nats.Conn
	js     jetstream.JetStream
	relay  atomic.Pointer[outbox.Relay]

	// revoked are the ended sessions whose tokens the verifier refuses.
	revoked revocationState

	stopTracing func(context.Context) error
	started     atomic.Bool
	stopped     chan struct{}
	closeOnce   sync.Once
}

// New builds the service on MongoDB and NATS as settings say. It does not
// wait for either: Run connects, with retry and backoff, while the service
// already listens and reports NOT_SERVING.
func New(ctx context.Context, d Declaration, settings Settings, logger *slog.Logger) (*Service, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	if err := settings.Validate(); err != nil {
		return nil, fmt.Errorf("%s configuration: %w", d.Name, err)
	}
	cfg := configOf(settings)
	verifier, err := cfg.Auth.Verifier(d.TrustedKeys...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	client, db, err := openStore(cfg.Mongo, d.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	s, err := build(ctx, d, cfg, logger, verifier, client, db)
	if err != nil {
		closeStore(client)
		return nil, err
	}
	return s, nil
}

// NewInMemory builds the service without MongoDB or NATS (Ports.DB is nil,
// consumers do not run): for benchmarks of the service's own code. It
// accepts the tokens that the declaration's trusted keys and keys verify;
// with none, every caller is anonymous.
func NewInMemory(ctx context.Context, d Declaration, grpcCfg config.GRPCServer, logger *slog.Logger, keys ...ed25519.PublicKey) (*Service, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	verifier, err := verifierOf(append(append([]ed25519.PublicKey{}, d.TrustedKeys...), keys...))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	return build(ctx, d, Config{Own: Own{GRPC: grpcCfg}}, logger, verifier, nil, nil)
}

// verifierOf accepts the keys' tokens; without keys, none (a throw-away
// key that signs nothing stands in, as a verifier needs one).
func verifierOf(keys []ed25519.PublicKey) (*auth.Verifier, error) {
	if len(keys) == 0 {
		key, err := auth.GenerateKey()
		if err != nil {
			return nil, err
		}
		keys = []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	}
	return auth.NewVerifier(keys...)
}

func build(ctx context.Context, d Declaration, cfg Config, logger *slog.Logger, verifier *auth.Verifier, client *mongo.Client, db *mongo.Database) (_ *Service, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("service", d.Name)
	s := &Service{decl: d, cfg: cfg, logger: logger, mongo: client, db: db, locks: newLocks(cfg.Mongo, db, logger), stopped: make(chan struct{})}
	s.revoked.list = auth.NewRevocations()
	verifier = verifier.WithRevocations(s.revoked.list)
	if s.stopTracing, err = setupTracing(ctx, d.Name, logger); err != nil {
		return nil, fmt.Errorf("%s: tracing: %w", d.Name, err)
	}
	defer func() {
		if err != nil {
			_ = s.stopTracing(context.Background())
		}
	}()
	s.health = newHealth(cfg.Health, logger)
	// The gate comes before the token check: a call refused for an outage
	// costs no signature verification.
	if s.server, err = grpcx.NewServer(grpcx.ServerOptions{
		Name: d.Name, Config: cfg.GRPC, Logger: logger,
		Unary:  []grpc.UnaryServerInterceptor{s.health.unaryGate(d.Name), auth.UnaryServerInterceptor(verifier)},
		Stream: []grpc.StreamServerInterceptor{s.health.streamGate(d.Name), auth.StreamServerInterceptor(verifier)},
	}); err != nil {
		return nil, err
	}
	if err := s.health.attach(s.server.SetServing, s.server.Registry()); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	if db != nil {
		s.health.watch(dependencyStore, nil)
		s.health.watch(dependencyNATS, nil)
	}
	if s.parts, err = d.Build(ctx, Ports{DB: db, Notify: s.notify, NotifyDocument: s.notifyDocument, Locks: s.locks, Logger: logger, Metrics: s.server.Registry(), RevokeSession: s.revokeSession}); err != nil {
		return nil, err
	}
	if err := s.parts.validate(d.Name); err != nil {
		if s.parts.Close != nil {
			s.parts.Close()
		}
		return nil, err
	}
	s.parts.Register(s.server.GRPC())
	for _, c := range s.parts.Checks {
		s.health.watch(c.Name, c.Check)
	}
	for _, w := range s.parts.Workers {
		if w.Ready != nil {
			s.health.watch(w.Name, w.Ready)
		}
	}
	// Every registered service NOT_SERVING until the first round of checks.
	s.server.SetServing(false)
	return s, nil
}

// Listen binds the gRPC address, so that Addr is known before Run.
func (s *Service) Listen() error { return s.server.Listen() }

// Addr is the gRPC address; the bound one after Listen.
func (s *Service) Addr() string { return s.server.Addr() }

// Registry holds the service's metrics.
func (s *Service) Registry() *prometheus.Registry { return s.server.Registry() }

// Ready is closed the first time the service is SERVING: its store and
// NATS are set up and every check passes.
func (s *Service) Ready() <-chan struct{} { return s.health.ready }

// WaitReady waits until the service is first SERVING, and says what it
// still waits for when ctx ends first or Run stops.
func (s *Service) WaitReady(ctx context.Context) error {
	select {
	case <-s.health.ready:
		return nil
	case <-s.stopped:
		return fmt.Errorf("%s stopped before it was ready", s.decl.Name)
	case <-ctx.Done():
		if problems := s.health.problems(); problems != nil {
			return fmt.Errorf("%s not ready: %w (%w)", s.decl.Name, ctx.Err(), problems)
		}
		return fmt.Errorf("%s not ready: %w", s.decl.Name, ctx.Err())
	}
}

// Run serves until ctx ends. It listens at once; it connects to the store
// and NATS (retrying with backoff) and declares the indexes and streams,
// then runs the relay, the consumers and the workers; the health service
// says all along whether the service can do its work. When ctx ends it
// stops in order: it stops accepting calls (in-flight ones get up to the
// default deadline), stops the consumers and workers, lets the relay make
// a last pass, drains NATS and disconnects from MongoDB. It returns an
// error when serving fails or a worker, consumer or the relay gives up.
func (s *Service) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: Run called twice", s.decl.Name)
	}
	defer s.Close()
	defer close(s.stopped)

	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	served := make(chan error, 1)
	go func() { served <- s.server.Serve(serveCtx) }()

	failed := make(chan error, 1)
	fail := func(err error) {
		select {
		case failed <- err:
		default:
		}
	}
	healthCtx, stopHealth := context.WithCancel(context.Background())
	defer stopHealth()
	var checking sync.WaitGroup
	checking.Go(func() { s.health.run(healthCtx) })

	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	relayCtx, stopRelay := context.WithCancel(context.Background())
	defer stopRelay()
	var work, relaying sync.WaitGroup
	work.Go(func() { s.start(workCtx, relayCtx, &work, &relaying, fail) })

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		served = nil
	case err = <-failed:
	}
	// Stop accepting calls: NOT_SERVING, then a graceful stop that gives
	// in-flight calls up to the default deadline (grpcx.Server.Serve).
	stopServing()
	if served != nil {
		err = errors.Join(err, <-served)
	}
	stopWork()
	work.Wait()
	stopRelay()
	relaying.Wait()
	if r := s.relay.Load(); r != nil && s.natsConn() != nil && s.natsConn().IsConnected() {
		lastPass(r, s.logger)
	}
	stopHealth()
	checking.Wait()
	return err
}

// start sets the store and NATS up, then starts the relay, the consumers
// and the workers, each under its group so that Run stops them in order.
func (s *Service) start(workCtx, relayCtx context.Context, work, relaying *sync.WaitGroup, fail func(error)) {
	rt := Runtime{Logger: s.logger}
	if s.db != nil {
		var setUp sync.WaitGroup
		setUp.Go(func() { s.connectStore(workCtx) })
		setUp.Go(func() { s.connectNATS(workCtx) })
		setUp.Wait()
		if workCtx.Err() != nil {
			return
		}
		rt.DB, rt.JS = s.db, s.jetStream()
		work.Go(func() { s.watchRevocations(workCtx, rt.JS) })
		if r := newRelay(s.decl.Name, rt.JS, s.db, s.decl.Collections, s.locks, s.server.Registry(), s.logger); r != nil {
			s.relay.Store(r)
			relaying.Go(func() { report(fail, runRelay(relayCtx, r)) })
		}
		for _, c := range s.parts.Consumers {
			work.Go(func() { report(fail, runConsumer(workCtx, rt.JS, c, s.logger, s.server.Registry())) })
		}
	}
	for _, w := range s.parts.Workers {
		work.Go(func() {
			if err := w.Run(workCtx, rt); err != nil && workCtx.Err() == nil {
				fail(fmt.Errorf("%s: worker %s: %w", s.decl.Name, w.Name, err))
			}
		})
	}
}

func report(fail func(error), err error) {
	if err != nil {
		fail(err)
	}
}

// connectStore waits for the store and creates the indexes, retrying
// with backoff until it succeeds or ctx ends.
func (s *Service) connectStore(ctx context.Context) {
	err := Retry(ctx, s.logger, "store set-up", func(ctx context.Context) error {
		err := prepareStore(ctx, s.mongo, s.db, s.decl, s.locks, s.health.cfg.Timeout)
		if err != nil && ctx.Err() == nil {
			s.health.connecting(dependencyStore, err)
		}
		return err
	})
	if err == nil {
		s.health.setUp(dependencyStore, pingStore(s.mongo))
		s.logger.Info("store ready", slog.String("database", s.db.Name()))
	}
}

// connectNATS connects to NATS and declares the streams, retrying with
// backoff (NATS away, or JetStream without a quorum) until it succeeds or
// ctx ends.
func (s *Service) connectNATS(ctx context.Context) {
	var nc *nats.Conn
	var js jetstream.JetStream
	err := Retry(ctx, s.logger, "nats connection", func(ctx context.Context) (err error) {
		if nc, js, err = connectNATS(ctx, s.cfg.NATS, s.decl.Name, s.logger); err != nil && ctx.Err() == nil {
			s.health.connecting(dependencyNATS, err)
		}
		return err
	})
	if err != nil {
		return
	}
	s.natsMu.Lock()
	s.nc, s.js = nc, js
	s.natsMu.Unlock()
	err = Retry(ctx, s.logger, "stream declaration", func(ctx context.Context) error {
		callCtx, cancel := context.WithTimeout(ctx, natsSetupTimeout)
		defer cancel()
		err := prepareNATS(callCtx, js, s.cfg.NATS, s.decl.Stream)
		if err != nil && ctx.Err() == nil {
			s.health.connecting(dependencyNATS, err)
		}
		return err
	})
	if err == nil {
		s.health.setUp(dependencyNATS, checkNATS(nc, js))
		s.logger.Info("nats ready", slog.String("stream", s.decl.Stream.Name))
	}
}

func (s *Service) natsConn() *nats.Conn {
	s.natsMu.Lock()
	defer s.natsMu.Unlock()
	return s.nc
}

func (s *Service) jetStream() jetstream.JetStream {
	s.natsMu.Lock()
	defer s.natsMu.Unlock()
	return s.js
}

// Close releases the connections and what Build made: it drains NATS and
// waits for it, disconnects from MongoDB, then closes the parts. Run calls
// it on return; call it only for a service that never ran.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		if nc := s.natsConn(); nc != nil {
			drainNATS(nc, s.logger)
		}
		if s.mongo != nil {
			closeStore(s.mongo)
		}
		if s.parts.Close != nil {
			s.parts.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), disconnectTimeout)
		defer cancel()
		if err := s.stopTracing(ctx); err != nil {
			s.logger.Warn("tracing shutdown", slog.Any("error", err))
		}
	})
}
