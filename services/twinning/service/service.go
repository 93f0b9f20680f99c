// Package service declares the twinning service on the service kit: its
// configuration, stream, collection, repository, the practice catalogue
// client, application and gRPC server. The binary, the dev launcher and
// the integration tests all build the service here. It lives outside
// internal/ so that deploy/devstack, another module, can import it.
package service

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/idempotency"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/platform/search/searchkit"
	"github.com/gemella/gemella/services/platform/servicekit"
	"github.com/gemella/gemella/services/twinning/internal/adapters"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/report"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
	"github.com/gemella/gemella/services/twinning/internal/ports"
	"github.com/gemella/gemella/services/twinning/internal/searchindex"
)

// Name is the service's name in logs, metrics and NATS connections.
const Name = "twinning"

// StreamName is the JetStream stream of the twinning events.
const StreamName = "TWINNING"

// envPrefix starts the twinning service's own variables.
const envPrefix = "GEMELLA_TWINNING_"

// Config is the twinning service's configuration; LoadConfig reads it from
// GEMELLA_TWINNING_* (GEMELLA_TWINNING_IDEMPOTENCY_TTL among them),
// GEMELLA_NATS_*, GEMELLA_AUTH_PUBLIC_KEYS, GEMELLA_CATALOG_ADDR and
// GEMELLA_DISCUSSION_ADDR.
type Config struct {
	// Own are GEMELLA_TWINNING_GRPC_* and GEMELLA_TWINNING_MONGO_*.
	servicekit.Own `envPrefix:"GEMELLA_TWINNING_"`
	// Shared are NATS's address and the public keys that verify session
	// tokens, which every service reads alike; the keys are required.
	servicekit.Shared `envPrefix:"GEMELLA_"`
	// CatalogAddr is the practice catalogue's gRPC address, asked to verify
	// transfers and parties.
	CatalogAddr string `env:"GEMELLA_CATALOG_ADDR" envDefault:"127.0.0.1:9091"`
	// CatalogTimeout bounds each call to the catalogue.
	CatalogTimeout time.Duration `env:"GEMELLA_TWINNING_CATALOG_TIMEOUT" envDefault:"3s"`
	// DiscussionAddr is the discussion service's gRPC address, asked for
	// the figures of a twinning's discussion when a report is drafted.
	DiscussionAddr string `env:"GEMELLA_DISCUSSION_ADDR" envDefault:"127.0.0.1:9093"`
	// DiscussionTimeout bounds each call to the discussion service.
	DiscussionTimeout time.Duration `env:"GEMELLA_TWINNING_DISCUSSION_TIMEOUT" envDefault:"3s"`
	// Idempotency keeps the request ids of twinning creates, per caller,
	// for GEMELLA_TWINNING_IDEMPOTENCY_TTL (default 24h).
	Idempotency idempotency.Config `envPrefix:"GEMELLA_TWINNING_"`
	// Search is the full-text index of the public twinnings
	// (GEMELLA_TWINNING_SEARCH_*).
	Search psearch.Config `envPrefix:"GEMELLA_TWINNING_SEARCH_"`
}

// DefaultConfig is what a single machine needs.
func DefaultConfig() Config {
	own := servicekit.Own{GRPC: config.GRPCServer{Addr: "127.0.0.1:9092"}, Mongo: config.Mongo{Database: "gemella_twinning"}}
	return servicekit.Defaults(Config{Own: own})
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var p config.Problems
	p.Add(c.Own.Validate(envPrefix))
	p.Add(c.Shared.Validate(true))
	p.Target("GEMELLA_CATALOG_ADDR", c.CatalogAddr)
	p.Positive("GEMELLA_TWINNING_CATALOG_TIMEOUT", c.CatalogTimeout)
	p.Target("GEMELLA_DISCUSSION_ADDR", c.DiscussionAddr)
	p.Positive("GEMELLA_TWINNING_DISCUSSION_TIMEOUT", c.DiscussionTimeout)
	p.Add(c.Idempotency.Validate(envPrefix))
	p.Add(c.Search.Validate(envPrefix + "SEARCH_"))
	return p.Err()
}

// LoadConfig reads the environment over the defaults.
func LoadConfig() (Config, error) { return servicekit.LoadConfig(DefaultConfig()) }

// Service is a twinning service on the kit.
type Service = servicekit.Service

// New builds the twinning service on MongoDB and NATS, with a (lazy)
// connection to the catalogue; Run connects and serves.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	return servicekit.New(ctx, declaration(cfg), &cfg, logger)
}

// NewInMemory builds the twinning service on the in-memory repository,
// without MongoDB or NATS, asking the catalogue at catalogAddr: for
// benchmarks of the service's own code. It accepts the tokens that keys
// verify; without keys every caller is anonymous, and may only read. It
// asks no discussion service: reports it drafts say their figures are
// missing.
func NewInMemory(cfg config.GRPCServer, catalogAddr string, logger *slog.Logger, keys ...ed25519.PublicKey) (*Service, error) {
	c := DefaultConfig()
	c.CatalogAddr = catalogAddr
	c.DiscussionAddr = ""
	return servicekit.NewInMemory(context.Background(), declaration(c), cfg, logger, keys...)
}

// declaration is what the twinning service is.
func declaration(cfg Config) servicekit.Declaration {
	return servicekit.Declaration{
		Name:          Name,
		EnvPrefix:     envPrefix,
		Stream:        servicekit.Stream{Name: StreamName, Subjects: []string{"twinning.>"}},
		Collections:   servicekit.Outboxes(append(slices.Clone(adapters.OutboxCollections), adapters.ReportsCollection)...),
		EnsureIndexes: ensureIndexes,
		Build:         func(_ context.Context, p servicekit.Ports) (servicekit.Parts, error) { return build(cfg, p) },
	}
}

// build wires the repository and the catalogue client into the
// application that gRPC calls.
func build(cfg Config, p servicekit.Ports) (servicekit.Parts, error) {
	catalog, err := dialCatalog(cfg.CatalogAddr, cfg.CatalogTimeout, cfg.GRPCClient.TLS)
	if err != nil {
		return servicekit.Parts{}, err
	}
	// No discussion address (the in-memory service): the drafts say the
	// discussion's figures are missing.
	var discussion *grpc.ClientConn
	var figures app.Discussion
	if cfg.DiscussionAddr != "" {
		if discussion, err = grpcx.Dial(cfg.DiscussionAddr, cfg.DiscussionTimeout, grpcx.WithClientTLS(cfg.GRPCClient.TLS)); err != nil {
			_ = catalog.Close()
			return servicekit.Parts{}, err
		}
		figures = adapters.NewDiscussionClient(discussionv1.NewDiscussionServiceClient(discussion), cfg.DiscussionTimeout)
	}
	var twinnings twinning.Repository = adapters.NewTwinningMemoryRepository()
	var reports report.Repository = adapters.NewReportMemoryRepository()
	keys := idempotency.New(idempotency.NewMemoryStore(), cfg.Idempotency)
	if !p.InMemory() {
		opts := p.StoreOptions()
		twinnings = adapters.NewTwinningMongoRepository(p.DB, opts).WithLogger(p.Logger)
		reports = adapters.NewReportMongoRepository(p.DB, opts)
		keys = idempotency.New(idempotency.NewMongoStore(p.DB, p.Locks), cfg.Idempotency)
	}
	catalogClient := adapters.NewCatalogClient(catalogv1.NewCatalogServiceClient(catalog), cfg.CatalogTimeout)
	deps := app.Deps{
		Twinnings: twinnings,
		Catalog:   catalogClient,
		Keys:      keys,
	}
	application := app.New(deps)
	reporting := app.NewReports(deps, reports, figures)
	workers := []servicekit.Worker{{Name: "idempotency-sweep", Run: func(ctx context.Context, rt servicekit.Runtime) error {
		return keys.Run(ctx, rt.Logger)
	}}}
	// The index asks the catalogue for the themes and party names of a
	// twinning on each of its events; a minute's answers serve a burst.
	src := searchindex.Source{Twinnings: twinnings, Catalog: searchindex.RecentCatalog(catalogClient, time.Minute), Today: application.Today, Logger: p.Logger}
	// The index of public twinnings, kept current from the twinning
	// stream.
	idx, worker, err := searchkit.Open(searchkit.Index{
		Name: "search-index", Dir: cfg.Search.Dir, Schema: searchindex.Schema,
		Stream: StreamName, Subjects: searchindex.Subjects, Changes: src.Changes, All: src.All,
		ReconcileEvery: cfg.Search.ReconcileInterval,
	}, p)
	if err != nil {
		_ = catalog.Close()
		if discussion != nil {
			_ = discussion.Close()
		}
		return servicekit.Parts{}, err
	}
	if worker != nil {
		workers = append(workers, *worker)
	}
	return servicekit.Parts{
		Register: func(s *grpc.Server) {
			twinningv1.RegisterTwinningServiceServer(s, ports.NewGRPCServer(application).WithSearch(idx))
			twinningv1.RegisterReportServiceServer(s, ports.NewReportServer(reporting))
		},
		Workers: workers,
		Close: func() {
			_ = idx.Close()
			_ = catalog.Close()
			if discussion != nil {
				_ = discussion.Close()
			}
		},
	}, nil
}

// ensureIndexes creates the indexes of the twinnings, their logs and
// their reports.
func ensureIndexes(ctx context.Context, db *mongo.Database) error {
	if err := adapters.EnsureIndexes(ctx, db); err != nil {
		return err
	}
	return adapters.EnsureReportIndexes(ctx, db)
}

// dialCatalog connects to the catalogue lazily (over TLS when configured).
// grpcx.Dial passes the caller's token on, so the catalogue shows the
// twinning service what it would show the member (a draft practice only to
// its editors), balances over the catalogue's replicas and reconnects at
// most a second apart.
func dialCatalog(addr string, timeout time.Duration, tls config.ClientTLS) (*grpc.ClientConn, error) {
	return grpcx.Dial(addr, timeout, grpcx.WithClientTLS(tls))
}
