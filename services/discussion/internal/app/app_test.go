package app_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/adapters"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// fakePasswords "hashes" by prefixing, and counts the work each call would
// cost, so that tests can compare what known and unknown e-mails spend.
type fakePasswords struct {
	mu       sync.Mutex
	verifies int
	hashes   int
	params   string
}

func (f *fakePasswords) Hash(_ context.Context, pw string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hashes++
	return f.params + pw, nil
}

func (f *fakePasswords) Verify(_ context.Context, pw, encoded string) (bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verifies++
	params, stored, _ := strings.Cut(encoded, "|")
	return stored == pw, params+"|" != f.params, nil
}

func (f *fakePasswords) VerifyNothing(ctx context.Context, pw string) error {
	_, _, err := f.Verify(ctx, pw, f.params+"\x00nobody")
	return err
}

func (f *fakePasswords) work() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.verifies
}

type world struct {
	app       app.Application
	clock     *time.Time
	passwords *fakePasswords
	verifier  *auth.Verifier
	posts     *adapters.PostMemoryRepository
	threads   *adapters.ThreadMemoryRepository
	policy    login.Policy
	deps      app.Deps
	// revoked are the sessions RevokeSession was told to end.
	revoked []string
	// revokeFails makes RevokeSession fail, as with NATS away.
	revokeFails bool
}

var t0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

const sessionMaxAge = 8 * time.Hour

// bootstrap is the service itself, as the in-process Service.GrantRoles
// acts to make the first administrator.
var bootstrap = auth.System(app.ServiceName)

func newWorld(t *testing.T) *world {
	t.Helper()
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	clock := t0
	w := &world{clock: &clock, passwords: &fakePasswords{params: "v1|"}, posts: adapters.NewPostMemoryRepository(), threads: adapters.NewThreadMemoryRepository()}
	now := func() time.Time { return *w.clock }
	issuer, _ := auth.NewIssuer(key, 15*time.Minute)
	w.verifier, _ = auth.NewVerifier(key.Public().(ed25519.PublicKey))
	w.verifier = w.verifier.WithClock(now)
	w.policy = login.Policy{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: 4 * time.Second, LockAfter: 5, LockDuration: time.Minute, Window: 10 * time.Minute}
	w.deps = app.Deps{
		Members: adapters.NewMemberMemoryRepository(), Logins: adapters.NewLoginMemoryRepository(),
		Threads: w.threads, Posts: w.posts, Stories: adapters.NewStoryMemoryRepository(), Sessions: adapters.NewSessionMemoryRepository(),
		SessionMaxAge: sessionMaxAge, Passwords: w.passwords, Tokens: issuer.WithClock(now), LoginPolicy: w.policy,
		EditWindow: 15 * time.Minute, ReportThreshold: 3, Now: now, Moderation: adapters.NewModerationMemoryRepository(),
		RevokeSession: func(_ context.Context, id string, _ time.Time) error {
			if w.revokeFails {
				return fmt.Errorf("nats: no responders")
			}
			w.revoked = append(w.revoked, id)
			return nil
		},
	}
	w.app = app.New(w.deps)
	return w
}

func (w *world) advance(d time.Duration) { *w.clock = w.clock.Add(d) }

// withDeps is the application on the world's stores with some deps
// changed.
func (w *world) withDeps(change func(*app.Deps)) app.Application {
	d := w.deps
	change(&d)
	return app.New(d)
}

const goodPassword = "una password abbastanza lunga"

func (w *world) register(t *testing.T, name, email string) *member.Member {
	t.Helper()
	m, err := w.app.RegisterMember.Handle(context.Background(), app.RegisterMember{
		Profile: member.Profile{DisplayName: name, OrganizationName: "Regione Calabria", RoleTitle: "Funzionario"}, Email: email, Password: goodPassword,
		PrivacyConsent: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// login logs in and returns the caller the token names, as a service
// verifying it would see it.
func (w *world) login(t *testing.T, email string) auth.Caller {
	t.Helper()
	s, err := w.app.CreateSession.Handle(context.Background(), app.CreateSession{Email: email, Password: goodPassword})
	if err != nil {
		t.Fatalf("log in %s: %v", email, err)
	}
	claims, err := w.verifier.Verify(s.Token)
	if err != nil {
		t.Fatal(err)
	}
	return claims.Caller()
}

func kindIs(t *testing.T, what string, err error, want apperr.Kind) {
	t.Helper()
	if apperr.KindOf(err) != want {
		t.Fatalf("%s: got %v (%v), want %v", what, apperr.KindOf(err), err, want)
	}
}

func TestRegisterAndLogIn(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	m := w.register(t, "Giulia Romano", " Giulia.Romano@Example.it ")
	if m.Email != "giulia.romano@example.it" || m.PasswordHash != "" {
		t.Fatalf("registered member as they see it: %+v", m)
	}
	if !m.PrivacyConsentAt.Equal(t0) {
		t.Fatalf("privacy consent recorded at %v, want %v", m.PrivacyConsentAt, t0)
	}
	_, err := w.app.RegisterMember.Handle(ctx, app.RegisterMember{Profile: member.Profile{DisplayName: "Altra"}, Email: "GIULIA.ROMANO@example.it", Password: goodPassword, PrivacyConsent: true})
	kindIs(t, "same e-mail again", err, apperr.KindAlreadyExists)
	_, err = w.app.RegisterMember.Handle(ctx, app.RegisterMember{Profile: member.Profile{DisplayName: "Senza consenso"}, Email: "nuova@example.it", Password: goodPassword})
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "privacy_consent" {
		t.Fatalf("registration without the privacy consent: %v", err)
	}
	hashes := w.passwords.hashes
	_, err = w.app.RegisterMember.Handle(ctx, app.RegisterMember{Email: "x", Password: "short"})
	kindIs(t, "invalid registration", err, apperr.KindInvalidArgument)
	if w.passwords.hashes != hashes {
		t.Fatal("an invalid registration was hashed")
	}

	w.advance(time.Hour)
	s, err := w.app.CreateSession.Handle(ctx, app.CreateSession{Email: "giulia.romano@EXAMPLE.it", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Member.LastLoginAt.Equal(*w.clock) || !s.ExpiresAt.Equal(w.clock.Add(15*time.Minute)) || s.Member.Email == "" {
		t.Fatalf("session: %+v", s)
	}
	claims, err := w.verifier.Verify(s.Token)
	if err != nil || claims.MemberID != m.ID || claims.DisplayName != "Giulia Romano" || !slices.Equal(claims.Roles, []string{"member"}) {
		t.Fatalf("token claims %+v, %v", claims, err)
	}
}

func TestSameAnswerForUnknownEmailAndWrongPassword(t *testing.T) {
	w := newWorld(t)
	w.register(t, "Paolo Greco", "paolo.greco@example.it")
	ctx := context.Background()

	before := w.passwords.work()
	_, wrong := w.app.CreateSession.Handle(ctx, app.CreateSession{Email: "paolo.greco@example.it", Password: "not the password"})
	wrongWork := w.passwords.work() - before

	before = w.passwords.work()
	_, unknown := w.app.CreateSession.Handle(ctx, app.CreateSession{Email: "nessuno@example.it", Password: "not the password"})
	unknownWork := w.passwords.work() - before

	kindIs(t, "wrong password", wrong, apperr.KindUnauthenticated)
	if wrong.Error() != unknown.Error() {
		t.Fatalf("answers differ: %q vs %q", wrong, unknown)
	}
	if wrongWork != 1 || unknownWork != 1 {
		t.Fatalf("password checks: %d for a wrong password, %d for an unknown e-mail; want one each", wrongWork, unknownWork)
	}
}

func TestRepeatedFailuresDelayThenLock(t *testing.T) {
	w := newWorld(t)
	w.register(t, "Anna Costa", "anna.costa@example.it")
	ctx := context.Background()
	try := func(email, pw string) error {
		_, err := w.app.CreateSession.Handle(ctx, app.CreateSession{Email: email, Password: pw})
		return err
	}
	// Known and unknown addresses go through the same sequence of answers.
	for _, email := range []string{"anna.costa@example.it", "sconosciuto@example.it"} {
		t.Run(email, func(t *testing.T) {
			*w.clock = t0
			var answers []string
			for i := 0; i < 12; i++ {
				err := try(email, "sbagliata")
				answers = append(answers, apperr.KindOf(err).String())
				if apperr.KindOf(err) == apperr.KindResourceExhausted {
					w.advance(time.Second)
				}
			}
			got := strings.Join(answers, ",")
			// 2 free failures; then 1s, 2s, 4s (max) waits; the 5th failure locks for a minute.
			want := "unauthenticated,unauthenticated,unauthenticated,resource exhausted,unauthenticated,resource exhausted,resource exhausted,unauthenticated," +
				"resource exhausted,resource exhausted,resource exhausted,resource exhausted"
			if got != want {
				t.Fatalf("answers\n got %s\nwant %s", got, want)
			}
			// Locked: even the right password is refused, without checking it.
			work := w.passwords.work()
			if err := try(email, goodPassword); apperr.KindOf(err) != apperr.KindResourceExhausted {
				t.Fatalf("right password while locked: %v", err)
			}
			if w.passwords.work() != work {
				t.Fatal("a refused attempt checked a password")
			}
		})
	}
	// After the lock the right password works, and resets the count.
	*w.clock = t0.Add(5 * time.Minute)
	if err := try("anna.costa@example.it", goodPassword); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := try("anna.costa@example.it", "sbagliata"); apperr.KindOf(err) != apperr.KindUnauthenticated {
			t.Fatalf("after a success the free failures are back: %v", err)
		}
	}
}

func TestStrongerParametersRehashAtLogin(t *testing.T) {
	w := newWorld(t)
	m := w.register(t, "Marco Bruno", "marco.bruno@example.it")
	w.passwords.params = "v2|"
	w.login(t, "marco.bruno@example.it")
	if w.passwords.hashes != 2 {
		t.Fatalf("%d hashes: want one at sign-up and one at the first log-in with new parameters", w.passwords.hashes)
	}
	w.login(t, "marco.bruno@example.it")
	if w.passwords.hashes != 2 {
		t.Fatal("rehashed again although the stored hash is current")
	}
	_ = m
}

func TestWritesNeedASessionAndRoles(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.register(t, "Sara Villa", "sara@example.it")
	sara := w.login(t, "sara@example.it")
	th, err := w.app.CreateThread.Handle(ctx, app.CreateThread{Caller: sara, Details: thread.Details{Scope: thread.General, Title: "Benvenuti"}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := w.app.AddPost.Handle(ctx, app.AddPost{Caller: sara, ThreadID: th.ID, Body: "Ciao"})
	st, _ := w.app.SubmitStory.Handle(ctx, app.SubmitStory{Caller: sara, Details: story.Details{Title: "x", Body: "y", TwinningID: "tw"}})
	anon := auth.Anonymous
	for name, err := range map[string]error{
		"thread": func() error {
			_, err := w.app.CreateThread.Handle(ctx, app.CreateThread{Caller: anon, Details: thread.Details{Scope: thread.General, Title: "x"}})
			return err
		}(),
		"post": func() error {
			_, err := w.app.AddPost.Handle(ctx, app.AddPost{Caller: anon, ThreadID: th.ID, Body: "x"})
			return err
		}(),
		"report": func() error {
			_, err := w.app.ReportPost.Handle(ctx, app.ReportPost{Caller: anon, ID: p.ID})
			return err
		}(),
		"story":   func() error { _, err := w.app.SubmitStory.Handle(ctx, app.SubmitStory{Caller: anon}); return err }(),
		"profile": func() error { _, err := w.app.GetMyProfile.Handle(ctx, anon); return err }(),
	} {
		kindIs(t, "anonymous "+name, err, apperr.KindUnauthenticated)
	}
	for name, err := range map[string]error{
		"hide": func() error {
			_, err := w.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: sara, ID: p.ID, Action: moderation.Hidden, Reason: "x"})
			return err
		}(),
		"queue": func() error {
			_, err := w.app.ListReportedPosts.Handle(ctx, app.ListReportedPosts{Caller: sara})
			return err
		}(),
		"publish": func() error {
			_, err := w.app.DecideStory.Handle(ctx, app.DecideStory{Caller: sara, ID: st.ID, Publish: true})
			return err
		}(),
		"pending stories": func() error {
			_, err := w.app.ListStories.Handle(ctx, app.ListStories{Caller: sara, Status: story.Pending})
			return err
		}(),
		"affiliation": func() error {
			_, err := w.app.DecideAffiliation.Handle(ctx, app.DecideAffiliation{Caller: sara, MemberID: sara.MemberID, OrganizationID: "o", Verify: true})
			return err
		}(),
		"someone else's affiliation": func() error {
			_, err := w.app.RequestAffiliation.Handle(ctx, app.RequestAffiliation{Caller: sara, MemberID: "other", OrganizationID: "o"})
			return err
		}(),
	} {
		kindIs(t, "member "+name, err, apperr.KindPermissionDenied)
	}
	// Public reads need nothing.
	if _, err := w.app.ListPosts.Handle(ctx, app.ListPosts{Caller: anon, ThreadID: th.ID}); err != nil {
		t.Fatal(err)
	}
}

func TestAffiliationVerifiedByAnAdministratorReachesTheToken(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.register(t, "Luca Neri", "luca@example.it")
	admin := w.register(t, "Admin", "admin@example.it")
	if _, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: "ADMIN@example.it", Roles: []string{"administrator"}}); err != nil {
		t.Fatal(err)
	}
	_, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: "admin@example.it", Roles: []string{"emperor"}})
	kindIs(t, "unknown role", err, apperr.KindInvalidArgument)
	luca := w.login(t, "luca@example.it")
	if _, err := w.app.RequestAffiliation.Handle(ctx, app.RequestAffiliation{Caller: luca, OrganizationID: "org-vibo"}); err != nil {
		t.Fatal(err)
	}
	adminCaller := w.login(t, "admin@example.it")
	if !adminCaller.HasRole(auth.RoleAdministrator) || adminCaller.MemberID != admin.ID {
		t.Fatalf("admin caller: %+v", adminCaller)
	}
	m, err := w.app.DecideAffiliation.Handle(ctx, app.DecideAffiliation{Caller: adminCaller, MemberID: luca.MemberID, OrganizationID: "org-vibo", Verify: true})
	if err != nil || m.Affiliations[0].Status != member.AffiliationVerified || m.Affiliations[0].DecidedBy != admin.ID {
		t.Fatalf("decided: %+v %v", m, err)
	}
	luca = w.login(t, "luca@example.it")
	if !luca.IsEditorOf("org-vibo") {
		t.Fatalf("the new token does not make Luca an editor of his organisation: %+v", luca)
	}
	// Others see the verified affiliation, never the e-mail.
	public, _ := w.app.GetMember.Handle(ctx, app.GetMember{Caller: auth.Anonymous, ID: luca.MemberID})
	if public.Email != "" || len(public.Affiliations) != 1 {
		t.Fatalf("public profile: %+v", public)
	}
	asAdmin, _ := w.app.GetMember.Handle(ctx, app.GetMember{Caller: adminCaller, ID: luca.MemberID})
	if asAdmin.Email != "luca@example.it" {
		t.Fatal("an administrator does not see the e-mail")
	}
	page, _ := w.app.ListMembers.Handle(ctx, app.ListMembers{})
	for _, m := range page.Items {
		if m.Email != "" {
			t.Fatal("the member list shows an e-mail")
		}
	}
}

func TestEditWindowUsesTheClock(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.register(t, "Elena Conti", "elena@example.it")
	w.register(t, "Franco Gallo", "franco@example.it")
	elena, franco := w.login(t, "elena@example.it"), w.login(t, "franco@example.it")
	th, _ := w.app.CreateThread.Handle(ctx, app.CreateThread{Caller: elena, Details: thread.Details{Scope: thread.General, Title: "Asili nido"}})
	p, _ := w.app.AddPost.Handle(ctx, app.AddPost{Caller: elena, ThreadID: th.ID, Body: "Prima versione"})
	w.advance(10 * time.Minute)
	edited, err := w.app.EditPost.Handle(ctx, app.EditPost{Caller: elena, ID: p.ID, Body: "Seconda versione"})
	if err != nil || edited.Body != "Seconda versione" || !edited.EditedAt.Equal(*w.clock) {
		t.Fatalf("edit within the window: %+v %v", edited, err)
	}
	_, err = w.app.EditPost.Handle(ctx, app.EditPost{Caller: franco, ID: p.ID, Body: "x"})
	kindIs(t, "someone else's post", err, apperr.KindPermissionDenied)
	w.advance(6 * time.Minute)
	_, err = w.app.EditPost.Handle(ctx, app.EditPost{Caller: elena, ID: p.ID, Body: "Terza"})
	kindIs(t, "after the window", err, apperr.KindFailedPrecondition)
	_, err = w.app.DeletePost.Handle(ctx, app.DeletePost{Caller: franco, ID: p.ID})
	kindIs(t, "delete someone else's post", err, apperr.KindPermissionDenied)
	deleted, err := w.app.DeletePost.Handle(ctx, app.DeletePost{Caller: elena, ID: p.ID})
	if err != nil || deleted.State != post.Deleted || deleted.Body != "" {
		t.Fatalf("deleted: %+v %v", deleted, err)
	}
	page, _ := w.app.ListPosts.Handle(ctx, app.ListPosts{Caller: auth.Anonymous, ThreadID: th.ID})
	if len(page.Items) != 1 || page.Items[0].State != post.Deleted || page.Items[0].Body != "" {
		t.Fatalf("a deleted post is listed as deleted, without body: %+v", page.Items)
	}
}

func TestReportOnceThresholdHidesModeratorRestores(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var callers []auth.Caller
	for i := 0; i < 5; i++ {
		email := fmt.Sprintf("m%d@example.it", i)
		w.register(t, fmt.Sprintf("Membro %d", i), email)
		callers = append(callers, w.login(t, email))
	}
	author, reporters := callers[0], callers[1:4]
	if _, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: "m4@example.it", Roles: []string{"moderator"}}); err != nil {
		t.Fatal(err)
	}
	mod := w.login(t, "m4@example.it")
	th, _ := w.app.CreateThread.Handle(ctx, app.CreateThread{Caller: author, Details: thread.Details{Scope: thread.Practice, ScopeID: "pr-1", Title: "Libretto formativo"}})
	p, _ := w.app.AddPost.Handle(ctx, app.AddPost{Caller: author, ThreadID: th.ID, Body: "Contenuto discutibile"})

	if _, err := w.app.ReportPost.Handle(ctx, app.ReportPost{Caller: reporters[0], ID: p.ID, Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	_, err := w.app.ReportPost.Handle(ctx, app.ReportPost{Caller: reporters[0], ID: p.ID, Reason: "ancora spam"})
	kindIs(t, "second report by the same member", err, apperr.KindAlreadyExists)
	_, err = w.app.ReportPost.Handle(ctx, app.ReportPost{Caller: reporters[1], ID: p.ID})
	kindIs(t, "a report without a reason", err, apperr.KindInvalidArgument)
	for _, r := range reporters[1:] {
		if _, err := w.app.ReportPost.Handle(ctx, app.ReportPost{Caller: r, ID: p.ID, Reason: "fuori tema"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.posts.Pending(p.ID); n != 2 {
		t.Fatalf("%d events of the post, want added and one hidden", n)
	}
	listed := func(c auth.Caller) []*post.Post {
		page, err := w.app.ListPosts.Handle(ctx, app.ListPosts{Caller: c, ThreadID: th.ID})
		if err != nil {
			t.Fatal(err)
		}
		return page.Items
	}
	if len(listed(auth.Anonymous)) != 0 || len(listed(author)) != 0 {
		t.Fatal("a hidden post is shown to a non-moderator")
	}
	if got := listed(mod); len(got) != 1 || got[0].State != post.Hidden || got[0].Body != "Contenuto discutibile" {
		t.Fatalf("moderator's view: %+v", got)
	}
	queue, err := w.app.ListReportedPosts.Handle(ctx, app.ListReportedPosts{Caller: mod})
	if err != nil || len(queue.Items) != 1 || len(queue.Items[0].Reports) != 3 || queue.Items[0].Reports[0].MemberName != "Membro 1" || queue.Items[0].Reports[0].Reason != "spam" {
		t.Fatalf("moderation queue: %+v %v", queue, err)
	}
	restored, err := w.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: mod, ID: p.ID, Action: moderation.Restored, Reason: "non viola le regole"})
	if err != nil || restored.State != post.Visible {
		t.Fatalf("restore: %+v %v", restored, err)
	}
	if len(listed(auth.Anonymous)) != 1 {
		t.Fatal("a restored post is not shown")
	}
	if queue, _ := w.app.ListReportedPosts.Handle(ctx, app.ListReportedPosts{Caller: mod}); len(queue.Items) != 0 {
		t.Fatal("a reviewed post is still in the queue")
	}
}

func TestAddPostWithRequestIDCountsOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.register(t, "Rita Fontana", "rita@example.it")
	w.register(t, "Ugo Riva", "ugo@example.it")
	rita, ugo := w.login(t, "rita@example.it"), w.login(t, "ugo@example.it")
	th, _ := w.app.CreateThread.Handle(ctx, app.CreateThread{Caller: rita, Details: thread.Details{Scope: thread.General, Title: "Domanda"}})
	w.advance(time.Minute)
	first, err := w.app.AddPost.Handle(ctx, app.AddPost{Caller: ugo, ThreadID: th.ID, Body: "Risposta", RequestID: "r-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.app.AddPost.Handle(ctx, app.AddPost{Caller: ugo, ThreadID: th.ID, Body: "Risposta", RequestID: "r-1"})
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry made another post: %v %v", again, err)
	}
	reply, err := w.app.AddPost.Handle(ctx, app.AddPost{Caller: rita, ThreadID: th.ID, ParentID: first.ID, Body: "Grazie", RequestID: "r-1"})
	if err != nil || reply.ID == first.ID || reply.ParentID != first.ID {
		t.Fatalf("another member's request id collided: %+v %v", reply, err)
	}
	other, _ := w.app.CreateThread.Handle(ctx, app.CreateThread{Caller: rita, Details: thread.Details{Scope: thread.General, Title: "Altro"}})
	_, err = w.app.AddPost.Handle(ctx, app.AddPost{Caller: rita, ThreadID: other.ID, ParentID: first.ID, Body: "x"})
	kindIs(t, "reply to a post of another thread", err, apperr.KindInvalidArgument)
	got, _ := w.app.GetThread.Handle(ctx, th.ID)
	if got.PostCount != 2 || got.ParticipantCount != 2 || !got.LastActivityAt.Equal(*w.clock) {
		t.Fatalf("thread counters: posts %d participants %d", got.PostCount, got.ParticipantCount)
	}
	if n := w.posts.EventCount(); n != 2 {
		t.Fatalf("%d post.added events, want 2", n)
	}
}

func TestApprovedTwinningOpensOneThread(t *testing.T) {
	w := newWorld(t)
	cmd := app.OpenTwinningThread{TwinningID: "tw-tosca", TwinningTitle: "Tos.Ca. – Valorizzare le competenze dei cittadini", ApprovedAt: t0}
	w.register(t, "Rita Fontana", "rita@example.it")
	for name, c := range map[string]auth.Caller{"anonymous": auth.Anonymous, "a member": w.login(t, "rita@example.it"), "another service": auth.System("twinning")} {
		_, _, err := w.app.OpenTwinningThread.Handle(auth.WithCaller(context.Background(), c), cmd)
		kindIs(t, name+" opens a twinning thread", err, apperr.KindPermissionDenied)
	}
	// The service's own consumer of approvals acts as the service.
	ctx := auth.WithCaller(context.Background(), bootstrap)
	first, opened, err := w.app.OpenTwinningThread.Handle(ctx, cmd)
	if err != nil || !opened {
		t.Fatal(err)
	}
	again, opened, err := w.app.OpenTwinningThread.Handle(ctx, cmd)
	if err != nil || opened || again.ID != first.ID {
		t.Fatalf("second approval: %v %v %v", again, opened, err)
	}
	if first.Title != "Discussione generale relativa al gemellaggio Tos.Ca. – Valorizzare le competenze dei cittadini" || first.ParticipantCount != 0 {
		t.Fatalf("thread: %+v", first)
	}
	page, _ := w.app.ListThreads.Handle(ctx, app.ListThreads{TwinningID: "tw-tosca"})
	if len(page.Items) != 1 || w.threads.EventCount() != 1 {
		t.Fatalf("%d threads, %d opened events", len(page.Items), w.threads.EventCount())
	}
}

func TestStoriesAreModeratedBeforeTheyArePublic(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.register(t, "Teresa Marino", "teresa@example.it")
	w.register(t, "Moderatrice", "mod@example.it")
	_, _ = w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: "mod@example.it", Roles: []string{"moderator"}})
	teresa, mod := w.login(t, "teresa@example.it"), w.login(t, "mod@example.it")
	s, err := w.app.SubmitStory.Handle(ctx, app.SubmitStory{Caller: teresa, Details: story.Details{Title: "Il libretto a Vibo", Body: "Ho visto...", TwinningID: "tw-tosca"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.app.GetStory.Handle(ctx, app.GetStory{Caller: auth.Anonymous, ID: s.ID})
	kindIs(t, "a pending story to others", err, apperr.KindNotFound)
	if _, err := w.app.GetStory.Handle(ctx, app.GetStory{Caller: teresa, ID: s.ID}); err != nil {
		t.Fatalf("the author reads her pending story: %v", err)
	}
	pending, err := w.app.ListStories.Handle(ctx, app.ListStories{Caller: mod, Status: story.Pending})
	if err != nil || len(pending.Items) != 1 {
		t.Fatalf("pending for moderators: %v %v", pending, err)
	}
	if _, err := w.app.DecideStory.Handle(ctx, app.DecideStory{Caller: mod, ID: s.ID, Publish: true}); err != nil {
		t.Fatal(err)
	}
	public, _ := w.app.ListStories.Handle(ctx, app.ListStories{Caller: auth.Anonymous, TwinningID: "tw-tosca"})
	if len(public.Items) != 1 || public.Items[0].Status != story.Published {
		t.Fatalf("published: %+v", public.Items)
	}
	_, err = w.app.DecideStory.Handle(ctx, app.DecideStory{Caller: mod, ID: s.ID, Reason: "tardi"})
	kindIs(t, "reject a published story", err, apperr.KindFailedPrecondition)
}

func TestSessionsRefreshWithFreshClaimsUntilLoggedOutOrTooOld(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	luca := w.register(t, "Luca Neri", "luca@example.it")
	w.register(t, "Admin", "admin@example.it")
	if _, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: "admin@example.it", Roles: []string{"administrator"}}); err != nil {
		t.Fatal(err)
	}
	admin := w.login(t, "admin@example.it")
	first := w.login(t, "luca@example.it")
	if first.SessionID == "" || !first.SessionStartedAt.Equal(t0) {
		t.Fatalf("a log-in token without its session: %+v", first)
	}

	w.advance(10 * time.Minute)
	if _, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: admin, MemberID: luca.ID, Roles: []string{"moderator"}}); err != nil {
		t.Fatal(err)
	}
	refreshed, err := w.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: first})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := w.verifier.Verify(refreshed.Token)
	if err != nil {
		t.Fatal(err)
	}
	second := claims.Caller()
	if !second.HasRole(auth.RoleModerator) || second.SessionID != first.SessionID || !second.SessionStartedAt.Equal(t0) ||
		!refreshed.ExpiresAt.Equal(t0.Add(25*time.Minute)) {
		t.Fatalf("refreshed token: %+v, expires %s", second, refreshed.ExpiresAt)
	}

	// Logging out ends the session for every token of it.
	if err := w.app.DeleteSession.Handle(ctx, app.DeleteSession{Caller: second}); err != nil {
		t.Fatal(err)
	}
	if err := w.app.DeleteSession.Handle(ctx, app.DeleteSession{Caller: second}); err != nil {
		t.Fatalf("logging out twice: %v", err)
	}
	for name, c := range map[string]auth.Caller{"the first token": first, "the refreshed token": second} {
		_, err := w.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: c})
		kindIs(t, "refresh after log-out with "+name, err, apperr.KindUnauthenticated)
	}

	// A session lasts its maximum age, however often it is refreshed.
	current := w.login(t, "luca@example.it")
	for range 3 {
		w.advance(sessionMaxAge / 4)
		s, err := w.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: current})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := w.verifier.Verify(s.Token)
		current = c.Caller()
	}
	w.advance(sessionMaxAge / 4)
	_, err = w.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: current})
	kindIs(t, "refresh at the maximum age", err, apperr.KindUnauthenticated)

	_, err = w.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: auth.Anonymous})
	kindIs(t, "anonymous refresh", err, apperr.KindUnauthenticated)
	minted := auth.Caller{MemberID: luca.ID, Roles: []string{auth.RoleMember}}
	_, err = w.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: minted})
	kindIs(t, "refresh of a token no log-in issued", err, apperr.KindFailedPrecondition)
	if err := w.app.DeleteSession.Handle(ctx, app.DeleteSession{Caller: minted}); err != nil {
		t.Fatalf("log-out of a token no log-in issued: %v", err)
	}
	err = w.app.DeleteSession.Handle(ctx, app.DeleteSession{Caller: auth.Anonymous})
	kindIs(t, "anonymous log-out", err, apperr.KindUnauthenticated)
}

func TestOnlyAdministratorsGrantRoles(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	target := w.register(t, "Luca Neri", "luca@example.it")
	w.register(t, "Moderatrice", "mod@example.it")
	if _, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: bootstrap, Email: "mod@example.it", Roles: []string{"moderator"}}); err != nil {
		t.Fatal(err)
	}
	mod := w.login(t, "mod@example.it")
	luca := w.login(t, "luca@example.it")
	for name, tt := range map[string]struct {
		caller auth.Caller
		want   apperr.Kind
	}{
		"anonymous":        {auth.Anonymous, apperr.KindUnauthenticated},
		"the member":       {luca, apperr.KindPermissionDenied},
		"a moderator":      {mod, apperr.KindPermissionDenied},
		"another service":  {auth.System("twinning"), apperr.KindUnauthenticated},
		"a forged caller":  {auth.Caller{MemberID: "x", Roles: []string{"member"}}, apperr.KindPermissionDenied},
		"no roles to give": {auth.Caller{MemberID: "x", Roles: []string{"administrator"}}, apperr.KindInvalidArgument},
	} {
		roles := []string{"administrator"}
		if name == "no roles to give" {
			roles = nil
		}
		_, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: tt.caller, MemberID: target.ID, Roles: roles})
		kindIs(t, name+" grants roles", err, tt.want)
	}
	admin := auth.Caller{MemberID: "m-admin", Roles: []string{auth.RoleMember, auth.RoleAdministrator}}
	m, err := w.app.GrantRoles.Handle(ctx, app.GrantRoles{Caller: admin, MemberID: target.ID, Roles: []string{"coordinator"}})
	if err != nil || !m.HasRole(member.RoleCoordinator) {
		t.Fatalf("administrator's grant: %+v %v", m, err)
	}
	if want := []member.Decision{{Kind: member.KindRoleGranted, Role: member.RoleCoordinator, By: member.Actor{ID: "m-admin"}, At: t0}}; !slices.Equal(m.Decisions, want) {
		t.Fatalf("the grant is recorded as %+v, want %+v", m.Decisions, want)
	}
}
