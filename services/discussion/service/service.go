// Package service is the one place where the community service is wired:
// storage, events, password hashing, session tokens, application and gRPC
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
	"runtime"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/discussion/internal/adapters"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/password"
	"github.com/gemella/gemella/services/discussion/internal/ports"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
)

// Name is the service's name in logs, metrics and NATS connections.
const Name = "discussion"

// StreamName is the JetStream stream of the discussion's events.
const StreamName = "DISCUSSION"

// Config is the discussion's configuration; LoadConfig reads it from
// GEMELLA_DISCUSSION_*, GEMELLA_NATS_* and GEMELLA_AUTH_* variables.
type Config struct {
	GRPC  config.GRPCServer `envPrefix:"GEMELLA_DISCUSSION_"`
	Mongo config.Mongo      `envPrefix:"GEMELLA_DISCUSSION_"`
	NATS  config.NATS       `envPrefix:"GEMELLA_"`
	// Auth is the key that signs session tokens (GEMELLA_AUTH_KEY_FILE or
	// GEMELLA_AUTH_PRIVATE_KEY); required.
	Auth auth.KeyConfig `envPrefix:"GEMELLA_"`
	// Verify lists further public keys whose tokens the service accepts
	// (GEMELLA_AUTH_PUBLIC_KEYS, optional): during a key rotation, the
	// previous key(s), so that sessions signed before the switch go on
	// until their tokens expire. The service always accepts its own key.
	Verify auth.VerifierConfig `envPrefix:"GEMELLA_"`
	// TokenTTL is how long a session token lives.
	TokenTTL time.Duration `env:"GEMELLA_DISCUSSION_TOKEN_TTL" envDefault:"15m"`
	// SessionMaxAge is how long after the log-in a session's tokens can be
	// refreshed; then the member logs in again.
	SessionMaxAge time.Duration `env:"GEMELLA_DISCUSSION_SESSION_MAX_AGE" envDefault:"12h"`
	// EditWindow is how long after writing a post its author may edit it.
	EditWindow time.Duration `env:"GEMELLA_DISCUSSION_EDIT_WINDOW" envDefault:"15m"`
	// ReportThreshold is how many members' reports hide a post pending review.
	ReportThreshold int         `env:"GEMELLA_DISCUSSION_REPORT_THRESHOLD" envDefault:"3"`
	Login           LoginLimits `envPrefix:"GEMELLA_DISCUSSION_LOGIN_"`
	Argon2          Argon2      `envPrefix:"GEMELLA_DISCUSSION_ARGON2_"`
}

// LoginLimits throttle password guessing (see package login): after
// FreeFailures failures each attempt waits a delay doubling from BaseDelay
// to MaxDelay, and LockAfter failures lock the e-mail and the account for
// LockDuration. Failures older than Window are forgotten.
type LoginLimits struct {
	FreeFailures int           `env:"FREE_FAILURES" envDefault:"3"`
	BaseDelay    time.Duration `env:"BASE_DELAY" envDefault:"1s"`
	MaxDelay     time.Duration `env:"MAX_DELAY" envDefault:"1m"`
	LockAfter    int           `env:"LOCK_AFTER" envDefault:"10"`
	LockDuration time.Duration `env:"LOCK_DURATION" envDefault:"15m"`
	Window       time.Duration `env:"WINDOW" envDefault:"15m"`
}

// Policy is the limits as the domain takes them.
func (l LoginLimits) Policy() login.Policy {
	return login.Policy{FreeFailures: l.FreeFailures, BaseDelay: l.BaseDelay, MaxDelay: l.MaxDelay, LockAfter: l.LockAfter, LockDuration: l.LockDuration, Window: l.Window}
}

// Argon2 are the password hashing parameters; below the OWASP
// recommendation (19 MiB, 2 passes, 1 lane, or an equivalent) they are
// refused. MaxConcurrent bounds the hashes running at once, and so the
// memory they take (MemoryKiB each); 0 means one per CPU.
type Argon2 struct {
	MemoryKiB     uint32 `env:"MEMORY_KIB" envDefault:"19456"`
	Iterations    uint32 `env:"ITERATIONS" envDefault:"2"`
	Parallelism   uint8  `env:"PARALLELISM" envDefault:"1"`
	MaxConcurrent int    `env:"MAX_CONCURRENT" envDefault:"0"`
}

// Params are the parameters as the hasher takes them.
func (a Argon2) Params() password.Params {
	return password.Params{MemoryKiB: a.MemoryKiB, Iterations: a.Iterations, Parallelism: a.Parallelism}
}

func (a Argon2) concurrency() int {
	if a.MaxConcurrent > 0 {
		return a.MaxConcurrent
	}
	return runtime.GOMAXPROCS(0)
}

// DefaultConfig is what a single machine needs, except the signing key:
// set Auth (the dev launcher makes one with auth.LoadOrCreateKeyFile).
func DefaultConfig() Config {
	cfg := Config{
		GRPC:  config.GRPCServer{Addr: "127.0.0.1:9093"},
		Mongo: config.Mongo{Database: "gemella_discussion"},
	}
	config.Defaults(&cfg)
	return cfg
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var p config.Problems
	p.Add(c.GRPC.Validate("GEMELLA_DISCUSSION_"))
	p.Add(c.Mongo.Validate("GEMELLA_DISCUSSION_"))
	p.Add(c.NATS.Validate("GEMELLA_"))
	p.Add(c.validateOwn())
	return p.Err()
}

// validateOwn checks what the in-memory service needs too.
func (c *Config) validateOwn() error {
	var p config.Problems
	p.Add(c.Auth.Validate("GEMELLA_"))
	p.Add(c.Verify.Validate("GEMELLA_", false))
	p.Positive("GEMELLA_DISCUSSION_TOKEN_TTL", c.TokenTTL)
	if c.SessionMaxAge < c.TokenTTL {
		p.Addf("GEMELLA_DISCUSSION_SESSION_MAX_AGE: %s is shorter than a token's life (GEMELLA_DISCUSSION_TOKEN_TTL %s)", c.SessionMaxAge, c.TokenTTL)
	}
	p.Positive("GEMELLA_DISCUSSION_EDIT_WINDOW", c.EditWindow)
	if c.ReportThreshold < 1 {
		p.Addf("GEMELLA_DISCUSSION_REPORT_THRESHOLD: must be at least 1, got %d", c.ReportThreshold)
	}
	if err := c.Login.Policy().Validate(); err != nil {
		p.Addf("GEMELLA_DISCUSSION_LOGIN_*: %v", err)
	}
	if err := c.Argon2.Params().Validate(); err != nil {
		p.Addf("GEMELLA_DISCUSSION_ARGON2_*: %v", err)
	}
	if c.Argon2.MaxConcurrent < 0 {
		p.Addf("GEMELLA_DISCUSSION_ARGON2_MAX_CONCURRENT: must not be negative")
	}
	return p.Err()
}

// LoadConfig reads the environment over the defaults.
func LoadConfig() (Config, error) {
	cfg := DefaultConfig()
	err := config.Load(&cfg)
	return cfg, err
}

// Service is a running discussion service.
type Service struct {
	logger *slog.Logger
	app    app.Application
	server *grpcx.Server
	relay  *outbox.Relay
	js     jetstream.JetStream
	mongo  *mongo.Client
	nats   *nats.Conn
	issuer *auth.Issuer
	hasher *password.Hasher
	// verifier accepts the service's own tokens and those of the keys
	// in Config.Verify.
	verifier *auth.Verifier
	argon2   Argon2
	once     sync.Once
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
	if err := s.prepareSecurity(cfg); err != nil {
		return nil, err
	}
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
	s.nats, s.js = nc, js
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: StreamName, Subjects: []string{"discussion.>"}, Replicas: cfg.NATS.StreamReplicas}); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := events.EnsureDeadLetterStream(ctx, js, cfg.NATS.StreamReplicas); err != nil {
		s.Close()
		return nil, err
	}
	// One set of document locks for the repositories and the relay: see doclock.
	locks := &doclock.Locks{}
	var colls []*mongo.Collection
	for _, name := range adapters.OutboxCollections {
		colls = append(colls, db.Collection(name))
	}
	s.relay = outbox.NewRelay(outbox.RelayConfig{Logger: s.logger, Locks: locks, LegacySweep: true}, events.NewJetStreamPublisher(js), colls...)
	s.app = app.New(s.deps(cfg, app.Deps{
		Members:  adapters.NewMemberMongoRepository(db, adapters.EncodeMemberEvent, s.relay.Notify, locks),
		Logins:   adapters.NewLoginMongoRepository(db, locks),
		Threads:  adapters.NewThreadMongoRepository(db, adapters.EncodeThreadEvent, s.relay.Notify, locks),
		Posts:    adapters.NewPostMongoRepository(db, adapters.EncodePostEvent, s.relay.Notify, locks),
		Stories:  adapters.NewStoryMongoRepository(db, adapters.EncodeStoryEvent, s.relay.Notify, locks),
		Sessions: adapters.NewSessionMongoRepository(db, locks),
	}))
	if s.server, err = s.newServer(cfg.GRPC); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NewInMemory builds the service on in-memory repositories, without MongoDB
// or NATS (cfg.Mongo and cfg.NATS are not used): for benchmarks of the
// service's own code. Without a signing key in cfg.Auth it makes a
// throw-away one.
func NewInMemory(cfg Config, logger *slog.Logger) (*Service, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Auth == (auth.KeyConfig{}) {
		key, err := auth.GenerateKey()
		if err != nil {
			return nil, err
		}
		pem, err := auth.MarshalPrivateKeyPEM(key)
		if err != nil {
			return nil, err
		}
		cfg.Auth.PrivateKey = string(pem)
	}
	if err := errors.Join(cfg.GRPC.Validate("GEMELLA_DISCUSSION_"), cfg.validateOwn()); err != nil {
		return nil, fmt.Errorf("%s configuration: %w", Name, err)
	}
	s := &Service{logger: logger.With("service", Name)}
	if err := s.prepareSecurity(cfg); err != nil {
		return nil, err
	}
	s.app = app.New(s.deps(cfg, app.Deps{
		Members:  adapters.NewMemberMemoryRepository(),
		Logins:   adapters.NewLoginMemoryRepository(),
		Threads:  adapters.NewThreadMemoryRepository(),
		Posts:    adapters.NewPostMemoryRepository(),
		Stories:  adapters.NewStoryMemoryRepository(),
		Sessions: adapters.NewSessionMemoryRepository(),
	}))
	var err error
	if s.server, err = s.newServer(cfg.GRPC); err != nil {
		return nil, err
	}
	return s, nil
}

// prepareSecurity loads the signing key and makes the password hasher.
func (s *Service) prepareSecurity(cfg Config) error {
	key, err := cfg.Auth.SigningKey()
	if err != nil {
		return fmt.Errorf("%s: token signing key: %w", Name, err)
	}
	if s.issuer, err = auth.NewIssuer(key, cfg.TokenTTL); err != nil {
		return err
	}
	if s.verifier, err = cfg.Verify.Verifier(s.issuer.PublicKey()); err != nil {
		return fmt.Errorf("%s: %w", Name, err)
	}
	if s.hasher, err = password.New(cfg.Argon2.Params(), cfg.Argon2.concurrency()); err != nil {
		return err
	}
	s.argon2 = cfg.Argon2
	s.argon2.MaxConcurrent = cfg.Argon2.concurrency()
	return nil
}

func (s *Service) deps(cfg Config, d app.Deps) app.Deps {
	d.Passwords = s.hasher
	d.Tokens = s.issuer
	d.LoginPolicy = cfg.Login.Policy()
	d.SessionMaxAge = cfg.SessionMaxAge
	d.EditWindow = cfg.EditWindow
	d.ReportThreshold = cfg.ReportThreshold
	d.Logger = s.logger
	return d
}

func (s *Service) newServer(cfg config.GRPCServer) (*grpcx.Server, error) {
	srv, err := grpcx.NewServer(grpcx.ServerOptions{
		Name: Name, Config: cfg, Logger: s.logger,
		Unary:  []grpc.UnaryServerInterceptor{auth.UnaryServerInterceptor(s.verifier)},
		Stream: []grpc.StreamServerInterceptor{auth.StreamServerInterceptor(s.verifier)},
	})
	if err != nil {
		return nil, err
	}
	discussionv1.RegisterDiscussionServiceServer(srv.GRPC(), ports.NewGRPCServer(s.app))
	return srv, nil
}

// Listen binds the gRPC address, so that Addr is known before Run.
func (s *Service) Listen() error { return s.server.Listen() }

// Addr is the gRPC address.
func (s *Service) Addr() string { return s.server.Addr() }

// PublicKey verifies the session tokens this service signs; the other
// services verify with it.
func (s *Service) PublicKey() ed25519.PublicKey { return s.issuer.PublicKey() }

// PasswordHashing are the argon2id parameters of new password hashes.
func (s *Service) PasswordHashing() Argon2 { return s.argon2 }

// GrantRoles gives roles ("coordinator", "moderator", "administrator") to
// the member registered with email, acting as the service itself: this is
// how a new installation gets its first administrator (who then grants
// roles over the API, GrantRoles, as administrators do). The member's next
// session, or refresh, carries the roles.
func (s *Service) GrantRoles(ctx context.Context, email string, roles ...string) error {
	_, err := s.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: auth.System(app.ServiceName), Email: email, Roles: roles})
	return err
}

// Run serves gRPC, relays events and consumes the twinning service's
// approvals until ctx is done, then releases every connection.
func (s *Service) Run(ctx context.Context) error {
	defer s.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var relayErr, consumeErr error
	if s.relay != nil {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.relay.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				relayErr = err
				cancel()
			}
		}()
		go func() {
			defer wg.Done()
			if err := ports.ConsumeTwinningApprovals(ctx, s.js, s.app, s.logger); err != nil {
				consumeErr = err
				cancel()
			}
		}()
	}
	err := s.server.Serve(ctx)
	cancel()
	wg.Wait()
	return errors.Join(err, relayErr, consumeErr)
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
