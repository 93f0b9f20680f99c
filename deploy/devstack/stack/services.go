package stack

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	gateway "github.com/gemella/gemella/gateway/server"
	discussion "github.com/gemella/gemella/services/discussion/service"
	notification "github.com/gemella/gemella/services/notification/service"
	"github.com/gemella/gemella/services/platform/config"
	catalog "github.com/gemella/gemella/services/practice-catalog/service"
	twinning "github.com/gemella/gemella/services/twinning/service"
)

// Settings that the services' DefaultConfig leaves to their environment
// defaults; the stack fills them since it reads no environment for them.
const (
	grpcDefaultDeadline = 10 * time.Second
	mongoTimeout        = 10 * time.Second
	streamReplicas      = 1
)

// infrastructure is what every service connects to.
type infrastructure struct {
	natsURL  string
	mongoURI string
	// addrs are the bound addresses of the services started so far, by name:
	// a service may call one started before it.
	addrs map[string]string
	// signingKeyFile holds the Ed25519 key that signs session tokens,
	// created in the data folder on the first start and kept after.
	signingKeyFile string
	// publicKeys verify the session tokens (GEMELLA_AUTH_PUBLIC_KEYS):
	// the public half of the signing key.
	publicKeys string
	// dataDir is the stack's data folder; services keep derived data there.
	dataDir string
	// smtpURL is the devstack mailbox, where the notification service
	// sends e-mail; unsubscribeKey signs the e-mails' unsubscribe links.
	smtpURL, unsubscribeKey, publicURL string
	mailDelay                          time.Duration
}

// grpcService is the shape every service's `service` package has: build
// with New, bind with Listen, serve with Run until its context ends (Run
// releases the connections), or Close if it never ran.
type grpcService interface {
	Listen() error
	Addr() string
	Run(ctx context.Context) error
	Close()
}

// serviceSpec is one gRPC service of the stack.
type serviceSpec struct {
	// name is the component name in logs and errors.
	name string
	// addr is the listen address taken from the options.
	addr func(Options) string
	// build makes the service on the shared infrastructure.
	build func(ctx context.Context, infra infrastructure, addr string, logger *slog.Logger) (grpcService, error)
	// toGateway tells the gateway where the service listens.
	toGateway func(cfg *gateway.Config, addr string)
}

// services lists the gRPC services in start order; they stop in reverse.
// Twinning (:9092) and discussion (:9093) are one entry each here, with an
// address field in Options and one in URLs. Discussion starts before
// twinning, which asks it for a report's figures and must know its address.
func services() []serviceSpec {
	return []serviceSpec{catalogSpec(), discussionSpec(), twinningSpec(), notificationSpec()}
}

// embeddedDocLocks turns the document locks on, in process mode: the
// embedded FerretDB applies updates non-atomically (see platform/doclock),
// and every writer of its databases is a service of this process, each
// running once, so a semaphore per document suffices and no lease is
// written. (Another process writing these databases while the stack runs
// would need lease mode; the topology test, several processes on one
// FerretDB, sets it.)
const embeddedDocLocks = config.DocLocksProcess

// catalogDatabase is the catalog's own MongoDB database.
const catalogDatabase = "gemella_catalog"

func catalogSpec() serviceSpec {
	return serviceSpec{
		name: "catalog",
		addr: func(o Options) string { return o.CatalogAddr },
		build: func(ctx context.Context, infra infrastructure, addr string, logger *slog.Logger) (grpcService, error) {
			cfg := catalog.DefaultConfig()
			cfg.GRPC.Addr = addr
			cfg.GRPC.DefaultDeadline = orDefault(cfg.GRPC.DefaultDeadline, grpcDefaultDeadline)
			cfg.Mongo.URI = infra.mongoURI
			cfg.Mongo.DocLocks = embeddedDocLocks
			cfg.Mongo.Database = catalogDatabase
			// The search index is derived data: kept across restarts to start
			// fast, rebuilt from the database when missing or behind.
			cfg.Search.Dir = filepath.Join(infra.dataDir, "search")
			cfg.Mongo.Timeout = orDefault(cfg.Mongo.Timeout, mongoTimeout)
			cfg.NATS.URL = infra.natsURL
			cfg.NATS.StreamReplicas = streamReplicas
			cfg.Auth.PublicKeys = infra.publicKeys
			svc, err := catalog.New(ctx, cfg, logger)
			if err != nil {
				return nil, err
			}
			return svc, nil
		},
		toGateway: func(cfg *gateway.Config, addr string) { cfg.CatalogAddr = addr },
	}
}

// twinningDatabase is the twinning service's own MongoDB database.
const twinningDatabase = "gemella_twinning"

func twinningSpec() serviceSpec {
	return serviceSpec{
		name: "twinning",
		addr: func(o Options) string { return o.TwinningAddr },
		build: func(ctx context.Context, infra infrastructure, addr string, logger *slog.Logger) (grpcService, error) {
			cfg := twinning.DefaultConfig()
			cfg.GRPC.Addr = addr
			cfg.Mongo.URI = infra.mongoURI
			cfg.Mongo.DocLocks = embeddedDocLocks
			cfg.Mongo.Database = twinningDatabase
			cfg.Search.Dir = filepath.Join(infra.dataDir, "search-twinning")
			cfg.NATS.URL = infra.natsURL
			cfg.NATS.StreamReplicas = streamReplicas
			cfg.CatalogAddr = dialable(infra.addrs["catalog"])
			cfg.DiscussionAddr = dialable(infra.addrs["discussion"])
			cfg.Auth.PublicKeys = infra.publicKeys
			return twinning.New(ctx, cfg, logger)
		},
		toGateway: func(cfg *gateway.Config, addr string) { cfg.TwinningAddr = addr },
	}
}

// discussionDatabase is the discussion service's own MongoDB database.
const discussionDatabase = "gemella_discussion"

func discussionSpec() serviceSpec {
	return serviceSpec{
		name: "discussion",
		addr: func(o Options) string { return o.DiscussionAddr },
		build: func(ctx context.Context, infra infrastructure, addr string, logger *slog.Logger) (grpcService, error) {
			cfg := discussion.DefaultConfig()
			cfg.GRPC.Addr = addr
			cfg.Mongo.URI = infra.mongoURI
			cfg.Mongo.DocLocks = embeddedDocLocks
			cfg.Mongo.Database = discussionDatabase
			cfg.Search.Dir = filepath.Join(infra.dataDir, "search-discussion")
			cfg.NATS.URL = infra.natsURL
			cfg.NATS.StreamReplicas = streamReplicas
			cfg.Auth.KeyFile = infra.signingKeyFile
			// Account links (sign-up verification, password reset) go to
			// the devstack's mailbox too.
			cfg.SMTP.URL = infra.smtpURL
			cfg.Accounts.PublicURL = infra.publicURL
			return discussion.New(ctx, cfg, logger)
		},
		toGateway: func(cfg *gateway.Config, addr string) { cfg.DiscussionAddr = addr },
	}
}

// notificationDatabase is the notification service's own MongoDB database.
const notificationDatabase = "gemella_notification"

func notificationSpec() serviceSpec {
	return serviceSpec{
		name: "notification",
		addr: func(o Options) string { return o.NotificationAddr },
		build: func(ctx context.Context, infra infrastructure, addr string, logger *slog.Logger) (grpcService, error) {
			cfg := notification.DefaultConfig()
			cfg.GRPC.Addr = addr
			cfg.Mongo.URI = infra.mongoURI
			cfg.Mongo.DocLocks = embeddedDocLocks
			cfg.Mongo.Database = notificationDatabase
			cfg.Mongo.Timeout = orDefault(cfg.Mongo.Timeout, mongoTimeout)
			cfg.NATS.URL = infra.natsURL
			cfg.NATS.StreamReplicas = streamReplicas
			cfg.Auth.PublicKeys = infra.publicKeys
			cfg.CatalogAddr = dialable(infra.addrs["catalog"])
			cfg.TwinningAddr = dialable(infra.addrs["twinning"])
			cfg.DiscussionAddr = dialable(infra.addrs["discussion"])
			cfg.SMTP.URL = infra.smtpURL
			cfg.Mail.UnsubscribeKey = infra.unsubscribeKey
			cfg.Mail.PublicURL = infra.publicURL
			cfg.Mail.Delay = infra.mailDelay
			return notification.New(ctx, cfg, logger)
		},
		toGateway: func(cfg *gateway.Config, addr string) { cfg.NotificationAddr = addr },
	}
}

// healthProbe asks the standard gRPC health service about the whole server:
// a service on the kit is SERVING once its store and NATS are set up and
// its own checks (the catalog's search index) pass.
func healthProbe(ctx context.Context, conn *grpc.ClientConn) error {
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %s", resp.GetStatus())
	}
	return nil
}

func orDefault(d, fallback time.Duration) time.Duration {
	if d <= 0 {
		return fallback
	}
	return d
}
