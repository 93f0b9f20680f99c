package app_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/adapters"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// bootstrapWorld is an application with the bootstrap claim in memory.
func bootstrapWorld(t *testing.T) (app.Application, *fakePasswords, *time.Time) {
	t.Helper()
	clock := t0
	passwords := &fakePasswords{params: "v1|"}
	members := adapters.NewMemberMemoryRepository()
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := auth.NewIssuer(key, 15*time.Minute)
	a := app.New(app.Deps{
		Members: members, Logins: adapters.NewLoginMemoryRepository(), Threads: adapters.NewThreadMemoryRepository(),
		Posts: adapters.NewPostMemoryRepository(), Stories: adapters.NewStoryMemoryRepository(), Sessions: adapters.NewSessionMemoryRepository(),
		Bootstrap: adapters.NewBootstrapMemoryStore(members), Passwords: passwords, Tokens: issuer,
		Now: func() time.Time { return clock },
	})
	return a, passwords, &clock
}

func password(pw string) func() (string, error) { return func() (string, error) { return pw, nil } }

var adaProfile = member.Profile{DisplayName: "Ada Operatrice", OrganizationName: "Gemella", RoleTitle: "Amministratrice"}

func TestBootstrapMakesTheFirstAdministratorOnce(t *testing.T) {
	a, passwords, clock := bootstrapWorld(t)
	ctx := context.Background()
	res, err := a.BootstrapAdministrator.Handle(ctx, app.BootstrapAdministrator{Email: " Ada@Example.it ", Profile: adaProfile, Password: password(goodPassword)})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Member
	if !res.Registered || m.Email != "ada@example.it" || !m.HasRole(member.RoleAdministrator) || m.PasswordHash != "" {
		t.Fatalf("bootstrap made %+v (registered %v)", m, res.Registered)
	}
	if want := []member.Decision{{Kind: member.KindRoleGranted, Role: member.RoleAdministrator, By: member.Actor{ID: "system:bootstrap"}, At: t0}}; !slices.Equal(m.Decisions, want) {
		t.Fatalf("the grant is recorded as %+v, want %+v", m.Decisions, want)
	}
	if passwords.hashes != 1 {
		t.Fatalf("%d hashes, want the new member's one", passwords.hashes)
	}
	s, err := a.CreateSession.Handle(ctx, app.CreateSession{Email: "ada@example.it", Password: goodPassword})
	if err != nil || !s.Member.HasRole(member.RoleAdministrator) {
		t.Fatalf("the first administrator logs in: %+v %v", s, err)
	}

	*clock = clock.Add(time.Hour)
	for _, email := range []string{"ada@example.it", "other@example.it"} {
		_, err := a.BootstrapAdministrator.Handle(ctx, app.BootstrapAdministrator{Email: email, Profile: adaProfile, Password: password(goodPassword)})
		kindIs(t, "a second bootstrap for "+email, err, apperr.KindFailedPrecondition)
		if !strings.Contains(err.Error(), "an administrator exists already") {
			t.Errorf("the refusal says %q", err)
		}
	}
}

func TestBootstrapPromotesARegisteredMemberWithoutAskingAPassword(t *testing.T) {
	a, _, _ := bootstrapWorld(t)
	ctx := context.Background()
	registered, err := a.RegisterMember.Handle(ctx, app.RegisterMember{Profile: adaProfile, Email: "ada@example.it", Password: goodPassword, PrivacyConsent: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.BootstrapAdministrator.Handle(ctx, app.BootstrapAdministrator{Email: "ada@example.it",
		Password: func() (string, error) { return "", errors.New("the password was asked for") }})
	if err != nil || res.Registered || res.Member.ID != registered.ID || !res.Member.HasRole(member.RoleAdministrator) {
		t.Fatalf("promotion: %+v %v", res, err)
	}
}

func TestBootstrapRefusesBadInputAndAnotherAddressWhileClaimed(t *testing.T) {
	a, _, _ := bootstrapWorld(t)
	ctx := context.Background()
	_, err := a.BootstrapAdministrator.Handle(ctx, app.BootstrapAdministrator{Email: "not an address", Password: password(goodPassword)})
	kindIs(t, "a bad address", err, apperr.KindInvalidArgument)
	_, err = a.BootstrapAdministrator.Handle(ctx, app.BootstrapAdministrator{Email: "ada@example.it", Profile: member.Profile{}, Password: password("short")})
	kindIs(t, "no name and a short password", err, apperr.KindInvalidArgument)
	for _, field := range []string{"display_name", "password"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("the refusal %q does not name %s", err, field)
		}
	}
	// The refused run above claimed the bootstrap for ada@: another
	// address is refused, naming it; ada@ may try again.
	_, err = a.BootstrapAdministrator.Handle(ctx, app.BootstrapAdministrator{Email: "bob@example.it", Profile: adaProfile, Password: password(goodPassword)})
	kindIs(t, "another address while ada@ holds the claim", err, apperr.KindFailedPrecondition)
	if !strings.Contains(err.Error(), "ada@example.it") {
		t.Errorf("the refusal %q does not name the claim's address", err)
	}
	if _, err := a.BootstrapAdministrator.Handle(ctx, app.BootstrapAdministrator{Email: "ada@example.it", Profile: adaProfile, Password: password(goodPassword)}); err != nil {
		t.Fatalf("ada@ again: %v", err)
	}
}
