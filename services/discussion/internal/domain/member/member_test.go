package member

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var t0 = time.Date(2018, 4, 16, 9, 0, 0, 0, time.UTC)

func violations(t *testing.T, err error) map[string]bool {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind != apperr.KindInvalidArgument {
		t.Fatalf("want InvalidArgument, got %v", err)
	}
	fields := map[string]bool{}
	for _, v := range e.Violations {
		fields[v.Field] = true
	}
	return fields
}

func newMember(t *testing.T) *Member {
	t.Helper()
	m, err := New("m1", Profile{DisplayName: " Laura Ferri ", OrganizationName: "Comune di Pordenone", RoleTitle: "Project manager"}, "laura.ferri@example.it", "$argon2id$…", t0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRegistrationReportsEveryProblem(t *testing.T) {
	err := ValidateRegistration(Profile{DisplayName: "x", OrganizationID: "not an id!", RoleTitle: strings.Repeat("r", 121)}, "not-an-address", "short")
	fields := violations(t, err)
	for _, f := range []string{"display_name", "organization_id", "role_title", "email", "password"} {
		if !fields[f] {
			t.Errorf("no violation for %s: %v", f, err)
		}
	}
	if err := ValidateRegistration(Profile{DisplayName: "Laura Ferri"}, "laura@example.it", "una password lunga"); err != nil {
		t.Fatal(err)
	}
	if NormalizeEmail("  Laura.Ferri@Example.IT ") != "laura.ferri@example.it" {
		t.Error("e-mail is not normalised")
	}
}

func TestNewRecordsJoinedAndTrims(t *testing.T) {
	m := newMember(t)
	if m.DisplayName != "Laura Ferri" || !m.JoinedAt.Equal(t0) {
		t.Fatalf("member = %+v", m)
	}
	if c := m.Changes(); len(c) != 1 || c[0].Type != Joined {
		t.Fatalf("changes = %v", c)
	}
	if slices.Equal(m.Roles(), []Role{RoleMember}) == false {
		t.Fatalf("a new member's roles = %v", m.Roles())
	}
}

var admin = Actor{ID: "admin", Name: "Amministratrice"}

func TestAffiliationLife(t *testing.T) {
	m := newMember(t)
	if err := m.RequestAffiliation("org-pordenone", t0); err != nil {
		t.Fatal(err)
	}
	if err := m.RequestAffiliation("org-pordenone", t0); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("asking twice: %v", err)
	}
	if len(m.VerifiedOrganizations()) != 0 || m.HasRole(RoleEditor) {
		t.Fatal("a pending affiliation counts as verified")
	}
	if err := m.DecideAffiliation("org-pordenone", false, admin, "", t0); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("refusal without a reason: %v", err)
	}
	if err := m.DecideAffiliation("org-other", true, admin, "", t0); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("deciding one never asked for: %v", err)
	}
	if err := m.DecideAffiliation("org-pordenone", true, admin, "", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.VerifiedOrganizations(), []string{"org-pordenone"}) || !m.HasRole(RoleEditor) {
		t.Fatalf("verified: orgs %v roles %v", m.VerifiedOrganizations(), m.Roles())
	}
	if err := m.DecideAffiliation("org-pordenone", true, admin, "", t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("verifying twice: %v", err)
	}
	// Revoked, then asked for again.
	if err := m.DecideAffiliation("org-pordenone", false, admin, "ha lasciato l'ente", t0); err != nil {
		t.Fatal(err)
	}
	if m.HasRole(RoleEditor) {
		t.Fatal("editor after the only affiliation was refused")
	}
	if err := m.RequestAffiliation("org-pordenone", t0); err != nil || m.Affiliations[0].Status != AffiliationPending {
		t.Fatalf("asking again after a refusal: %v %+v", err, m.Affiliations)
	}
}

func TestGrantAndViews(t *testing.T) {
	m := newMember(t)
	admin1, admin2 := Actor{"admin-1", "Anna"}, Actor{"admin-2", "Bruno"}
	if err := m.Grant(admin1, t0, "", RoleEditor); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("granting editor: %v", err)
	}
	if err := m.Grant(admin1, t0, "", RoleModerator, RoleModerator, RoleAdministrator); err != nil {
		t.Fatal(err)
	}
	if err := m.Grant(admin2, t0.Add(time.Hour), "coordina il programma", RoleAdministrator, RoleCoordinator); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Roles(), []Role{RoleMember, RoleCoordinator, RoleModerator, RoleAdministrator}) {
		t.Fatalf("roles = %v", m.Roles())
	}
	want := []Decision{
		{Kind: KindRoleGranted, Role: RoleModerator, By: admin1, At: t0}, {Kind: KindRoleGranted, Role: RoleAdministrator, By: admin1, At: t0},
		{Kind: KindRoleGranted, Role: RoleCoordinator, By: admin2, At: t0.Add(time.Hour), Reason: "coordina il programma"},
	}
	if !slices.Equal(m.Decisions, want) {
		t.Fatalf("decisions recorded = %+v, want %+v", m.Decisions, want)
	}
	if err := m.Grant(Actor{}, t0, "", RoleModerator); err == nil {
		t.Fatal("a grant by nobody was accepted")
	}
	_ = m.RequestAffiliation("org-a", t0)
	pub := m.Public()
	if pub.Email != "" || pub.PasswordHash != "" || len(pub.Affiliations) != 0 {
		t.Fatalf("public view shows private data: %+v", pub)
	}
	priv := m.Private()
	if priv.Email == "" || priv.PasswordHash != "" || len(priv.Affiliations) != 1 {
		t.Fatalf("private view: %+v", priv)
	}
	if m.Email == "" || m.PasswordHash == "" {
		t.Fatal("a view changed the member")
	}
}

func TestPasswordRules(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                        false,
		"corta":                   false,
		"            ":            false,
		"dodici caratteri":        true,
		"àèìòùàèìòùàè":            true,
		strings.Repeat("x", 1025): false,
	} {
		var v apperr.Violations
		ValidatePassword(&v, "password", pw)
		if (v.Err() == nil) != ok {
			t.Errorf("password %q: %v", pw, v.Err())
		}
	}
}

func TestRevokeRecordsAndGuards(t *testing.T) {
	m := newMember(t)
	admin1 := Actor{"admin-1", "Anna"}
	if err := m.Grant(admin1, t0, "", RoleModerator, RoleCoordinator); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Revoke(admin1, t0, "", RoleModerator); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("revoking without a reason: %v", err)
	}
	if _, err := m.Revoke(admin1, t0, "motivo", RoleEditor); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("revoking editor: %v", err)
	}
	changed, err := m.Revoke(admin1, t0.Add(time.Hour), "non modera più", RoleModerator, RoleAdministrator)
	if err != nil || !changed || m.HasRole(RoleModerator) || !m.HasRole(RoleCoordinator) {
		t.Fatalf("revoke: %v %v roles %v", changed, err, m.Roles())
	}
	if changed, err := m.Revoke(admin1, t0, "ancora", RoleModerator); err != nil || changed {
		t.Fatalf("revoking a role not held: %v %v", changed, err)
	}
	last := m.NewestDecisions()[0]
	if last.Kind != KindRoleRevoked || last.Role != RoleModerator || last.By != admin1 || last.Reason != "non modera più" || len(m.Decisions) != 3 {
		t.Fatalf("log: %+v", m.NewestDecisions())
	}
	self := Actor{ID: m.ID, Name: m.DisplayName}
	_ = m.Grant(admin1, t0, "", RoleAdministrator)
	if _, err := m.Revoke(self, t0, "lascio", RoleAdministrator); apperr.ReasonOf(err) != apperr.ReasonOwnRoleRevoke {
		t.Fatalf("revoking one's own administrator role: %v", err)
	}
	for i := 0; i < MaxDecisions+10; i++ {
		_ = m.DecideAffiliation("org-x", false, admin1, "no", t0)
		_ = m.RequestAffiliation("org-x", t0)
	}
	if len(m.Decisions) != MaxDecisions {
		t.Fatalf("%d decisions kept, want %d", len(m.Decisions), MaxDecisions)
	}
}

// A decided affiliation is an event, so that the member is told.
func TestDecidingAnAffiliationRecordsAnEvent(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	m, err := New("m1", Profile{DisplayName: "Anna Rossi"}, "anna@example.it", "hash", now)
	if err != nil {
		t.Fatal(err)
	}
	m.Changes()
	if err := m.RequestAffiliation("org-a", now); err != nil {
		t.Fatal(err)
	}
	if err := m.DecideAffiliation("org-a", true, Actor{ID: "admin"}, "", now); err != nil {
		t.Fatal(err)
	}
	got := m.Changes()
	if len(got) != 1 || got[0].Type != AffiliationDecided || got[0].OrganizationID != "org-a" || !got[0].Verified || got[0].Actor != "admin" {
		t.Fatalf("changes %+v", got)
	}
}
