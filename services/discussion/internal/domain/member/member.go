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
	pvalidate "github.com/gemella/gemella/services/platform/validate"
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
	// Decisions record every role granted or revoked and every affiliation
	// verified or refused: who, when, what and why, oldest first; the
	// newest MaxDecisions are kept.
	Decisions    []Decision
	Affiliations []Affiliation
	JoinedAt     time.Time
	LastLoginAt  time.Time
	// Blocked members cannot log in; BlockedAt is when an administrator
	// blocked them (the decision log says who and why).
	Blocked   bool
	BlockedAt time.Time
	// EmailUnverified marks a member who signed up and has not yet
	// followed the link mailed to their address; members registered
	// before addresses were verified, and the first administrator, are
	// not asked to. EmailVerifiedAt is when the link was followed.
	EmailUnverified bool
	EmailVerifiedAt time.Time
	// PasswordChangedAt is when the password was last set by a reset;
	// zero when never.
	PasswordChangedAt time.Time
	// PrivacyConsentAt is when the member accepted the privacy notice at
	// sign-up; zero for members registered before it was asked (and the
	// first administrator, made by the operator's command).
	PrivacyConsentAt time.Time
	// Version increases with every write.
	Version int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

// Joined is published when a member registers; AffiliationDecided when
// an administrator verifies or refuses an affiliation (the member is
// told).
const (
	Joined             EventType = "discussion.member.joined"
	AffiliationDecided EventType = "discussion.member.affiliation_decided"
)

// Change is a domain event not yet published.
type Change struct {
	Type  EventType
	Actor string
	At    time.Time
	// OrganizationID and Verified say what AffiliationDecided decided.
	OrganizationID string
	Verified       bool
}

// Password rules, shared with the portal (platform/validate).
const (
	MinPasswordLength = pvalidate.MinPasswordLength
	MaxPasswordBytes  = pvalidate.MaxPasswordBytes
)

// ValidatePassword checks a new password (validate.Password).
func ValidatePassword(v *apperr.Violations, field, password string) {
	pvalidate.Password(v, field, password)
}

// NormalizeEmail is the form an address is stored and looked up in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ValidateRegistration checks what a person signs up with, reporting every
// problem at once; email must be normalised. Call it before hashing.
func ValidateRegistration(p Profile, email, password string) error {
	return validateRegistration(p, email, password, true)
}

// ValidateSignUp is ValidateRegistration for a person signing up, who
// must also accept the privacy notice.
func ValidateSignUp(p Profile, email, password string, privacyConsent bool) error {
	return validateRegistration(p, email, password, privacyConsent)
}

func validateRegistration(p Profile, email, password string, privacyConsent bool) error {
	var v apperr.Violations
	p.normalise().validateInto(&v)
	validate.Email(&v, "email", email)
	ValidatePassword(&v, "password", password)
	if !privacyConsent {
		v.Add("privacy_consent", "must be accepted to register")
	}
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

// EmailVerified reports whether the member's address is known to reach
// them.
func (m *Member) EmailVerified() bool { return !m.EmailUnverified }

// VerifyEmail records that the member followed the link mailed to email;
// a link mailed to an address the member no longer has verifies nothing.
// It reports whether anything changed.
func (m *Member) VerifyEmail(email string, now time.Time) bool {
	if email != m.Email || !m.EmailUnverified {
		return false
	}
	m.EmailUnverified, m.EmailVerifiedAt = false, now
	return true
}

// SetPassword replaces the password hash, made from a password that passed
// ValidatePassword. Following a reset link mailed to the address also
// proves the address reaches the member.
func (m *Member) SetPassword(hash string, now time.Time) error {
	if hash == "" {
		return fmt.Errorf("set password of member %s: no hash", m.ID)
	}
	m.PasswordHash, m.PasswordChangedAt = hash, now
	if m.EmailUnverified {
		m.EmailUnverified, m.EmailVerifiedAt = false, now
	}
	return nil
}

// ErrEmailNotVerified refuses a write that this installation lets only
// members with a verified address do.
func ErrEmailNotVerified() error {
	return apperr.PermissionDenied("verify your e-mail address first: follow the link we mailed you, or ask for a new one from your profile").WithReason(apperr.ReasonEmailNotVerified)
}

// Actor is who decides: a member's id and display name at the time, or
// a system actor (see auth.Caller.Actor: "system:bootstrap" for the first
// administrator of an installation) without a name.
type Actor struct {
	ID, Name string
}

// DecisionKind is what a Decision did.
type DecisionKind string

const (
	KindRoleGranted         DecisionKind = "role_granted"
	KindRoleRevoked         DecisionKind = "role_revoked"
	KindAffiliationVerified DecisionKind = "affiliation_verified"
	KindAffiliationRefused  DecisionKind = "affiliation_refused"
	KindBlocked             DecisionKind = "blocked"
	KindUnblocked           DecisionKind = "unblocked"
)

// Decision is one entry of a member's decision log.
type Decision struct {
	Kind DecisionKind
	// Role for a role's grant or revocation; OrganizationID for an
	// affiliation's decision.
	Role           Role
	OrganizationID string
	By             Actor
	At             time.Time
	Reason         string
}

// MaxDecisions bounds the decision log kept in the member: the oldest
// entries beyond it are dropped, so that the document stays small.
const MaxDecisions = 200

func (m *Member) decide(d Decision) {
	m.Decisions = append(m.Decisions, d)
	if n := len(m.Decisions); n > MaxDecisions {
		m.Decisions = slices.Clone(m.Decisions[n-MaxDecisions:])
	}
}

// validateRoles refuses the roles no administrator grants or revokes.
func validateRoles(roles []Role, revoke bool) error {
	for _, r := range roles {
		switch {
		case r.Grantable():
		case revoke:
			return apperr.Invalid("roles", fmt.Sprintf("%q is not revoked: every member has it, or it follows from a verified affiliation", r))
		default:
			return apperr.Invalid("roles", fmt.Sprintf("%q is not granted: every member has it, or it follows from a verified affiliation", r))
		}
	}
	return nil
}

// Grant adds roles, recording in the decision log who gave each role the
// member did not hold, when and why (reason is optional); granting a role
// the member holds changes nothing.
func (m *Member) Grant(by Actor, at time.Time, reason string, roles ...Role) error {
	if err := validateRoles(roles, false); err != nil {
		return err
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, false, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	if by.ID == "" {
		return fmt.Errorf("grant roles to member %s: nobody named as granting them", m.ID)
	}
	for _, r := range roles {
		if !slices.Contains(m.Granted, r) {
			m.Granted = append(m.Granted, r)
			m.decide(Decision{Kind: KindRoleGranted, Role: r, By: by, At: at, Reason: strings.TrimSpace(reason)})
		}
	}
	return nil
}

// Revoke takes roles away with a reason, recording who, when and why for
// each role the member held; it reports whether any was held. An
// administrator cannot revoke their own administrator role, so that an
// installation is never left without one by mistake.
func (m *Member) Revoke(by Actor, at time.Time, reason string, roles ...Role) (bool, error) {
	if err := validateRoles(roles, true); err != nil {
		return false, err
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, true, 1000)
	if err := v.Err(); err != nil {
		return false, err
	}
	if by.ID == "" {
		return false, fmt.Errorf("revoke roles of member %s: nobody named as revoking them", m.ID)
	}
	if by.ID == m.ID && slices.Contains(roles, RoleAdministrator) {
		return false, apperr.FailedPrecondition("you cannot revoke your own administrator role: ask another administrator").WithReason(apperr.ReasonOwnRoleRevoke)
	}
	changed := false
	for _, r := range roles {
		if i := slices.Index(m.Granted, r); i >= 0 {
			m.Granted = slices.Delete(m.Granted, i, i+1)
			m.decide(Decision{Kind: KindRoleRevoked, Role: r, By: by, At: at, Reason: strings.TrimSpace(reason)})
			changed = true
		}
	}
	return changed, nil
}

// Block stops the member from logging in, with a reason; it reports
// whether the member was not blocked yet. Nobody blocks themself.
func (m *Member) Block(by Actor, at time.Time, reason string) (bool, error) {
	var v apperr.Violations
	validate.Text(&v, "reason", reason, true, 1000)
	if err := v.Err(); err != nil {
		return false, err
	}
	if by.ID == m.ID {
		return false, apperr.FailedPrecondition("you cannot block yourself")
	}
	if m.Blocked {
		return false, nil
	}
	m.Blocked, m.BlockedAt = true, at
	m.decide(Decision{Kind: KindBlocked, By: by, At: at, Reason: strings.TrimSpace(reason)})
	return true, nil
}

// Unblock lets a blocked member log in again; the reason is optional.
// Unblocking a member who is not blocked changes nothing.
func (m *Member) Unblock(by Actor, at time.Time, reason string) error {
	var v apperr.Violations
	validate.Text(&v, "reason", reason, false, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	if !m.Blocked {
		return nil
	}
	m.Blocked, m.BlockedAt = false, time.Time{}
	m.decide(Decision{Kind: KindUnblocked, By: by, At: at, Reason: strings.TrimSpace(reason)})
	return nil
}

// ErrBlocked is the answer to a blocked member's log-in or refresh.
func ErrBlocked() error {
	return apperr.PermissionDenied("this account is blocked: write to the platform's administrators").WithReason(apperr.ReasonMemberBlocked)
}

// NewestDecisions are the decision log, newest first.
func (m *Member) NewestDecisions() []Decision {
	out := slices.Clone(m.Decisions)
	slices.Reverse(out)
	return out
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
// one may be refused later (revoked). A refusal needs a reason. The
// decision log records it.
func (m *Member) DecideAffiliation(orgID string, verify bool, by Actor, reason string, now time.Time) error {
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
	kind := KindAffiliationRefused
	a.Status = AffiliationRefused
	if verify {
		a.Status, kind = AffiliationVerified, KindAffiliationVerified
	}
	a.DecidedAt, a.DecidedBy, a.Reason = now, by.ID, strings.TrimSpace(reason)
	m.decide(Decision{Kind: kind, OrganizationID: orgID, By: by, At: now, Reason: a.Reason})
	m.changes = append(m.changes, Change{Type: AffiliationDecided, Actor: by.ID, At: now, OrganizationID: orgID, Verified: verify})
	return nil
}

// Public is the member as other members see it: no e-mail, no password
// hash, and only the verified affiliations.
func (m *Member) Public() *Member {
	c := m.clone()
	c.Email, c.PasswordHash = "", ""
	c.Decisions, c.PrivacyConsentAt = nil, time.Time{}
	c.Blocked, c.BlockedAt = false, time.Time{}
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
	c.Decisions = slices.Clone(m.Decisions)
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
	// ListPendingAffiliations returns up to limit members with a pending
	// affiliation after the cursor, oldest first, without password hashes.
	ListPendingAffiliations(ctx context.Context, after *paging.Cursor, limit int) ([]*Member, error)
}
