package demo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// The demo accounts: one per role, to try what each may do (README, "Demo
// accounts"). Only the devstack creates them; they all log in with
// AccountPassword.
//
// editor.toscana speaks for Regione Toscana and Comune di Firenze, the
// offering side of Tos.Ca.: one account can then edit the Tos.Ca. practice
// (both organisations own it), create co-owned practices, and act for the
// whole offering side of the twinning. editor.calabria speaks for Regione
// Calabria, on the receiving side, and reports its transfers' progress.
// candidate.vibo has asked to speak for Comune di Vibo Valentia and waits
// for an administrator's decision in the portal's /admin.

// AccountPassword is the password of every demo account.
const AccountPassword = "gemella-demo-2026"

// Account is a demo account.
type Account struct {
	Email       string
	DisplayName string
	RoleTitle   string
	// EditorOf are the organisations, by name, whose affiliation is verified.
	EditorOf []string
	// Requests are organisations, by name, the account has asked to speak
	// for and no administrator has decided yet: what the portal's /admin
	// shows waiting.
	Requests []string
	// Roles are granted by an administrator: coordinator, moderator, administrator.
	Roles []string
}

// Accounts lists the demo accounts.
var Accounts = []Account{
	{Email: "member@demo.gemella.test", DisplayName: "Demo Iscritta", RoleTitle: "Cittadina"},
	{Email: "editor.toscana@demo.gemella.test", DisplayName: "Demo Redattore Toscana", RoleTitle: "Funzionario",
		EditorOf: []string{"Regione Toscana", "Comune di Firenze"}},
	{Email: "editor.calabria@demo.gemella.test", DisplayName: "Demo Redattrice Calabria", RoleTitle: "Funzionaria",
		EditorOf: []string{"Regione Calabria"}},
	{Email: "candidate.vibo@demo.gemella.test", DisplayName: "Demo Candidatura Vibo Valentia", RoleTitle: "Funzionaria",
		Requests: []string{"Comune di Vibo Valentia"}},
	{Email: "coordinator@demo.gemella.test", DisplayName: "Demo Coordinatrice", RoleTitle: "Coordinatrice di programma", Roles: []string{"coordinator"}},
	{Email: "moderator@demo.gemella.test", DisplayName: "Demo Moderatore", RoleTitle: "Moderatore", Roles: []string{"moderator"}},
	{Email: "admin@demo.gemella.test", DisplayName: "Demo Amministratrice", RoleTitle: "Amministratrice", Roles: []string{"administrator"}},
}

// LoadAccounts registers the demo accounts through the community's API,
// verifies their affiliations and grants their roles. ctx must carry the
// token of an administrator (who decides affiliations and grants roles);
// the organisations come from the catalog by name, so Load runs first. It
// is idempotent: what an account has already is left as it is.
func LoadAccounts(ctx context.Context, d discussionv1.DiscussionServiceClient, cat catalogv1.CatalogServiceClient, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	orgs, err := organizationsByName(ctx, cat)
	if err != nil {
		return err
	}
	for _, a := range Accounts {
		if err := loadAccount(ctx, d, orgs, a); err != nil {
			return fmt.Errorf("demo account %s: %w", a.Email, err)
		}
	}
	// The password is in the README and the code, never in a log.
	logger.Info("demo accounts loaded", "accounts", len(Accounts))
	return nil
}

func loadAccount(ctx context.Context, d discussionv1.DiscussionServiceClient, orgs map[string]string, a Account) error {
	profile := &discussionv1.Member{DisplayName: a.DisplayName, Email: a.Email, RoleTitle: a.RoleTitle, OrganizationName: "Gemella (account dimostrativo)"}
	if len(a.EditorOf) > 0 {
		profile.OrganizationName = a.EditorOf[0]
		profile.OrganizationId = orgs[a.EditorOf[0]]
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	_, err := d.RegisterMember(withoutToken(callCtx), &discussionv1.RegisterMemberRequest{Member: profile, Password: AccountPassword, PrivacyConsent: true})
	cancel()
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("register: %w", err)
	}
	callCtx, cancel = context.WithTimeout(ctx, callTimeout)
	session, err := d.CreateSession(withoutToken(callCtx), &discussionv1.CreateSessionRequest{Email: a.Email, Password: AccountPassword})
	cancel()
	if err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	m := session.GetMember()
	own := metadata.AppendToOutgoingContext(withoutToken(ctx), "authorization", "Bearer "+session.GetToken())

	for _, name := range a.EditorOf {
		orgID := orgs[name]
		if orgID == "" {
			return fmt.Errorf("organisation %q is not in the catalog", name)
		}
		state := affiliationStatus(m, orgID)
		if state == discussionv1.AffiliationStatus_AFFILIATION_STATUS_VERIFIED {
			continue
		}
		if state != discussionv1.AffiliationStatus_AFFILIATION_STATUS_PENDING {
			callCtx, cancel := context.WithTimeout(own, callTimeout)
			_, err := d.RequestAffiliation(callCtx, &discussionv1.RequestAffiliationRequest{MemberId: m.GetId(), OrganizationId: orgID})
			cancel()
			if err != nil {
				return fmt.Errorf("ask to speak for %s: %w", name, err)
			}
		}
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := d.DecideAffiliation(callCtx, &discussionv1.DecideAffiliationRequest{
			MemberId: m.GetId(), OrganizationId: orgID, Verify: true, Reason: "Account dimostrativo del devstack",
		})
		cancel()
		if err != nil {
			return fmt.Errorf("verify the affiliation to %s: %w", name, err)
		}
	}

	for _, name := range a.Requests {
		orgID := orgs[name]
		if orgID == "" {
			return fmt.Errorf("organisation %q is not in the catalog", name)
		}
		switch affiliationStatus(m, orgID) {
		case discussionv1.AffiliationStatus_AFFILIATION_STATUS_UNSPECIFIED:
			callCtx, cancel := context.WithTimeout(own, callTimeout)
			_, err := d.RequestAffiliation(callCtx, &discussionv1.RequestAffiliationRequest{MemberId: m.GetId(), OrganizationId: orgID})
			cancel()
			if err != nil {
				return fmt.Errorf("ask to speak for %s: %w", name, err)
			}
		default:
			// Decided since, or still waiting: left as it is.
		}
	}

	var missing []discussionv1.Role
	for _, r := range a.Roles {
		role := discussionv1.Role(discussionv1.Role_value["ROLE_"+strings.ToUpper(r)])
		if role != discussionv1.Role_ROLE_UNSPECIFIED && !slices.Contains(m.GetRoles(), role) {
			missing = append(missing, role)
		}
	}
	if len(missing) > 0 {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := d.GrantRoles(callCtx, &discussionv1.GrantRolesRequest{MemberId: m.GetId(), Roles: missing})
		cancel()
		if err != nil {
			return fmt.Errorf("grant %v: %w", a.Roles, err)
		}
	}
	return nil
}

// affiliationStatus is the member's affiliation to orgID, or unspecified.
func affiliationStatus(m *discussionv1.Member, orgID string) discussionv1.AffiliationStatus {
	for _, af := range m.GetAffiliations() {
		if af.GetOrganizationId() == orgID {
			return af.GetStatus()
		}
	}
	return discussionv1.AffiliationStatus_AFFILIATION_STATUS_UNSPECIFIED
}

// withoutToken drops the administrator's token for calls made as the
// account itself (or as nobody).
func withoutToken(ctx context.Context) context.Context {
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok {
		return ctx
	}
	md = md.Copy()
	md.Delete("authorization")
	return metadata.NewOutgoingContext(ctx, md)
}

// organizationsByName pages through the catalog's organisations.
func organizationsByName(ctx context.Context, cat catalogv1.CatalogServiceClient) (map[string]string, error) {
	orgs := map[string]string{}
	for token := ""; ; {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		page, err := cat.ListOrganizations(callCtx, &catalogv1.ListOrganizationsRequest{PageSize: 100, PageToken: token})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", err)
		}
		for _, o := range page.GetOrganizations() {
			orgs[o.GetName()] = o.GetId()
		}
		if token = page.GetNextPageToken(); token == "" {
			return orgs, nil
		}
	}
}
