// Package member is the aggregate of a registered person: public profile,
// private e-mail and password hash, roles, and affiliations to
// organisations that an administrator verifies.
package member

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// Role is what a member may do beyond writing. The names are those of the
// session tokens (package auth). Callers cannot invent roles: ParseRole is
// the only way in from outside.
type Role struct{ s string }

var (
	// RoleMember is every registered person.
	RoleMember = Role{"member"}
	// RoleEditor is held while at least one affiliation is verified.
	RoleEditor        = Role{"editor"}
	RoleCoordinator   = Role{"coordinator"}
	RoleModerator     = Role{"moderator"}
	RoleAdministrator = Role{"administrator"}
)

// Roles lists every role, in the order of the API's enum.
var Roles = []Role{RoleMember, RoleEditor, RoleCoordinator, RoleModerator, RoleAdministrator}

func (r Role) String() string { return r.s }

// IsZero reports an unset role.
func (r Role) IsZero() bool { return r.s == "" }

// ParseRole returns the role named s, or false.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if r.s == s {
			return r, true
		}
	}
	return Role{}, false
}

// Grantable reports whether an administrator grants r; member and editor
// follow from registration and verified affiliations.
func (r Role) Grantable() bool { return r != RoleMember && r != RoleEditor && !r.IsZero() }

// AffiliationStatus is where a request to speak for an organisation is.
type AffiliationStatus struct{ s string }

var (
	AffiliationPending  = AffiliationStatus{"pending"}
	AffiliationVerified = AffiliationStatus{"verified"}
	AffiliationRefused  = AffiliationStatus{"refused"}
)

func (s AffiliationStatus) String() string { return s.s }

// ParseAffiliationStatus returns the status named s, or false.
func ParseAffiliationStatus(s string) (AffiliationStatus, bool) {
	for _, st := range []AffiliationStatus{AffiliationPending, AffiliationVerified, AffiliationRefused} {
		if st.s == s {
			return st, true
		}
	}
	return AffiliationStatus{}, false
}

// Affiliation is a member's claim to speak for an organisation.
type Affiliation struct {
	OrganizationID string
	Status         AffiliationStatus
	RequestedAt    time.Time
	DecidedAt      time.Time
	DecidedBy      string
	Reason         string
}

// MaxAffiliations bounds the organisations one member may ask for.
const MaxAffiliations = 20

// Profile is what a member writes about themself; all of it is public.
type Profile struct {
	DisplayName string
	// OrganizationID is the organisation named at sign-up, when it is known
	// to the catalog; OrganizationName is its name as the member wrote it.
	OrganizationID   string
	OrganizationName string
	// RoleTitle is the job, e.g. "Project manager", "Funzionario", "Docente".
	RoleTitle string
}

// Validate checks every field and reports all problems at once.
func (p Profile) Validate() error {
	var v apperr.Violations
	p.validateInto(&v)
	return v.Err()
}

func (p Profile) validateInto(v *apperr.Violations) {
	validate.Line(v, "display_name", p.DisplayName, true, 80)
	if n := utf8.RuneCountInString(strings.TrimSpace(p.DisplayName)); n > 0 && n < 2 {
		v.Add("display_name", "must be at least 2 characters")
	}
	validate.ID(v, "organization_id", p.OrganizationID, false)
	validate.Line(v, "organization_name", p.OrganizationName, false, 200)
	validate.Line(v, "role_title", p.RoleTitle, false, 120)
}

func (p Profile) normalise() Profile {
	p.DisplayName = strings.TrimSpace(p.DisplayName)
	p.OrganizationName = strings.TrimSpace(p.OrganizationName)
	p.RoleTitle = strings.TrimSpace(p.RoleTitle)
	return p
}

// Member is the aggregate.
type Member struct {
	ID string
	Profile
	// Email is private: shown to the member and administrators only, and
	// never put in an event. Stored normalised (see NormalizeEmail).
	Email string
	// PasswordHash is the argon2id hash in PHC string form.
	PasswordHash string
	// Granted are the roles an administrator gave, besides RoleMember.
	Granted []Role
	// Grants record who gave each of them and when, oldest first.
	Grants       []RoleGrant
	Affiliations []Affiliation
	JoinedAt     time.Time
	LastLoginAt  time.Time
	// Version increases with every write.
	Version int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

// Joined is published when a member registers.
const Joined EventType = "discussion.member.joined"

// Change is a domain event not yet published.
type Change struct {
	Type  EventType
	Actor string
	At    time.Time
}

// Password rules. The upper bound keeps a request from making the server
// hash megabytes.
const (
	MinPasswordLength = 12
	MaxPasswordBytes  = 1024
)

// ValidatePassword checks a new password.
func ValidatePassword(v *apperr.Violations, field, password string) {
	switch {
	case password == "":
		v.Add(field, "is required")
	case len(password) > MaxPasswordBytes:
		v.Addf(field, "must be at most %d bytes", MaxPasswordBytes)
	case utf8.RuneCountInString(password) < MinPasswordLength:
		v.Addf(field, "must be at least %d characters", MinPasswordLength)
	case strings.TrimSpace(password) == "":
		v.Add(field, "must not be blank")
	}
}

// NormalizeEmail is the form an address is stored and looked up in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ValidateRegistration checks what a person signs up with, reporting every
// problem at once; email must be normalised. Call it before hashing.
func ValidateRegistration(p Profile, email, password string) error {
	var v apperr.Violations
	p.normalise().validateInto(&v)
	validate.Email(&v, "email", email)
	ValidatePassword(&v, "password", password)
	return v.Err()
}

// New registers a member; email must be normalised and passwordHash made
// from a password that passed ValidatePassword.
func New(id string, p Profile, email, passwordHash string, now time.Time) (*Member, error) {
	p = p.normalise()
	var v apperr.Violations
	p.validateInto(&v)
	validate.Email(&v, "email", email)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if passwordHash == "" {
		return nil, fmt.Errorf("new member %s: no password hash", id)
	}
	m := &Member{ID: id, Profile: p, Email: email, PasswordHash: passwordHash, JoinedAt: now}
	m.record(Joined, id, now)
	return m, nil
}

// UpdateProfile replaces the profile after validating it.
func (m *Member) UpdateProfile(p Profile) error {
	p = p.normalise()
	if err := p.Validate(); err != nil {
		return err
	}
	m.Profile = p
	return nil
}

// RecordLogin notes a successful log-in; a non-empty rehash replaces the
// password hash (made with stronger parameters than the stored one).
func (m *Member) RecordLogin(now time.Time, rehash string) {
	m.LastLoginAt = now
	if rehash != "" {
		m.PasswordHash = rehash
	}
}

// RoleGrant records a role given: by whom (the actor, see auth.Caller.Actor:
// an administrator's member id, or "system:bootstrap" for the first
// administrator of an installation) and when.
type RoleGrant struct {
	Role Role
	By   string
	At   time.Time
}

// Grant adds roles, recording by and at for each one the member did not
// hold; granting a role the member holds changes nothing.
func (m *Member) Grant(by string, at time.Time, roles ...Role) error {
	for _, r := range roles {
		if !r.Grantable() {
			return apperr.Invalid("roles", fmt.Sprintf("%q is not granted: every member has it, or it follows from a verified affiliation", r))
		}
	}
	if by == "" {
		return fmt.Errorf("grant roles to member %s: nobody named as granting them", m.ID)
	}
	for _, r := range roles {
		if !slices.Contains(m.Granted, r) {
			m.Granted = append(m.Granted, r)
			m.Grants = append(m.Grants, RoleGrant{Role: r, By: by, At: at})
		}
	}
	return nil
}

// Roles are the roles the member holds now: member, the granted ones, and
// editor while an affiliation is verified; in the API's order.
func (m *Member) Roles() []Role {
	var out []Role
	for _, r := range Roles {
		switch {
		case r == RoleMember,
			r == RoleEditor && len(m.VerifiedOrganizations()) > 0,
			slices.Contains(m.Granted, r):
			out = append(out, r)
		}
	}
	return out
}

// HasRole reports whether the member holds r now.
func (m *Member) HasRole(r Role) bool { return slices.Contains(m.Roles(), r) }

// VerifiedOrganizations are the organisations the member may speak for.
func (m *Member) VerifiedOrganizations() []string {
	var out []string
	for _, a := range m.Affiliations {
		if a.Status == AffiliationVerified {
			out = append(out, a.OrganizationID)
		}
	}
	return out
}

func (m *Member) affiliation(orgID string) *Affiliation {
	for i := range m.Affiliations {
		if m.Affiliations[i].OrganizationID == orgID {
			return &m.Affiliations[i]
		}
	}
	return nil
}

// RequestAffiliation asks to speak for an organisation. Asking again after a
// refusal asks anew; asking while pending or verified is AlreadyExists.
func (m *Member) RequestAffiliation(orgID string, now time.Time) error {
	var v apperr.Violations
	validate.ID(&v, "organization_id", orgID, true)
	if err := v.Err(); err != nil {
		return err
	}
	if a := m.affiliation(orgID); a != nil {
		if a.Status != AffiliationRefused {
			return apperr.AlreadyExists("an affiliation to %s is already %s", orgID, a.Status).WithReason(apperr.ReasonAffiliationExists)
		}
		*a = Affiliation{OrganizationID: orgID, Status: AffiliationPending, RequestedAt: now}
		return nil
	}
	if len(m.Affiliations) >= MaxAffiliations {
		return apperr.FailedPrecondition("a member may ask for at most %d affiliations", MaxAffiliations).WithReason(apperr.ReasonLimitReached)
	}
	m.Affiliations = append(m.Affiliations, Affiliation{OrganizationID: orgID, Status: AffiliationPending, RequestedAt: now})
	return nil
}

// DecideAffiliation verifies or refuses a pending affiliation; a verified
// one may be refused later (revoked). A refusal needs a reason.
func (m *Member) DecideAffiliation(orgID string, verify bool, by, reason string, now time.Time) error {
	a := m.affiliation(orgID)
	if a == nil {
		return apperr.NotFound("member %s has not asked to speak for %s", m.ID, orgID).WithReason(apperr.ReasonAffiliationNotFound)
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, !verify, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	switch {
	case verify && a.Status != AffiliationPending:
		return apperr.FailedPrecondition("the affiliation to %s is %s: only a pending one can be verified", orgID, a.Status)
	case !verify && a.Status == AffiliationRefused:
		return apperr.FailedPrecondition("the affiliation to %s is already refused", orgID)
	}
	a.Status = AffiliationRefused
	if verify {
		a.Status = AffiliationVerified
	}
	a.DecidedAt, a.DecidedBy, a.Reason = now, by, strings.TrimSpace(reason)
	return nil
}

// Public is the member as other members see it: no e-mail, no password
// hash, and only the verified affiliations.
func (m *Member) Public() *Member {
	c := m.clone()
	c.Email, c.PasswordHash = "", ""
	c.Affiliations = nil
	for _, a := range m.Affiliations {
		if a.Status == AffiliationVerified {
			c.Affiliations = append(c.Affiliations, Affiliation{OrganizationID: a.OrganizationID, Status: a.Status, RequestedAt: a.RequestedAt, DecidedAt: a.DecidedAt})
		}
	}
	return c
}

// Private is the member as they and administrators see it: everything but
// the password hash.
func (m *Member) Private() *Member {
	c := m.clone()
	c.PasswordHash = ""
	return c
}

func (m *Member) clone() *Member {
	c := *m
	c.Granted = slices.Clone(m.Granted)
	c.Grants = slices.Clone(m.Grants)
	c.Affiliations = slices.Clone(m.Affiliations)
	c.changes = nil
	return &c
}

func (m *Member) record(t EventType, actor string, at time.Time) {
	m.changes = append(m.changes, Change{Type: t, Actor: actor, At: at})
}

// Changes returns and forgets the events recorded since the last call.
func (m *Member) Changes() []Change {
	c := m.changes
	m.changes = nil
	return c
}

// SortKey orders members newest first by joining, then id.
func (m *Member) SortKey() string {
	return m.JoinedAt.UTC().Format("20060102T150405.000000000") + "\x00" + m.ID
}

// ListHash identifies the (unfiltered) member list in page tokens.
var ListHash = paging.FilterHash("member")

// ErrNotFound is the NotFound error for a member id.
func ErrNotFound(id string) error {
	return apperr.NotFound("member %q not found", id).WithReason(apperr.ReasonMemberNotFound)
}

// ErrEmailTaken is the AlreadyExists error of a second registration.
func ErrEmailTaken() error {
	return apperr.AlreadyExists("this e-mail address is already registered: log in, or register with another one").WithReason(apperr.ReasonEmailTaken)
}

// Repository stores members.
type Repository interface {
	// Create stores a new member; AlreadyExists if the id or the e-mail is taken.
	Create(ctx context.Context, m *Member) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Member, error)
	// GetByEmail finds a member by normalised e-mail; NotFound if none.
	GetByEmail(ctx context.Context, email string) (*Member, error)
	// Update loads, applies fn, and saves atomically; fn may run more than once.
	Update(ctx context.Context, id string, fn func(m *Member) error) (*Member, error)
	// List returns up to limit members after the cursor, newest first.
	List(ctx context.Context, after *paging.Cursor, limit int) ([]*Member, error)
}
