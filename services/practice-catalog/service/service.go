// Package service declares the catalog on the service kit: its
// configuration, stream, collections, repositories, application, gRPC
// server, consumers and the search index. The binary, the dev launcher and
// the integration tests all build the service here. It lives outside
// internal/ so that deploy/devstack, another module, can import it.
package service

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/idempotency"
	"github.com/gemella/gemella/services/platform/servicekit"
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

// envPrefix starts the catalog's own variables.
const envPrefix = "GEMELLA_CATALOG_"

// Config is the catalog's configuration; LoadConfig reads it from
// GEMELLA_CATALOG_*, GEMELLA_NATS_* and GEMELLA_AUTH_PUBLIC_KEYS variables.
type Config struct {
	// Own are GEMELLA_CATALOG_GRPC_* and GEMELLA_CATALOG_MONGO_*.
	servicekit.Own `envPrefix:"GEMELLA_CATALOG_"`
	// Shared are GEMELLA_NATS_* and the public keys that verify session
	// tokens (GEMELLA_AUTH_PUBLIC_KEYS), required.
	servicekit.Shared `envPrefix:"GEMELLA_"`
	// EventObserver, when set, is called after the adoption consumer has
	// handled a twinning event, with the time it finished: for telemetry
	// and benchmarks, never from the environment. See
	// events.ConsumerConfig.Observe for what it may do.
	EventObserver func(env *eventsv1.Envelope, handledAt time.Time) `env:"-"`

	// Idempotency keeps the request ids of creates for
	// GEMELLA_CATALOG_IDEMPOTENCY_TTL (default 24h).
	Idempotency idempotency.Config `envPrefix:"GEMELLA_CATALOG_"`

	// Search and Matching configure "cerco / offro" (seek_offer.go).
	Search   SearchConfig    `envPrefix:"GEMELLA_CATALOG_SEARCH_"`
	Matching MatchingWeights `envPrefix:"GEMELLA_CATALOG_MATCH_"`
}

// DefaultConfig is what a single machine needs.
func DefaultConfig() Config {
	return servicekit.Defaults(Config{Own: servicekit.Own{GRPC: config.GRPCServer{Addr: "127.0.0.1:9091"}, Mongo: config.Mongo{Database: "gemella_catalog"}}})
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	return errors.Join(c.Own.Validate(envPrefix), c.Shared.Validate(true), c.Idempotency.Validate(envPrefix), validateSeekOffer(c.Search, c.Matching))
}

// LoadConfig reads the environment over the defaults.
func LoadConfig() (Config, error) { return servicekit.LoadConfig(DefaultConfig()) }

// Service is a catalog on the kit.
type Service = servicekit.Service

// New builds the catalog on MongoDB and NATS; Run connects and serves.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	return servicekit.New(ctx, declaration(cfg), &cfg, logger)
}

// NewInMemory builds the catalog on in-memory repositories, without
// MongoDB or NATS: for benchmarks of the service's own code. It accepts
// the tokens that keys verify; without keys every caller is anonymous, and
// may only read.
func NewInMemory(cfg config.GRPCServer, logger *slog.Logger, keys ...ed25519.PublicKey) (*Service, error) {
	return servicekit.NewInMemory(context.Background(), declaration(DefaultConfig()), cfg, logger, keys...)
}

// declaration is what the catalog is.
func declaration(cfg Config) servicekit.Declaration {
	return servicekit.Declaration{
		Name:      Name,
		EnvPrefix: envPrefix,
		Stream:    servicekit.Stream{Name: StreamName, Subjects: []string{"catalog.>"}},
		Collections: servicekit.Outboxes(
			adapters.OrganizationsCollection, adapters.PracticesCollection, adapters.NeedsCollection, adapters.OffersCollection),
		EnsureIndexes: adapters.EnsureIndexes,
		Build:         func(ctx context.Context, p servicekit.Ports) (servicekit.Parts, error) { return build(cfg, p) },
	}
}

// build wires the repositories, the search index and the one application
// that gRPC and the consumers call.
func build(cfg Config, p servicekit.Ports) (servicekit.Parts, error) {
	deps, keys := repositories(cfg, p)
	so, err := openSeekOffer(cfg, &deps, p)
	if err != nil {
		return servicekit.Parts{}, err
	}
	orgs, orgsWorker, err := openOrganizationSearch(cfg, deps, p)
	if err != nil {
		so.close()
		return servicekit.Parts{}, err
	}
	workers := so.workers()
	if orgsWorker != nil {
		workers = append(workers, *orgsWorker)
	}
	application := app.New(deps)
	return servicekit.Parts{
		Register: func(s *grpc.Server) {
			catalogv1.RegisterCatalogServiceServer(s, ports.NewGRPCServer(application).WithOrganizationSearch(orgs))
		},
		Consumers: []servicekit.Consumer{{
			Stream: TwinningStream, Durable: AdoptionConsumer, FilterSubjects: []string{"twinning.transfer.>"},
			Handler: ports.NewTwinningEvents(application, p.Logger).Handle, Observe: cfg.EventObserver,
		}, {
			Stream: TwinningStream, Durable: NeedOriginsConsumer, FilterSubjects: ports.NeedOriginSubjects,
			Handler: ports.NewNeedOrigins(application, p.Logger).Handle,
		}},
		Workers: append(workers, servicekit.Worker{Name: "idempotency-sweep", Run: func(ctx context.Context, rt servicekit.Runtime) error {
			return keys.Run(ctx, rt.Logger)
		}}),
		Checks: []servicekit.Check{{Name: "search-index", Check: so.ready}},
		Close:  func() { so.close(); _ = orgs.Close() },
	}, nil
}

// repositories are the catalog's four and the keys of its creates, on
// MongoDB or in memory.
func repositories(cfg Config, p servicekit.Ports) (app.Deps, *idempotency.Keys) {
	if p.InMemory() {
		keys := idempotency.New(idempotency.NewMemoryStore(), cfg.Idempotency)
		practices := adapters.NewPracticeMemoryRepository()
		return app.Deps{
			Organizations: adapters.NewOrganizationMemoryRepository(),
			Practices:     practices,
			Lineage:       practices,
			SeekOfferDeps: app.SeekOfferDeps{Needs: adapters.NewNeedMemoryRepository(), Offers: adapters.NewOfferMemoryRepository()},
			Keys:          keys,
		}, keys
	}
	repos := adapters.NewMongoRepositories(p.DB, p.StoreOptions())
	keys := idempotency.New(idempotency.NewMongoStore(p.DB, p.Locks), cfg.Idempotency)
	return app.Deps{
		Organizations: repos.Organizations,
		Practices:     repos.Practices,
		Lineage:       repos.Practices,
		SeekOfferDeps: app.SeekOfferDeps{Needs: repos.Needs, Offers: repos.Offers},
		Keys:          keys,
	}, keys
}
