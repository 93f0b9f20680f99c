package app_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
)

// admins registers an administrator and a coordinator and logs them in.
func (w *world) admins(t *testing.T) (admin, coordinator auth.Caller) {
	t.Helper()
	ctx := context.Background()
	w.register(t, "Anna Amministratrice", "anna@example.it")
	w.register(t, "Carlo Coordinatore", "carlo@example.it")
	for email, role := range map[string]string{"anna@example.it": "administrator", "carlo@example.it": "coordinator"} {
		if _, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: email, Roles: []string{role}}); err != nil {
			t.Fatal(err)
		}
	}
	return w.login(t, "anna@example.it"), w.login(t, "carlo@example.it")
}

func TestRevokeRolesIsLoggedAndEndsSessions(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	admin, coordinator := w.admins(t)
	m := w.register(t, "Marta Moderatrice", "marta@example.it")
	if _, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: admin, MemberID: m.ID, Roles: []string{"moderator"}, Reason: "modera il forum"}); err != nil {
		t.Fatal(err)
	}
	first, second := w.login(t, "marta@example.it"), w.login(t, "marta@example.it")
	if !first.HasRole("moderator") {
		t.Fatal("the grant is not in the token")
	}
	_, err := w.app.RevokeRoles.Handle(ctx, app.RevokeRoles{Caller: coordinator, MemberID: m.ID, Roles: []string{"moderator"}, Reason: "x"})
	kindIs(t, "a coordinator revokes", err, apperr.KindPermissionDenied)
	_, err = w.app.RevokeRoles.Handle(ctx, app.RevokeRoles{Caller: admin, MemberID: m.ID, Roles: []string{"moderator"}})
	kindIs(t, "a revocation without a reason", err, apperr.KindInvalidArgument)

	w.revokeFails = true
	_, err = w.app.RevokeRoles.Handle(ctx, app.RevokeRoles{Caller: admin, MemberID: m.ID, Roles: []string{"moderator"}, Reason: "non modera più"})
	kindIs(t, "revocation while the other services cannot be told", err, apperr.KindUnavailable)
	w.revokeFails = false
	got, err := w.app.RevokeRoles.Handle(ctx, app.RevokeRoles{Caller: admin, MemberID: m.ID, Roles: []string{"moderator"}, Reason: "non modera più"})
	if err != nil || got.HasRole(member.RoleModerator) {
		t.Fatalf("revoke: %v %v", got, err)
	}
	slices.Sort(w.revoked)
	want := []string{first.SessionID, second.SessionID}
	slices.Sort(want)
	if !slices.Equal(w.revoked, want) {
		t.Fatalf("revoked sessions %v, want both of the member's %v", w.revoked, want)
	}
	_, err = w.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: first})
	kindIs(t, "refreshing a session the revocation ended", err, apperr.KindUnauthenticated)

	log := got.NewestDecisions()
	if len(log) != 2 || log[0].Kind != member.KindRoleRevoked || log[0].By.ID != admin.MemberID || log[0].By.Name != "Anna Amministratrice" ||
		log[0].Reason != "non modera più" || !log[0].At.Equal(t0) || log[1].Kind != member.KindRoleGranted || log[1].Reason != "modera il forum" {
		t.Fatalf("decision log: %+v", log)
	}
	// Coordinators read the log, not the e-mail; other members neither.
	seen, _ := w.app.GetMember.Handle(ctx, app.GetMember{Caller: coordinator, ID: m.ID})
	if len(seen.Decisions) != 2 || seen.Email != "" {
		t.Fatalf("coordinator's view: %+v", seen)
	}
	other := w.login(t, "carlo@example.it")
	other.Roles = []string{"member"}
	if seen, _ := w.app.GetMember.Handle(ctx, app.GetMember{Caller: other, ID: m.ID}); len(seen.Decisions) != 0 || !seen.PrivacyConsentAt.IsZero() {
		t.Fatalf("a member sees another's decisions: %+v", seen)
	}
	_, err = w.app.RevokeRoles.Handle(ctx, app.RevokeRoles{Caller: admin, MemberID: admin.MemberID, Roles: []string{"administrator"}, Reason: "lascio"})
	if apperr.ReasonOf(err) != apperr.ReasonOwnRoleRevoke {
		t.Fatalf("revoking one's own administrator role: %v", err)
	}
}

func TestAffiliationRequestsForAdministratorsAndCoordinators(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	admin, coordinator := w.admins(t)
	w.register(t, "Elena Editrice", "elena@example.it")
	elena := w.login(t, "elena@example.it")
	for _, org := range []string{"org-calabria", "org-vibo"} {
		if _, err := w.app.RequestAffiliation.Handle(ctx, app.RequestAffiliation{Caller: elena, OrganizationID: org}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := w.app.ListAffiliationRequests.Handle(ctx, app.ListAffiliationRequests{Caller: elena})
	kindIs(t, "a member lists the requests", err, apperr.KindPermissionDenied)
	page, err := w.app.ListAffiliationRequests.Handle(ctx, app.ListAffiliationRequests{Caller: admin, PageSize: 10})
	if err != nil || len(page.Items) != 2 || page.Items[0].Member.Email != "elena@example.it" || page.Items[1].Affiliation.OrganizationID != "org-vibo" {
		t.Fatalf("administrator's list: %+v %v", page, err)
	}
	page, _ = w.app.ListAffiliationRequests.Handle(ctx, app.ListAffiliationRequests{Caller: coordinator})
	if len(page.Items) != 2 || page.Items[0].Member.Email != "" {
		t.Fatalf("coordinator's list: %+v", page)
	}
	_, err = w.app.DecideAffiliation.Handle(ctx, app.DecideAffiliation{Caller: coordinator, MemberID: elena.MemberID, OrganizationID: "org-calabria", Verify: true})
	kindIs(t, "a coordinator decides", err, apperr.KindPermissionDenied)
	if _, err := w.app.DecideAffiliation.Handle(ctx, app.DecideAffiliation{Caller: admin, MemberID: elena.MemberID, OrganizationID: "org-calabria", Verify: true}); err != nil {
		t.Fatal(err)
	}
	if len(w.revoked) != 0 {
		t.Fatal("verifying an affiliation ended sessions")
	}
	page, _ = w.app.ListAffiliationRequests.Handle(ctx, app.ListAffiliationRequests{Caller: admin})
	if len(page.Items) != 1 || page.Items[0].Affiliation.OrganizationID != "org-vibo" {
		t.Fatalf("after a decision: %+v", page)
	}
	// Refusing a verified affiliation (revoking it) ends the sessions.
	m, err := w.app.DecideAffiliation.Handle(ctx, app.DecideAffiliation{Caller: admin, MemberID: elena.MemberID, OrganizationID: "org-calabria", Reason: "ha lasciato l'ente"})
	if err != nil || len(w.revoked) != 1 || w.revoked[0] != elena.SessionID {
		t.Fatalf("revoking a verified affiliation: %v, sessions revoked %v", err, w.revoked)
	}
	if d := m.NewestDecisions(); len(d) != 2 || d[0].Kind != member.KindAffiliationRefused || d[1].Kind != member.KindAffiliationVerified || d[0].By.Name != "Anna Amministratrice" {
		t.Fatalf("decisions: %+v", d)
	}
}

func TestModerationQueueLogAndDismiss(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var members []auth.Caller
	for i, name := range []string{"Autrice", "Uno", "Due", "Tre", "Moderatrice"} {
		email := "p" + string(rune('a'+i)) + "@example.it"
		w.register(t, name, email)
		if name == "Moderatrice" {
			_, _ = w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: email, Roles: []string{"moderator"}})
		}
		members = append(members, w.login(t, email))
	}
	author, mod := members[0], members[4]
	th, _ := w.app.CreateThread.Handle(ctx, app.CreateThread{Caller: author, Details: thread.Details{Scope: thread.General, Title: "Domanda"}})
	hidden, _ := w.app.AddPost.Handle(ctx, app.AddPost{Caller: author, ThreadID: th.ID, Body: "da nascondere"})
	reported, _ := w.app.AddPost.Handle(ctx, app.AddPost{Caller: author, ThreadID: th.ID, Body: "segnalato"})
	for _, r := range members[1:4] {
		if _, err := w.app.ReportPost.Handle(ctx, app.ReportPost{Caller: r, ID: reported.ID, Reason: "pubblicità"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: mod, ID: hidden.ID, Action: moderation.Hidden, Reason: "offensivo"}); err != nil {
		t.Fatal(err)
	}
	queue, _ := w.app.ListReportedPosts.Handle(ctx, app.ListReportedPosts{Caller: mod})
	if len(queue.Items) != 2 {
		t.Fatalf("queue: %d posts, want the hidden one and the one reports hid", len(queue.Items))
	}
	_, err := w.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: mod, ID: hidden.ID, Action: moderation.ReportsDismissed, Reason: "x"})
	kindIs(t, "dismissing the reports of a post a moderator hid", err, apperr.KindFailedPrecondition)
	_, err = w.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: author, ID: reported.ID, Action: moderation.ReportsDismissed, Reason: "x"})
	kindIs(t, "a member dismisses", err, apperr.KindPermissionDenied)
	w.advance(60e9)
	p, err := w.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: mod, ID: reported.ID, Action: moderation.ReportsDismissed, Reason: "segnalazioni infondate"})
	if err != nil || p.State != post.Visible {
		t.Fatalf("dismiss: %+v %v", p, err)
	}
	w.advance(60e9)
	if _, err := w.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: mod, ID: hidden.ID, Action: moderation.Restored, Reason: "ripensato"}); err != nil {
		t.Fatal(err)
	}
	if queue, _ := w.app.ListReportedPosts.Handle(ctx, app.ListReportedPosts{Caller: mod}); len(queue.Items) != 0 {
		t.Fatalf("queue after the decisions: %d posts", len(queue.Items))
	}
	_, err = w.app.ListModerationLog.Handle(ctx, app.ListModerationLog{Caller: author})
	kindIs(t, "a member reads the log", err, apperr.KindPermissionDenied)
	log, err := w.app.ListModerationLog.Handle(ctx, app.ListModerationLog{Caller: mod, PageSize: 3})
	if err != nil || len(log.Items) != 3 || log.NextPageToken == "" {
		t.Fatalf("log page: %+v %v", log, err)
	}
	rest, _ := w.app.ListModerationLog.Handle(ctx, app.ListModerationLog{Caller: mod, PageSize: 3, PageToken: log.NextPageToken})
	all := append(log.Items, rest.Items...)
	var actions []moderation.Action
	for _, e := range all {
		actions = append(actions, e.Action)
	}
	// Hidden by reports and hidden by the moderator share a time: the
	// entries' ids order them.
	if len(all) != 4 || actions[0] != moderation.Restored || actions[1] != moderation.ReportsDismissed ||
		all[0].ByName != "Moderatrice" || all[0].Reason != "ripensato" || all[0].PostID != hidden.ID || all[0].ThreadID != th.ID {
		t.Fatalf("log: %v %+v", actions, all[0])
	}
	if !slices.Contains(actions, moderation.HiddenByReports) || !slices.Contains(actions, moderation.Hidden) {
		t.Fatalf("log misses a hiding: %v", actions)
	}
	for _, e := range all {
		if e.Action == moderation.HiddenByReports && (e.ByID != "" || e.PostID != reported.ID) {
			t.Fatalf("hidden by reports: %+v", e)
		}
	}
}

func TestBlockedMemberCannotLogInAndLosesSessions(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	admin, coordinator := w.admins(t)
	m := w.register(t, "Bruno Bloccato", "bruno@example.it")
	bruno := w.login(t, "bruno@example.it")
	_, err := w.app.BlockMember.Handle(ctx, app.BlockMember{Caller: coordinator, MemberID: m.ID, Reason: "spam"})
	kindIs(t, "a coordinator blocks", err, apperr.KindPermissionDenied)
	_, err = w.app.BlockMember.Handle(ctx, app.BlockMember{Caller: admin, MemberID: m.ID})
	kindIs(t, "blocking without a reason", err, apperr.KindInvalidArgument)
	_, err = w.app.BlockMember.Handle(ctx, app.BlockMember{Caller: admin, MemberID: admin.MemberID, Reason: "prova"})
	kindIs(t, "blocking oneself", err, apperr.KindFailedPrecondition)

	got, err := w.app.BlockMember.Handle(ctx, app.BlockMember{Caller: admin, MemberID: m.ID, Reason: "messaggi pubblicitari ripetuti"})
	if err != nil || !got.Blocked || len(w.revoked) != 1 || w.revoked[0] != bruno.SessionID {
		t.Fatalf("block: %+v %v, sessions revoked %v", got, err, w.revoked)
	}
	_, err = w.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: bruno})
	kindIs(t, "a blocked member's refresh", err, apperr.KindUnauthenticated)
	_, err = w.app.CreateSession.Handle(ctx, app.CreateSession{Email: "bruno@example.it", Password: goodPassword})
	if apperr.ReasonOf(err) != apperr.ReasonMemberBlocked {
		t.Fatalf("a blocked member's log-in: %v", err)
	}
	_, err = w.app.CreateSession.Handle(ctx, app.CreateSession{Email: "bruno@example.it", Password: "una password sbagliata!"})
	kindIs(t, "a wrong password of a blocked account tells nothing", err, apperr.KindUnauthenticated)
	if seen, _ := w.app.GetMember.Handle(ctx, app.GetMember{Caller: coordinator, ID: m.ID}); seen.Blocked {
		t.Fatal("a coordinator sees the blocked flag")
	}

	got, err = w.app.BlockMember.Handle(ctx, app.BlockMember{Caller: admin, MemberID: m.ID, Unblock: true, Reason: "ha chiarito"})
	if err != nil || got.Blocked {
		t.Fatalf("unblock: %+v %v", got, err)
	}
	if d := got.NewestDecisions(); len(d) != 2 || d[0].Kind != member.KindUnblocked || d[1].Kind != member.KindBlocked || d[1].Reason != "messaggi pubblicitari ripetuti" {
		t.Fatalf("decisions: %+v", d)
	}
	w.login(t, "bruno@example.it")
}

// failingLog is a moderation log whose store is away.
type failingLog struct{}

func (failingLog) Create(context.Context, *moderation.Entry) error {
	return apperr.Unavailable(nil, "moderation log unreachable")
}

func (failingLog) List(context.Context, *paging.Cursor, int) ([]*moderation.Entry, error) {
	return nil, apperr.Unavailable(nil, "moderation log unreachable")
}

// The post's decision is the authority (its event is in the post's
// outbox): a log entry that cannot be written is logged, not a failure.
func TestModerationStandsWhenTheLogCannotBeWritten(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.register(t, "Autrice", "autrice@example.it")
	w.register(t, "Moderatrice", "mod@example.it")
	_, _ = w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: "mod@example.it", Roles: []string{"moderator"}})
	author, mod := w.login(t, "autrice@example.it"), w.login(t, "mod@example.it")
	th, _ := w.app.CreateThread.Handle(ctx, app.CreateThread{Caller: author, Details: thread.Details{Scope: thread.General, Title: "Domanda"}})
	p, _ := w.app.AddPost.Handle(ctx, app.AddPost{Caller: author, ThreadID: th.ID, Body: "testo"})
	broken := w.withDeps(func(d *app.Deps) { d.Moderation = failingLog{} })
	hidden, err := broken.ModeratePost.Handle(ctx, app.ModeratePost{Caller: mod, ID: p.ID, Action: moderation.Hidden, Reason: "fuori tema"})
	if err != nil || hidden.State != post.Hidden {
		t.Fatalf("hide with the log away: %+v %v", hidden, err)
	}
	_, err = broken.ListModerationLog.Handle(ctx, app.ListModerationLog{Caller: mod})
	kindIs(t, "reading the log while it is away", err, apperr.KindUnavailable)
}
