// Package service is the one place where the twinning service is wired:
// storage, events, the practice catalogue client, application and gRPC
// server. The binary, the dev launcher and the integration tests all build
// the service here. It lives outside internal/ so that deploy/devstack,
// another module, can import it.
package service

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/twinning/internal/adapters"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/ports"
)

// Name is the service's name in logs, metrics and NATS connections.
const Name = "twinning"

// StreamName is the JetStream stream of the twinning events.
const StreamName = "TWINNING"

// Config is the twinning service's configuration; LoadConfig reads it from
// GEMELLA_TWINNING_*, GEMELLA_NATS_*, GEMELLA_AUTH_PUBLIC_KEYS and
// GEMELLA_CATALOG_ADDR.
type Config struct {
	GRPC  config.GRPCServer `envPrefix:"GEMELLA_TWINNING_"`
	Mongo config.Mongo      `envPrefix:"GEMELLA_TWINNING_"`
	NATS  config.NATS       `envPrefix:"GEMELLA_"`
	// Auth lists the public keys that verify session tokens
	// (GEMELLA_AUTH_PUBLIC_KEYS); required.
	Auth auth.VerifierConfig `envPrefix:"GEMELLA_"`
	// CatalogAddr is the practice catalogue's gRPC address, asked to verify
	// transfers and parties.
	CatalogAddr string `env:"GEMELLA_CATALOG_ADDR" envDefault:"127.0.0.1:9091"`
	// CatalogTimeout bounds each call to the catalogue.
	CatalogTimeout time.Duration `env:"GEMELLA_TWINNING_CATALOG_TIMEOUT" envDefault:"3s"`
}

// DefaultConfig is what a single machine needs.
func DefaultConfig() Config {
	cfg := Config{
		GRPC:  config.GRPCServer{Addr: "127.0.0.1:9092"},
		Mongo: config.Mongo{Database: "gemella_twinning"},
	}
	config.Defaults(&cfg)
	return cfg
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var p config.Problems
	p.Add(c.GRPC.Validate("GEMELLA_TWINNING_"))
	p.Add(c.Mongo.Validate("GEMELLA_TWINNING_"))
	p.Add(c.NATS.Validate("GEMELLA_"))
	p.Add(c.Auth.Validate("GEMELLA_", true))
	p.HostPort("GEMELLA_CATALOG_ADDR", c.CatalogAddr)
	p.Positive("GEMELLA_TWINNING_CATALOG_TIMEOUT", c.CatalogTimeout)
	return p.Err()
}

// LoadConfig reads the environment over the defaults.
func LoadConfig() (Config, error) {
	cfg := DefaultConfig()
	err := config.Load(&cfg)
	return cfg, err
}

// Service is a running twinning service.
type Service struct {
	logger  *slog.Logger
	server  *grpcx.Server
	relay   *outbox.Relay
	mongo   *mongo.Client
	nats    *nats.Conn
	catalog *grpc.ClientConn
	once    sync.Once
}

// New connects to MongoDB and NATS, prepares indexes and the stream,
// connects (lazily) to the catalogue, and builds the gRPC server. Run
// serves it.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s configuration: %w", Name, err)
	}
	s := &Service{logger: logger.With("service", Name)}
	client, db, err := mongox.Connect(ctx, cfg.Mongo, Name)
	if err != nil {
		return nil, err
	}
	s.mongo = client
	if err := adapters.EnsureIndexes(ctx, db); err != nil {
		s.Close()
		return nil, err
	}
	nc, js, err := events.Connect(ctx, cfg.NATS.URL, Name, s.logger)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.nats = nc
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: StreamName, Subjects: []string{"twinning.>"}, Replicas: cfg.NATS.StreamReplicas}); err != nil {
		s.Close()
		return nil, err
	}
	if s.catalog, err = dialCatalog(cfg.CatalogAddr, cfg.CatalogTimeout); err != nil {
		s.Close()
		return nil, err
	}
	// One set of document locks for the repository and the relay: see doclock.
	locks := &doclock.Locks{}
	s.relay = outbox.NewRelay(outbox.RelayConfig{Logger: s.logger, Locks: locks, LegacySweep: true}, events.NewJetStreamPublisher(js),
		db.Collection(adapters.TwinningsCollection))
	application := app.New(app.Deps{
		Twinnings: adapters.NewTwinningMongoRepository(db, adapters.EncodeTwinningEvent, s.relay.Notify, locks),
		Catalog:   adapters.NewCatalogClient(catalogv1.NewCatalogServiceClient(s.catalog), cfg.CatalogTimeout),
	})
	verifier, err := cfg.Auth.Verifier()
	if err != nil {
		s.Close()
		return nil, err
	}
	if s.server, err = newServer(cfg.GRPC, application, verifier, s.logger); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NewInMemory builds the twinning service on the in-memory repository,
// without MongoDB or NATS, asking the catalogue at catalogAddr: for
// benchmarks of the service's own code. It accepts the tokens that keys
// verify; without keys every caller is anonymous, and may only read.
func NewInMemory(cfg config.GRPCServer, catalogAddr string, logger *slog.Logger, keys ...ed25519.PublicKey) (*Service, error) {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Service{logger: logger.With("service", Name)}
	const timeout = 3 * time.Second
	var err error
	if s.catalog, err = dialCatalog(catalogAddr, timeout); err != nil {
		return nil, err
	}
	application := app.New(app.Deps{
		Twinnings: adapters.NewTwinningMemoryRepository(),
		Catalog:   adapters.NewCatalogClient(catalogv1.NewCatalogServiceClient(s.catalog), timeout),
	})
	verifier, err := verifierOf(keys)
	if err != nil {
		s.Close()
		return nil, err
	}
	if s.server, err = newServer(cfg, application, verifier, s.logger); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
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

// dialCatalog connects to the catalogue lazily. grpcx.Dial passes the
// caller's token on, so the catalogue shows the twinning service what it
// would show the member (a draft practice only to its editors). Reconnection attempts stay
// at most a second apart, rather than gRPC's default two minutes: a
// catalogue that comes back is used within a second, not after a backoff
// longer than the callers' deadlines.
func dialCatalog(addr string, timeout time.Duration) (*grpc.ClientConn, error) {
	return grpcx.Dial(addr, timeout, grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: timeout,
	}))
}

// newServer verifies every call's token (none is anonymous, a bad one is
// refused) and puts the caller in the context; the app decides.
func newServer(cfg config.GRPCServer, application app.Application, verifier *auth.Verifier, logger *slog.Logger) (*grpcx.Server, error) {
	srv, err := grpcx.NewServer(grpcx.ServerOptions{
		Name: Name, Config: cfg, Logger: logger,
		Unary:  []grpc.UnaryServerInterceptor{auth.UnaryServerInterceptor(verifier)},
		Stream: []grpc.StreamServerInterceptor{auth.StreamServerInterceptor(verifier)},
	})
	if err != nil {
		return nil, err
	}
	twinningv1.RegisterTwinningServiceServer(srv.GRPC(), ports.NewGRPCServer(application))
	return srv, nil
}

// Listen binds the gRPC address, so that Addr is known before Run.
func (s *Service) Listen() error { return s.server.Listen() }

// Addr is the gRPC address.
func (s *Service) Addr() string { return s.server.Addr() }

// Run serves gRPC and relays events until ctx is done, then releases
// every connection.
func (s *Service) Run(ctx context.Context) error {
	defer s.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var relayErr error
	if s.relay != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.relay.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				relayErr = err
				cancel()
			}
		}()
	}
	err := s.server.Serve(ctx)
	cancel()
	wg.Wait()
	return errors.Join(err, relayErr)
}

// Close releases the connections; Run calls it on return.
func (s *Service) Close() {
	s.once.Do(func() {
		if s.catalog != nil {
			_ = s.catalog.Close()
		}
		if s.nats != nil {
			// The relay has stopped, so nothing is in flight: close, not
			// Drain, which would go on in a goroutine nobody waits for.
			s.nats.Close()
		}
		if s.mongo != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.mongo.Disconnect(ctx)
		}
	})
}
