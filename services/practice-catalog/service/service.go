// Package service is the one place where the catalog is wired: storage,
// events, application and gRPC server. The binary, the dev launcher and the
// integration tests all build the service here. It lives outside internal/
// so that deploy/devstack, another module, can import it.
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

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/idempotency"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/ports"
)

// Name is the service's name in logs, metrics and NATS connections.
const Name = "practice-catalog"

// StreamName is the JetStream stream of the catalog's events.
const StreamName = "CATALOG"

// The catalog keeps adoption figures from the twinning service's transfer
// events, read by a durable consumer of the twinning stream. The stream is
// the twinning service's: until it exists the consumer waits for it.
const (
	TwinningStream   = "TWINNING"
	AdoptionConsumer = "catalog-adoption"
)

// Config is the catalog's configuration; LoadConfig reads it from
// GEMELLA_CATALOG_*, GEMELLA_NATS_* and GEMELLA_AUTH_PUBLIC_KEYS variables.
type Config struct {
	GRPC  config.GRPCServer `envPrefix:"GEMELLA_CATALOG_"`
	Mongo config.Mongo      `envPrefix:"GEMELLA_CATALOG_"`
	NATS  config.NATS       `envPrefix:"GEMELLA_"`
	// Auth lists the public keys that verify session tokens
	// (GEMELLA_AUTH_PUBLIC_KEYS); required.
	Auth auth.VerifierConfig `envPrefix:"GEMELLA_"`
	// EventObserver, when set, is called after the adoption consumer has
	// handled a twinning event, with the time it finished: for telemetry
	// and benchmarks, never from the environment. See
	// events.ConsumerConfig.Observe for what it may do.
	EventObserver func(env *eventsv1.Envelope, handledAt time.Time) `env:"-"`

	// Idempotency keeps the request ids of creates
	// (GEMELLA_CATALOG_IDEMPOTENCY_TTL, default 24h).
	Idempotency idempotency.Config `envPrefix:"GEMELLA_CATALOG_"`

	// Search and Matching configure "cerco / offro" (seek_offer.go).
	Search   SearchConfig    `envPrefix:"GEMELLA_CATALOG_SEARCH_"`
	Matching MatchingWeights `envPrefix:"GEMELLA_CATALOG_MATCH_"`
}

// DefaultConfig is what a single machine needs.
func DefaultConfig() Config {
	cfg := Config{
		GRPC:  config.GRPCServer{Addr: "127.0.0.1:9091"},
		Mongo: config.Mongo{Database: "gemella_catalog"},
	}
	config.Defaults(&cfg)
	return cfg
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var p config.Problems
	p.Add(c.GRPC.Validate("GEMELLA_CATALOG_"))
	p.Add(c.Mongo.Validate("GEMELLA_CATALOG_"))
	p.Add(c.Idempotency.Validate("GEMELLA_CATALOG_"))
	p.Add(c.NATS.Validate("GEMELLA_"))
	p.Add(c.Auth.Validate("GEMELLA_", true))
	p.Add(validateSeekOffer(c.Search, c.Matching))
	return p.Err()
}

// LoadConfig reads the environment over the defaults.
func LoadConfig() (Config, error) {
	cfg := DefaultConfig()
	err := config.Load(&cfg)
	return cfg, err
}

// Service is a running catalog.
type Service struct {
	logger *slog.Logger
	server *grpcx.Server
	relay  *outbox.Relay
	// consume reads twinning events until its context ends; nil in memory.
	consume func(ctx context.Context) error
	mongo   *mongo.Client
	nats    *nats.Conn
	once    sync.Once
	// keys are the request ids of creates; nil in memory.
	keys *idempotency.Keys

	// seekOffer runs the search index and the consumer of twinnings
	// started from needs (seek_offer.go).
	seekOffer *seekOffer
}

// New connects to MongoDB and NATS, prepares indexes and the stream, and
// builds the gRPC server. Run serves it.
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
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: StreamName, Subjects: []string{"catalog.>"}, Replicas: cfg.NATS.StreamReplicas}); err != nil {
		s.Close()
		return nil, err
	}
	// One set of document locks for the stores and the relay, on the
	// embedded store only (GEMELLA_CATALOG_MONGO_DOC_LOCKS): see doclock.
	locks := mongox.DocLocks(cfg.Mongo)
	outboxes := make([]*mongo.Collection, 0, len(adapters.OutboxCollections))
	for _, name := range adapters.OutboxCollections {
		outboxes = append(outboxes, db.Collection(name))
	}
	s.relay = outbox.NewRelay(outbox.RelayConfig{Logger: s.logger, Locks: locks}, events.NewJetStreamPublisher(js), outboxes...)
	repos := adapters.NewMongoRepositories(db, mongox.StoreOptions{Notify: s.relay.Notify, Locks: locks})
	keyStore := idempotency.NewMongoStore(db, locks)
	if err := keyStore.EnsureIndexes(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.keys = idempotency.New(keyStore, cfg.Idempotency)
	deps := app.Deps{Organizations: repos.Organizations, Practices: repos.Practices, Keys: s.keys}
	if s.seekOffer, deps.SeekOfferDeps, err = newSeekOffer(ctx, cfg.Search, cfg.Matching, js, repos, deps, s.logger); err != nil {
		s.Close()
		return nil, err
	}
	application := app.New(deps)
	if _, err := events.EnsureDeadLetterStream(ctx, js); err != nil {
		s.Close()
		return nil, err
	}
	twinningEvents := ports.NewTwinningEvents(app.NewApplyTransferEventHandler(deps), s.logger)
	s.consume = func(ctx context.Context) error {
		return events.Consume(ctx, js, events.ConsumerConfig{
			Stream: TwinningStream, Durable: AdoptionConsumer, FilterSubjects: []string{"twinning.transfer.>"}, Logger: s.logger,
			Observe: cfg.EventObserver,
		}, twinningEvents.Handle)
	}
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

// NewInMemory builds the catalog on in-memory repositories, without
// MongoDB or NATS: for benchmarks of the service's own code. It accepts
// the tokens that keys verify; without keys every caller is anonymous, and
// may only read.
func NewInMemory(cfg config.GRPCServer, logger *slog.Logger, keys ...ed25519.PublicKey) (*Service, error) {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Service{logger: logger.With("service", Name)}
	deps := app.Deps{
		Organizations: adapters.NewOrganizationMemoryRepository(),
		Practices:     adapters.NewPracticeMemoryRepository(),
	}
	var err error
	if s.seekOffer, deps, err = newInMemorySeekOffer(deps); err != nil {
		return nil, err
	}
	application := app.New(deps)
	verifier, err := verifierOf(keys)
	if err != nil {
		return nil, err
	}
	if s.server, err = newServer(cfg, application, verifier, s.logger); err != nil {
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
	catalogv1.RegisterCatalogServiceServer(srv.GRPC(), ports.NewGRPCServer(application))
	return srv, nil
}

// Listen binds the gRPC address, so that Addr is known before Run.
func (s *Service) Listen() error { return s.server.Listen() }

// Addr is the gRPC address.
func (s *Service) Addr() string { return s.server.Addr() }

// Run serves gRPC, relays events and consumes twinning events until ctx
// is done, then releases every connection.
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
	var consumeErr error
	if s.consume != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Consume outlives NATS outages and a missing stream; it fails
			// only on a configuration error.
			if err := s.consume(ctx); err != nil {
				consumeErr = err
				cancel()
			}
		}()
	}
	if s.keys != nil {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.keys.Run(ctx, s.logger) }()
	}
	var seekOfferErr error
	if s.seekOffer != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.seekOffer.run(ctx); err != nil {
				seekOfferErr = err
				cancel()
			}
		}()
	}
	err := s.server.Serve(ctx)
	cancel()
	wg.Wait()
	return errors.Join(err, relayErr, consumeErr, seekOfferErr)
}

// Close releases the connections; Run calls it on return.
func (s *Service) Close() {
	s.once.Do(func() {
		if s.seekOffer != nil {
			s.seekOffer.close()
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
