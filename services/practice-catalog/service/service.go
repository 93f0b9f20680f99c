// Package service is the one place where the catalog is wired: storage,
// events, application and gRPC server. The binary, the dev launcher and the
// integration tests all build the service here. It lives outside internal/
// so that deploy/devstack, another module, can import it.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.mongodb.org/mongo-driver/v2/mongo"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
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

// Config is the catalog's configuration; LoadConfig reads it from
// GEMELLA_CATALOG_* and GEMELLA_NATS_* variables.
type Config struct {
	GRPC  config.GRPCServer `envPrefix:"GEMELLA_CATALOG_"`
	Mongo config.Mongo      `envPrefix:"GEMELLA_CATALOG_"`
	NATS  config.NATS       `envPrefix:"GEMELLA_"`
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
	p.Add(c.NATS.Validate("GEMELLA_"))
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
	mongo  *mongo.Client
	nats   *nats.Conn
	once   sync.Once
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
	// One set of document locks for the repositories and the relay: see doclock.
	locks := &doclock.Locks{}
	s.relay = outbox.NewRelay(outbox.RelayConfig{Logger: s.logger, Locks: locks}, events.NewJetStreamPublisher(js),
		db.Collection(adapters.OrganizationsCollection), db.Collection(adapters.PracticesCollection))
	application := app.New(app.Deps{
		Organizations: adapters.NewOrganizationMongoRepository(db, adapters.EncodeOrganizationEvent, s.relay.Notify, locks),
		Practices:     adapters.NewPracticeMongoRepository(db, adapters.EncodePracticeEvent, s.relay.Notify, locks),
	})
	if s.server, err = newServer(cfg.GRPC, application, s.logger); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NewInMemory builds the catalog on in-memory repositories, without
// MongoDB or NATS: for benchmarks of the service's own code.
func NewInMemory(cfg config.GRPCServer, logger *slog.Logger) (*Service, error) {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Service{logger: logger.With("service", Name)}
	application := app.New(app.Deps{
		Organizations: adapters.NewOrganizationMemoryRepository(),
		Practices:     adapters.NewPracticeMemoryRepository(),
	})
	var err error
	if s.server, err = newServer(cfg, application, s.logger); err != nil {
		return nil, err
	}
	return s, nil
}

func newServer(cfg config.GRPCServer, application app.Application, logger *slog.Logger) (*grpcx.Server, error) {
	srv, err := grpcx.NewServer(grpcx.ServerOptions{Name: Name, Config: cfg, Logger: logger})
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
		if s.nats != nil {
			_ = s.nats.Drain()
		}
		if s.mongo != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.mongo.Disconnect(ctx)
		}
	})
}
