// Package service declares the community service on the service kit: its
// configuration, stream, collections, password hashing, session tokens,
// repositories, application, gRPC server and its consumer of twinning
// approvals. The binary, the dev launcher and the integration tests all
// build the service here. It lives outside internal/ so that
// deploy/devstack, another module, can import it.
package service

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/discussion/internal/adapters"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/password"
	"github.com/gemella/gemella/services/discussion/internal/ports"
	"github.com/gemella/gemella/services/discussion/internal/searchindex"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/mailx"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/platform/search/searchkit"
	"github.com/gemella/gemella/services/platform/servicekit"
)

const (
	// Name is the service's name in logs, metrics and NATS connections.
	Name = "discussion"
	// StreamName is the JetStream stream of the discussion's events.
	StreamName = "DISCUSSION"
	// envPrefix starts the discussion's own variables.
	envPrefix = "GEMELLA_DISCUSSION_"
)

// Config is the discussion's configuration; LoadConfig reads it from
// GEMELLA_DISCUSSION_*, GEMELLA_NATS_* and GEMELLA_AUTH_* variables.
type Config struct {
	// Own are GEMELLA_DISCUSSION_GRPC_* and GEMELLA_DISCUSSION_MONGO_*.
	servicekit.Own `envPrefix:"GEMELLA_DISCUSSION_"`
	NATS           config.NATS `envPrefix:"GEMELLA_"`
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
	ReportThreshold int `env:"GEMELLA_DISCUSSION_REPORT_THRESHOLD" envDefault:"3"`
	// Search is the full-text index of threads, visible posts and
	// published stories (GEMELLA_DISCUSSION_SEARCH_*).
	Search psearch.Config `envPrefix:"GEMELLA_DISCUSSION_SEARCH_"`
	// ExpirySweepInterval is how often expired log-in records and sessions
	// are deleted on a store without TTL indexes (the embedded FerretDB);
	// MongoDB deletes them itself and the sweep stays idle there.
	ExpirySweepInterval time.Duration `env:"GEMELLA_DISCUSSION_EXPIRY_SWEEP_INTERVAL" envDefault:"10m"`
	Login               LoginLimits   `envPrefix:"GEMELLA_DISCUSSION_LOGIN_"`
	Argon2              Argon2        `envPrefix:"GEMELLA_DISCUSSION_ARGON2_"`
	// SMTP is the server and sender of the account e-mail (sign-up
	// verification, password reset): GEMELLA_SMTP_URL and
	// GEMELLA_MAIL_FROM*, read as the notification service reads them.
	// Without a URL no link is mailed (a warning is logged).
	SMTP     mailx.SMTPConfig `envPrefix:"GEMELLA_"`
	Accounts AccountLinks     `envPrefix:"GEMELLA_DISCUSSION_"`
}

// AccountLinks are the mailed single-use links and who may write before
// verifying their address.
type AccountLinks struct {
	// PublicURL is the portal's address, which the links open.
	PublicURL string `env:"PUBLIC_URL" envDefault:"http://127.0.0.1:8080"`
	// ResetLinkTTL is how long a password reset link works.
	ResetLinkTTL time.Duration `env:"RESET_LINK_TTL" envDefault:"1h"`
	// VerifyLinkTTL is how long the link that confirms an address works.
	VerifyLinkTTL time.Duration `env:"VERIFY_LINK_TTL" envDefault:"72h"`
	// ResetPerAddress is how many reset links one e-mail address may be
	// sent per ResetWindow (and verification links one member).
	ResetPerAddress int `env:"RESET_PER_ADDRESS" envDefault:"3"`
	// ResetPerClient is how many reset requests one client address may
	// make per ResetWindow. Counted in the database: every replica sees
	// the same counts.
	ResetPerClient int           `env:"RESET_PER_CLIENT" envDefault:"20"`
	ResetWindow    time.Duration `env:"RESET_WINDOW" envDefault:"1h"`
	// UnverifiedMayWrite is what a member who has not confirmed their
	// address may write: "all", "none", or a comma-separated list of
	// threads, posts, stories, affiliations, reports. Reading is always
	// allowed.
	UnverifiedMayWrite string `env:"UNVERIFIED_MAY_WRITE" envDefault:"all"`
}

// mayWrite is UnverifiedMayWrite as the application takes it: nil for
// "all".
func (a AccountLinks) mayWrite() (func(string) bool, error) {
	v := strings.TrimSpace(a.UnverifiedMayWrite)
	switch v {
	case "all", "":
		return nil, nil
	case "none":
		return func(string) bool { return false }, nil
	}
	allowed := map[string]bool{}
	for _, k := range strings.Split(v, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(app.WriteKinds, k) {
			return nil, fmt.Errorf("GEMELLA_DISCUSSION_UNVERIFIED_MAY_WRITE: %q is none of all, none, %s", k, strings.Join(app.WriteKinds, ", "))
		}
		allowed[k] = true
	}
	return func(kind string) bool { return allowed[kind] }, nil
}

// LoginLimits throttle password guessing (see package login): after
// FreeFailures failures each attempt waits a delay doubling from BaseDelay
// to MaxDelay, and LockAfter failures lock the e-mail and the account for
// LockDuration. Failures older than Window are forgotten.
type LoginLimits struct {
	// FreeFailures is how many failed log-ins of one e-mail or account
	// wait for nothing.
	FreeFailures int `env:"FREE_FAILURES" envDefault:"3"`
	// BaseDelay is the wait after the first failure beyond the free ones;
	// it doubles with each further failure.
	BaseDelay time.Duration `env:"BASE_DELAY" envDefault:"1s"`
	// MaxDelay caps the doubling wait.
	MaxDelay time.Duration `env:"MAX_DELAY" envDefault:"1m"`
	// LockAfter is how many failures lock the e-mail and the account.
	LockAfter int `env:"LOCK_AFTER" envDefault:"10"`
	// LockDuration is how long a lock lasts.
	LockDuration time.Duration `env:"LOCK_DURATION" envDefault:"15m"`
	// Window is how long a failure is remembered; the record expires then.
	Window time.Duration `env:"WINDOW" envDefault:"15m"`
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
	// MemoryKiB is the memory one hash takes, in KiB.
	MemoryKiB uint32 `env:"MEMORY_KIB" envDefault:"19456"`
	// Iterations are the passes over that memory.
	Iterations uint32 `env:"ITERATIONS" envDefault:"2"`
	// Parallelism are the lanes of one hash.
	Parallelism uint8 `env:"PARALLELISM" envDefault:"1"`
	// MaxConcurrent bounds the hashes computed at once (and so their
	// memory); 0 means one per CPU.
	MaxConcurrent int `env:"MAX_CONCURRENT" envDefault:"0"`
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
	cfg := Config{Own: servicekit.Own{GRPC: config.GRPCServer{Addr: "127.0.0.1:9093"}}}
	cfg.Mongo.Database = "gemella_discussion"
	return servicekit.Defaults(cfg)
}

// Validate implements config.Validator. The key list is optional: the
// service verifies its own tokens.
func (c *Config) Validate() error {
	return errors.Join(c.Own.Validate(envPrefix), c.SharedConfig().Validate(false), c.validateOwn())
}

// SharedConfig is what the discussion reads as every service does: NATS,
// and the further keys it verifies with (Verify).
func (c *Config) SharedConfig() servicekit.Shared {
	return servicekit.Shared{NATS: c.NATS, Auth: c.Verify}
}

// validateOwn checks what the in-memory service needs too.
func (c *Config) validateOwn() error {
	var p config.Problems
	p.Add(c.Auth.Validate("GEMELLA_"))
	p.Positive("GEMELLA_DISCUSSION_TOKEN_TTL", c.TokenTTL)
	if c.SessionMaxAge < c.TokenTTL {
		p.Addf("GEMELLA_DISCUSSION_SESSION_MAX_AGE: %s is shorter than a token's life (GEMELLA_DISCUSSION_TOKEN_TTL %s)", c.SessionMaxAge, c.TokenTTL)
	}
	p.Positive("GEMELLA_DISCUSSION_EDIT_WINDOW", c.EditWindow)
	p.Positive("GEMELLA_DISCUSSION_EXPIRY_SWEEP_INTERVAL", c.ExpirySweepInterval)
	if err := c.Search.Validate("GEMELLA_DISCUSSION_SEARCH_"); err != nil {
		p.Add(err)
	}
	if c.ReportThreshold < 1 {
		p.Addf("GEMELLA_DISCUSSION_REPORT_THRESHOLD: must be at least 1, got %d", c.ReportThreshold)
	}
	if err := c.Login.Policy().Validate(); err != nil {
		p.Addf("GEMELLA_DISCUSSION_LOGIN_*: %v", err)
	}
	if err := c.Argon2.Params().Validate(); err != nil {
		p.Addf("GEMELLA_DISCUSSION_ARGON2_*: %v", err)
	}
	if _, err := c.Accounts.mayWrite(); err != nil {
		p.Add(err)
	}
	p.Add(c.SMTP.Validate("GEMELLA_"))
	p.Positive("GEMELLA_DISCUSSION_RESET_LINK_TTL", c.Accounts.ResetLinkTTL)
	p.Positive("GEMELLA_DISCUSSION_VERIFY_LINK_TTL", c.Accounts.VerifyLinkTTL)
	p.Positive("GEMELLA_DISCUSSION_RESET_WINDOW", c.Accounts.ResetWindow)
	if c.Accounts.ResetPerAddress < 1 || c.Accounts.ResetPerClient < 1 {
		p.Addf("GEMELLA_DISCUSSION_RESET_PER_ADDRESS and _PER_CLIENT: must be at least 1")
	}
	if c.Argon2.MaxConcurrent < 0 {
		p.Addf("GEMELLA_DISCUSSION_ARGON2_MAX_CONCURRENT: must not be negative")
	}
	return p.Err()
}

// LoadConfig reads the environment over the defaults.
func LoadConfig() (Config, error) { return servicekit.LoadConfig(DefaultConfig()) }

// Service is a discussion service on the kit, with what the devstack and
// the tests ask of it beside serving.
type Service struct {
	*servicekit.Service
	app    app.Application
	issuer *auth.Issuer
	hasher *password.Hasher
	argon2 Argon2
	// mailer sends account e-mail; nil without GEMELLA_SMTP_URL.
	mailer mailx.Sender
}

// New builds the service on MongoDB and NATS; Run connects and serves.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s configuration: %w", Name, err)
	}
	s, err := newSecured(cfg)
	if err != nil {
		return nil, err
	}
	s.Service, err = servicekit.New(ctx, s.declaration(cfg), &cfg, logger)
	return s.orNil(err)
}

// NewInMemory builds the service on in-memory repositories, without MongoDB
// or NATS (cfg.Mongo and cfg.NATS are not used): for benchmarks of the
// service's own code. Without a signing key in cfg.Auth it makes a
// throw-away one.
func NewInMemory(cfg Config, logger *slog.Logger) (*Service, error) {
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
	if err := errors.Join(cfg.GRPC.Validate(envPrefix), cfg.Verify.Validate(servicekit.SharedPrefix, false), cfg.validateOwn()); err != nil {
		return nil, fmt.Errorf("%s configuration: %w", Name, err)
	}
	keys, _ := cfg.Verify.Keys() // valid: checked above
	s, err := newSecured(cfg)
	if err != nil {
		return nil, err
	}
	s.Service, err = servicekit.NewInMemory(context.Background(), s.declaration(cfg), cfg.GRPC, logger, keys...)
	return s.orNil(err)
}

func (s *Service) orNil(err error) (*Service, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// newSecured loads the signing key and makes the password hasher.
func newSecured(cfg Config) (*Service, error) {
	key, err := cfg.Auth.SigningKey()
	if err != nil {
		return nil, fmt.Errorf("%s: token signing key: %w", Name, err)
	}
	s := &Service{argon2: cfg.Argon2}
	if s.issuer, err = auth.NewIssuer(key, cfg.TokenTTL); err != nil {
		return nil, err
	}
	if s.hasher, err = password.New(cfg.Argon2.Params(), cfg.Argon2.concurrency()); err != nil {
		return nil, err
	}
	s.argon2.MaxConcurrent = cfg.Argon2.concurrency()
	if !cfg.SMTP.Disabled() {
		smtp, err := mailx.NewSMTP(cfg.SMTP)
		if err != nil {
			return nil, fmt.Errorf("%s: GEMELLA_SMTP_URL: %w", Name, err)
		}
		s.mailer = smtp
	}
	return s, nil
}

// declaration is what the discussion service is. It verifies its own
// tokens, and those of the keys in Config.Verify.
func (s *Service) declaration(cfg Config) servicekit.Declaration {
	return servicekit.Declaration{
		Name:        Name,
		EnvPrefix:   envPrefix,
		TrustedKeys: []ed25519.PublicKey{s.issuer.PublicKey()},
		Stream:      servicekit.Stream{Name: StreamName, Subjects: []string{"discussion.>"}},
		// Log-in attempts and sessions publish no events.
		Collections: servicekit.Outboxes(
			adapters.MembersCollection, adapters.ThreadsCollection, adapters.PostsCollection, adapters.StoriesCollection),
		EnsureIndexes: adapters.EnsureIndexes,
		Build: func(_ context.Context, p servicekit.Ports) (servicekit.Parts, error) {
			return s.build(cfg, p)
		},
	}
}

// The discussion opens the general thread of every approved twinning, read
// by a durable consumer of the twinning service's stream: it keeps its
// place while the service is down, so an approval published meanwhile is
// handled at the next start.
const (
	TwinningStream   = "TWINNING"
	TwinningConsumer = "discussion-on-twinning-approved"
)

// build wires the repositories into the one application that gRPC and
// the consumer of approvals call.
func (s *Service) build(cfg Config, p servicekit.Ports) (servicekit.Parts, error) {
	d := repositories(p)
	d.Passwords, d.Tokens, d.Logger = s.hasher, s.issuer, p.Logger
	d.LoginPolicy, d.SessionMaxAge = cfg.Login.Policy(), cfg.SessionMaxAge
	d.RevokeSession = p.RevokeSession
	d.EditWindow, d.ReportThreshold = cfg.EditWindow, cfg.ReportThreshold
	d.UnverifiedMayWrite, _ = cfg.Accounts.mayWrite() // valid: checked by Validate
	d.Links = app.AccountLinks{
		PublicURL: cfg.Accounts.PublicURL, ResetTTL: cfg.Accounts.ResetLinkTTL, VerifyTTL: cfg.Accounts.VerifyLinkTTL,
		PerAddress: cfg.Accounts.ResetPerAddress, PerClient: cfg.Accounts.ResetPerClient, Window: cfg.Accounts.ResetWindow,
	}
	if s.mailer != nil {
		d.Mail = adapters.AccountMailer{Sender: s.mailer, Timeout: cfg.SMTP.Timeout}
	}
	s.app = app.New(d)
	var workers []servicekit.Worker
	// The index of threads, posts and stories, kept current from the
	// discussion's own stream.
	src := searchindex.Source{Threads: d.Threads, Posts: d.Posts, Stories: d.Stories}
	idx, searchWorker, err := searchkit.Open(searchkit.Index{
		Name: "search-index", Dir: cfg.Search.Dir, Schema: searchindex.Schema,
		Stream: StreamName, Subjects: searchindex.Subjects, Changes: src.Changes, All: src.All,
		ReconcileEvery: cfg.Search.ReconcileInterval,
	}, p)
	if err != nil {
		return servicekit.Parts{}, err
	}
	if searchWorker != nil {
		workers = append(workers, *searchWorker)
	}
	if !p.InMemory() {
		sweeper := adapters.NewSweeper(p.DB, p.Locks)
		workers = append(workers, servicekit.Worker{Name: "expiry sweep", Run: func(ctx context.Context, rt servicekit.Runtime) error {
			return sweeper.Run(ctx, cfg.ExpirySweepInterval, rt.Logger)
		}})
	}
	return servicekit.Parts{
		Workers: workers,
		Register: func(g *grpc.Server) {
			discussionv1.RegisterDiscussionServiceServer(g, ports.NewGRPCServer(s.app).WithSearch(idx))
		},
		Close: func() { _ = idx.Close() },
		Consumers: []servicekit.Consumer{{
			Stream: TwinningStream, Durable: TwinningConsumer, FilterSubjects: []string{ports.TwinningApprovedSubject},
			Handler: ports.TwinningApprovedHandler(s.app, p.Logger),
		}},
	}, nil
}

// repositories are the discussion's six, on MongoDB or in memory.
func repositories(p servicekit.Ports) app.Deps {
	if p.InMemory() {
		return app.Deps{
			Members:    adapters.NewMemberMemoryRepository(),
			Logins:     adapters.NewLoginMemoryRepository(),
			Threads:    adapters.NewThreadMemoryRepository(),
			Posts:      adapters.NewPostMemoryRepository(),
			Stories:    adapters.NewStoryMemoryRepository(),
			Sessions:   adapters.NewSessionMemoryRepository(),
			Moderation: adapters.NewModerationMemoryRepository(),
			Onetime:    adapters.NewOnetimeMemoryRepository(),
		}
	}
	m := adapters.NewMongoRepositories(p.DB, p.StoreOptions())
	return app.Deps{
		Members: m.Members, Logins: m.Logins, Threads: m.Threads, Posts: m.Posts, Stories: m.Stories, Sessions: m.Sessions, Moderation: m.Moderation,
		Onetime: m.Onetime,
	}
}

// PublicKey verifies the session tokens this service signs; the other
// services verify with it.
func (s *Service) PublicKey() ed25519.PublicKey { return s.issuer.PublicKey() }

// PasswordHashing are the argon2id parameters of new password hashes.
func (s *Service) PasswordHashing() Argon2 { return s.argon2 }

// GrantRoles gives roles ("coordinator", "moderator", "administrator") to
// the member registered with email, acting as the service itself
// (recorded as "system:discussion"): the devstack's demo accounts get
// their roles this way. A real installation makes its first administrator
// with `discussion bootstrap-admin` (BootstrapAdministrator), who then
// grants roles over the API. The member's next session, or refresh,
// carries the roles.
func (s *Service) GrantRoles(ctx context.Context, email string, roles ...string) error {
	_, err := s.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: auth.System(app.ServiceName), Email: email, Roles: roles})
	return err
}

// MarkEmailVerified records, acting as the service itself, that the
// address of the member registered with email reaches them, as following
// the mailed link would: the devstack's demo accounts, whose addresses are
// its own, are verified this way, so that the portal does not ask them to
// confirm. A real installation verifies addresses only through the link.
func (s *Service) MarkEmailVerified(ctx context.Context, email string) error {
	return s.app.MarkEmailVerified.Handle(ctx, app.MarkEmailVerified{Caller: auth.System(app.ServiceName), Email: email})
}
