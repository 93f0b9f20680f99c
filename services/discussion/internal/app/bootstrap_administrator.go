package app

import (
	"context"
	"errors"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// BootstrapCaller is who grants the first administrator, as the grant
// records it: "system:bootstrap".
var BootstrapCaller = auth.System("bootstrap")

// Bootstrap keeps the claim of the first administrator beside the
// members (adapters.BootstrapMongoStore).
type Bootstrap interface {
	// AdministratorExists reports whether any member holds the
	// administrator role.
	AdministratorExists(ctx context.Context) (bool, error)
	// Claim records that the first administrator is being made for email,
	// unless a claim is recorded already; it returns the e-mail of the
	// claim that holds, this one or the earlier one. Of concurrent claims
	// exactly one holds.
	Claim(ctx context.Context, email string, at time.Time) (holder string, err error)
	// Done records on the claim of email which member it made.
	Done(ctx context.Context, email, memberID string, at time.Time) error
}

// BootstrapAdministrator makes the first administrator of an
// installation, the only one nobody grants: the member registered with
// Email, or a new member with Profile and the password Password returns.
// It is no API call: the discussion binary runs it for an operator
// (`discussion bootstrap-admin`).
type BootstrapAdministrator struct {
	Email   string
	Profile member.Profile
	// Password is asked for only when nobody has registered Email.
	Password func() (string, error)
}

// BootstrapResult says whom BootstrapAdministrator made administrator.
type BootstrapResult struct {
	Member *member.Member
	// Registered is true when the member was registered by the command.
	Registered bool
}

// BootstrapAdministratorHandler handles BootstrapAdministrator.
type BootstrapAdministratorHandler struct{ d Deps }

// ErrAdministratorExists refuses a bootstrap once an administrator exists.
func ErrAdministratorExists() error {
	return apperr.FailedPrecondition("an administrator exists already: the first administrator is made once, and administrators grant roles to others (POST /v1/members/{member_id}:grantRoles)")
}

// Handle refuses when an administrator exists, claims the bootstrap (so
// that of two runs at once with different addresses one is refused, and
// two with the same address make one administrator), registers the member
// if needed, and grants the administrator role as "system:bootstrap",
// recorded like every grant.
func (h BootstrapAdministratorHandler) Handle(ctx context.Context, cmd BootstrapAdministrator) (BootstrapResult, error) {
	if h.d.Bootstrap == nil {
		return BootstrapResult{}, errors.New("bootstrap administrator: no bootstrap store configured")
	}
	email := member.NormalizeEmail(cmd.Email)
	var v apperr.Violations
	validate.Email(&v, "email", email)
	if err := v.Err(); err != nil {
		return BootstrapResult{}, err
	}
	exists, err := h.d.Bootstrap.AdministratorExists(ctx)
	if err != nil {
		return BootstrapResult{}, err
	}
	if exists {
		return BootstrapResult{}, ErrAdministratorExists()
	}
	holder, err := h.d.Bootstrap.Claim(ctx, email, h.d.Now())
	if err != nil {
		return BootstrapResult{}, err
	}
	if holder != email {
		return BootstrapResult{}, apperr.FailedPrecondition(
			"the first administrator is being made for %s by another run: run again with that address; if that run failed for good, delete the document with _id \"first-administrator\" from the discussion database's bootstrap collection first", holder)
	}
	m, registered, err := h.memberFor(ctx, email, cmd)
	if err != nil {
		return BootstrapResult{}, err
	}
	now := h.d.Now()
	m, err = h.d.Members.Update(ctx, m.ID, func(m *member.Member) error {
		return m.Grant(actor(BootstrapCaller), now, "", member.RoleAdministrator)
	})
	if err != nil {
		return BootstrapResult{}, err
	}
	if err := h.d.Bootstrap.Done(ctx, email, m.ID, now); err != nil {
		return BootstrapResult{}, err
	}
	return BootstrapResult{Member: m.Private(), Registered: registered}, nil
}

// memberFor finds the member registered with email, or registers one.
func (h BootstrapAdministratorHandler) memberFor(ctx context.Context, email string, cmd BootstrapAdministrator) (*member.Member, bool, error) {
	m, err := h.d.Members.GetByEmail(ctx, email)
	if err == nil {
		return m, false, nil
	}
	if apperr.KindOf(err) != apperr.KindNotFound {
		return nil, false, err
	}
	if cmd.Password == nil {
		return nil, false, apperr.Invalid("password", "is required to register a new member")
	}
	password, err := cmd.Password()
	if err != nil {
		return nil, false, err
	}
	if err := member.ValidateRegistration(cmd.Profile, email, password); err != nil {
		return nil, false, err
	}
	hash, err := h.d.Passwords.Hash(ctx, password)
	if err != nil {
		return nil, false, err
	}
	m, err = member.New(h.d.NewID(""), cmd.Profile, email, hash, h.d.Now())
	if err != nil {
		return nil, false, err
	}
	switch err := h.d.Members.Create(ctx, m); {
	case err == nil:
		return m, true, nil
	case apperr.KindOf(err) == apperr.KindAlreadyExists:
		// A run with the same address registered them meanwhile.
		m, err := h.d.Members.GetByEmail(ctx, email)
		return m, false, err
	default:
		return nil, false, err
	}
}
