package service

import (
	"context"
	"fmt"

	"github.com/gemella/gemella/services/discussion/internal/adapters"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/password"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/mongox"
)

// BootstrapConfig is what `discussion bootstrap-admin` reads beside the
// service's own configuration, of which it uses the store
// (GEMELLA_DISCUSSION_MONGO_*) and the password hashing
// (GEMELLA_DISCUSSION_ARGON2_*) only.
type BootstrapConfig struct {
	// AdminPassword is read by `discussion bootstrap-admin` only: the
	// first administrator's password when the command registers them;
	// empty reads it from standard input (a file or a pipe). Unset it once
	// the command has run.
	AdminPassword string `env:"GEMELLA_BOOTSTRAP_ADMIN_PASSWORD"`
}

// bootstrapSettings validate what the command uses: no signing key and no
// NATS are needed to make a member administrator.
type bootstrapSettings struct {
	Config
	Bootstrap BootstrapConfig
}

func (s *bootstrapSettings) Validate() error {
	var p config.Problems
	p.Add(s.Mongo.Validate(envPrefix))
	if err := s.Argon2.Params().Validate(); err != nil {
		p.Addf("GEMELLA_DISCUSSION_ARGON2_*: %v", err)
	}
	return p.Err()
}

// LoadBootstrapConfig reads the environment over the defaults, for the
// bootstrap command.
func LoadBootstrapConfig() (Config, BootstrapConfig, error) {
	s := bootstrapSettings{Config: DefaultConfig()}
	err := config.Load(&s)
	return s.Config, s.Bootstrap, err
}

// BootstrapRequest names the first administrator.
type BootstrapRequest struct {
	Email string
	// The profile of a member the command registers; ignored when Email
	// is registered already.
	DisplayName, OrganizationName, RoleTitle string
	// Password is asked for only when the command registers the member.
	Password func() (string, error)
}

// BootstrapResult says whom the command made administrator.
type BootstrapResult struct {
	MemberID, Email string
	// Registered is true when the command registered the member.
	Registered bool
}

// BootstrapAdministrator makes the first administrator of an installation
// in the discussion's database: the member registered with req.Email, or
// a new member. It is refused (FailedPrecondition) once an administrator
// exists, and while another run holds the claim for another address; two
// runs at once (two replicas of a job) make one administrator. The grant
// is recorded as by "system:bootstrap". A new member's "joined" event
// waits in the member's outbox until a running discussion service
// publishes it.
func BootstrapAdministrator(ctx context.Context, cfg Config, req BootstrapRequest) (BootstrapResult, error) {
	s := bootstrapSettings{Config: cfg}
	if err := s.Validate(); err != nil {
		return BootstrapResult{}, fmt.Errorf("%s configuration: %w", Name, err)
	}
	client, db, err := mongox.Connect(ctx, cfg.Mongo, Name+"-bootstrap")
	if err != nil {
		return BootstrapResult{}, err
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	// A fresh database needs the unique index on e-mail before a member
	// is registered; the service creates the same ones at start.
	if err := adapters.EnsureIndexes(ctx, db); err != nil {
		return BootstrapResult{}, fmt.Errorf("indexes: %w", err)
	}
	hasher, err := password.New(cfg.Argon2.Params(), 1)
	if err != nil {
		return BootstrapResult{}, err
	}
	a := app.New(app.Deps{
		Members:   adapters.NewMongoRepositories(db, mongox.StoreOptions{Locks: mongox.DocLocks(cfg.Mongo)}).Members,
		Bootstrap: adapters.NewBootstrapMongoStore(db),
		Passwords: hasher,
	})
	res, err := a.BootstrapAdministrator.Handle(ctx, app.BootstrapAdministrator{
		Email:    req.Email,
		Profile:  member.Profile{DisplayName: req.DisplayName, OrganizationName: req.OrganizationName, RoleTitle: req.RoleTitle},
		Password: req.Password,
	})
	if err != nil {
		return BootstrapResult{}, err
	}
	return BootstrapResult{MemberID: res.Member.ID, Email: res.Member.Email, Registered: res.Registered}, nil
}
