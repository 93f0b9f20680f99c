// Package service declares the notification service on the service kit:
// its configuration, collections, the clients of the other three
// services, its application, gRPC server, its consumers of the CATALOG,
// TWINNING and DISCUSSION streams, and the mailer. The binary, the dev
// launcher and the integration tests all build the service here. It lives
// outside internal/ so that deploy/devstack, another module, can import
// it.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
	"github.com/gemella/gemella/services/notification/internal/app"
	"github.com/gemella/gemella/services/notification/internal/mail"
	"github.com/gemella/gemella/services/notification/internal/ports"
	"github.com/gemella/gemella/services/notification/internal/store"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/servicekit"
)

// Name is the service's name in logs, metrics and NATS connections.
const Name = "notification"

// envPrefix starts the service's own variables.
const envPrefix = "GEMELLA_NOTIFICATION_"

// The streams the service consumes, each with its durable consumer: one
// consumer per stream, so a slow fan-out on one does not hold the others.
const (
	CatalogStream      = "CATALOG"
	TwinningStream     = "TWINNING"
	DiscussionStream   = "DISCUSSION"
	CatalogConsumer    = "notification-on-catalog"
	TwinningConsumer   = "notification-on-twinning"
	DiscussionConsumer = "notification-on-discussion"
)

// Config is the notification service's configuration; LoadConfig reads it
// from GEMELLA_NOTIFICATION_*, GEMELLA_SMTP_*, GEMELLA_MAIL_FROM*,
// GEMELLA_NATS_*, GEMELLA_AUTH_PUBLIC_KEYS and the other services'
// addresses.
type Config struct {
	// Own are GEMELLA_NOTIFICATION_GRPC_* and GEMELLA_NOTIFICATION_MONGO_*.
	servicekit.Own `envPrefix:"GEMELLA_NOTIFICATION_"`
	// Shared are NATS's address and the public keys that verify session
	// tokens; the keys are required.
	servicekit.Shared `envPrefix:"GEMELLA_"`
	// The other services, asked for what events do not carry (without a
	// token: what anyone may see) and for a member's own address (with
	// theirs).
	CatalogAddr    string `env:"GEMELLA_CATALOG_ADDR" envDefault:"127.0.0.1:9091"`
	TwinningAddr   string `env:"GEMELLA_TWINNING_ADDR" envDefault:"127.0.0.1:9092"`
	DiscussionAddr string `env:"GEMELLA_DISCUSSION_ADDR" envDefault:"127.0.0.1:9093"`
	// PeerTimeout bounds each call to another service.
	PeerTimeout time.Duration `env:"GEMELLA_NOTIFICATION_PEER_TIMEOUT" envDefault:"5s"`
	// DefaultFrequency is the e-mail frequency of a member who chose
	// none: immediate, daily, weekly or never.
	DefaultFrequency string `env:"GEMELLA_NOTIFICATION_DEFAULT_EMAIL" envDefault:"immediate"`
	// SMTP is the server and the sender (GEMELLA_SMTP_URL,
	// GEMELLA_SMTP_TIMEOUT, GEMELLA_MAIL_FROM, GEMELLA_MAIL_FROM_NAME).
	SMTP mail.SMTPConfig `envPrefix:"GEMELLA_"`
	// Mail is how notifications are mailed (GEMELLA_NOTIFICATION_MAIL_*,
	// _PUBLIC_URL, _UNSUBSCRIBE_KEY).
	Mail mail.Config `envPrefix:"GEMELLA_NOTIFICATION_"`
	// Sender, when set, replaces SMTP: for tests, never from the
	// environment.
	Sender mail.Sender `env:"-"`
}

// DefaultConfig is what a single machine needs.
func DefaultConfig() Config {
	own := servicekit.Own{GRPC: config.GRPCServer{Addr: "127.0.0.1:9094"}, Mongo: config.Mongo{Database: "gemella_notification"}}
	return servicekit.Defaults(Config{Own: own})
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var p config.Problems
	p.Add(c.Own.Validate(envPrefix))
	p.Add(c.Shared.Validate(true))
	p.Target("GEMELLA_CATALOG_ADDR", c.CatalogAddr)
	p.Target("GEMELLA_TWINNING_ADDR", c.TwinningAddr)
	p.Target("GEMELLA_DISCUSSION_ADDR", c.DiscussionAddr)
	p.Positive("GEMELLA_NOTIFICATION_PEER_TIMEOUT", c.PeerTimeout)
	switch c.DefaultFrequency {
	case app.FrequencyImmediate, app.FrequencyDaily, app.FrequencyWeekly, app.FrequencyNever:
	default:
		p.Addf("GEMELLA_NOTIFICATION_DEFAULT_EMAIL %q: must be immediate, daily, weekly or never", c.DefaultFrequency)
	}
	p.Add(c.SMTP.Validate("GEMELLA_"))
	p.Add(c.Mail.Validate(envPrefix, c.SMTP.URL != "" || c.Sender != nil))
	return p.Err()
}

// LoadConfig reads the environment over the defaults.
func LoadConfig() (Config, error) { return servicekit.LoadConfig(DefaultConfig()) }

// Service is the notification service on the kit.
type Service = servicekit.Service

// New builds the service on MongoDB and NATS, with (lazy) connections to
// the other services; Run connects and serves.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s configuration: %w", Name, err)
	}
	return servicekit.New(ctx, declaration(cfg), &cfg, logger)
}

// inlineFanOut is how long a consumer's handler notifies followers itself
// (well inside its 10 s deadline); a larger fan-out goes on in the
// fan-out worker, which looks for such jobs every fanOutPoll.
const (
	inlineFanOut = 3 * time.Second
	fanOutPoll   = 500 * time.Millisecond
)

func declaration(cfg Config) servicekit.Declaration {
	return servicekit.Declaration{
		Name:      Name,
		EnvPrefix: envPrefix,
		Collections: []servicekit.Collection{
			{Name: store.MembersCollection}, {Name: store.FollowsCollection}, {Name: store.NotificationsCollection}, {Name: store.FanOutsCollection},
			{Name: store.FollowerBucketsCollection}, {Name: store.FollowerBackfillCollection},
		},
		EnsureIndexes: store.EnsureIndexes,
		Build:         func(_ context.Context, p servicekit.Ports) (servicekit.Parts, error) { return build(cfg, p) },
	}
}

func build(cfg Config, p servicekit.Ports) (servicekit.Parts, error) {
	if p.InMemory() {
		return servicekit.Parts{}, errors.New("the notification service needs MongoDB: it has no in-memory store")
	}
	var conns []*grpc.ClientConn
	closeAll := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	for _, addr := range []string{cfg.CatalogAddr, cfg.TwinningAddr, cfg.DiscussionAddr} {
		c, err := grpcx.Dial(addr, cfg.PeerTimeout, grpcx.WithClientTLS(cfg.GRPCClient.TLS))
		if err != nil {
			closeAll()
			return servicekit.Parts{}, err
		}
		conns = append(conns, c)
	}
	sender := cfg.Sender
	if sender == nil && cfg.SMTP.URL != "" {
		s, err := mail.NewSMTP(cfg.SMTP)
		if err != nil {
			closeAll()
			return servicekit.Parts{}, err
		}
		sender = s
	}
	st := store.New(p.DB, p.StoreOptions())
	application := app.New(st, app.NewPeers(conns[0], conns[1], conns[2]),
		app.Options{EmailDelay: cfg.Mail.Delay, DefaultFrequency: cfg.DefaultFrequency, Mailing: sender != nil, InlineFanOut: inlineFanOut}, p.Logger)
	tokens := mail.NewTokens(cfg.Mail.UnsubscribeKey)

	handler := ports.NewEvents(application).Handle
	parts := servicekit.Parts{
		Register: func(s *grpc.Server) {
			notificationv1.RegisterNotificationServiceServer(s, ports.NewGRPCServer(application, tokens))
		},
		Consumers: []servicekit.Consumer{
			{Stream: CatalogStream, Durable: CatalogConsumer, FilterSubjects: []string{"catalog.practice.>"}, Handler: handler},
			{Stream: TwinningStream, Durable: TwinningConsumer, FilterSubjects: []string{"twinning.twinning.>", "twinning.transfer.>"}, Handler: handler},
			{Stream: DiscussionStream, Durable: DiscussionConsumer, Handler: handler},
		},
		Workers: []servicekit.Worker{{Name: "fan-out", Run: func(ctx context.Context, _ servicekit.Runtime) error {
			return application.RunFanOuts(ctx, fanOutPoll)
		}}, {Name: "follower-backfill", Run: func(ctx context.Context, _ servicekit.Runtime) error {
			return application.BackfillFollowers(ctx)
		}}},
		Close: closeAll,
	}
	if sender != nil {
		mcfg := cfg.Mail
		mcfg.DefaultFrequency = cfg.DefaultFrequency
		mailer := mail.NewMailer(mcfg, st, sender, p.Logger.With("component", "mailer"), p.Metrics)
		parts.Workers = append(parts.Workers, servicekit.Worker{Name: "mailer", Run: func(ctx context.Context, _ servicekit.Runtime) error {
			return mailer.Run(ctx)
		}})
	} else {
		p.Logger.Info("no GEMELLA_SMTP_URL: notifications are not mailed")
	}
	return parts, nil
}

// UnsubscribeToken is the token of memberID's one-click unsubscribe link
// signed with key (GEMELLA_NOTIFICATION_UNSUBSCRIBE_KEY): for tests.
func UnsubscribeToken(key, memberID string) string { return mail.NewTokens(key).Sign(memberID) }
