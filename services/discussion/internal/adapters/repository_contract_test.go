package adapters

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
)

// repos is one implementation under contract.
type repos struct {
	members  member.Repository
	logins   login.Repository
	threads  thread.Repository
	posts    post.Repository
	stories  story.Repository
	sessions session.Repository
	log      moderation.Repository
	// pending returns the events waiting in the outbox of a document, or -1
	// where the implementation has no outbox.
	pending func(collection, id string) int
}

// implementations returns the in-memory repositories, and the MongoDB
// ones on the embedded FerretDB and, when GEMELLA_TEST_MONGO_URI is set,
// on a real MongoDB (mongoxtest.Servers).
func implementations(t *testing.T) map[string]func(t *testing.T) repos {
	impls := map[string]func(t *testing.T) repos{
		"memory": func(t *testing.T) repos {
			r := repos{
				NewMemberMemoryRepository(), NewLoginMemoryRepository(), NewThreadMemoryRepository(), NewPostMemoryRepository(), NewStoryMemoryRepository(),
				NewSessionMemoryRepository(), NewModerationMemoryRepository(), nil,
			}
			counts := map[string]func(string) int{
				MembersCollection: r.members.(*MemberMemoryRepository).Pending, ThreadsCollection: r.threads.(*ThreadMemoryRepository).Pending,
				PostsCollection: r.posts.(*PostMemoryRepository).Pending, StoriesCollection: r.stories.(*StoryMemoryRepository).Pending,
			}
			r.pending = func(collection, id string) int { return counts[collection](id) }
			return r
		},
	}
	for _, server := range mongoxtest.Servers(t) {
		impls[server.Name] = func(t *testing.T) repos {
			db, cfg := server.Database(t)
			if err := EnsureIndexes(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			// The embedded FerretDB needs the document locks; MongoDB none.
			m := NewMongoRepositories(db, mongox.StoreOptions{Locks: mongox.DocLocks(cfg)})
			return repos{m.Members, m.Logins, m.Threads, m.Posts, m.Stories, m.Sessions, m.Moderation, func(collection, id string) int {
				return pendingOf(t, db.Collection(collection), id)
			}}
		}
	}
	return impls
}

// pendingOf counts the events waiting in a document's outbox, and checks
// that a document with some carries pending_since, through which the
// relay's indexed sweep finds it.
func pendingOf(t *testing.T, coll *mongo.Collection, id string) int {
	t.Helper()
	var doc struct {
		Pending []outbox.Record `bson:"pending_events"`
		Since   *time.Time      `bson:"pending_since"`
	}
	if err := coll.FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Pending) > 0 && (doc.Since == nil || doc.Since.IsZero()) {
		t.Fatalf("%s %s has %d pending events but no pending_since: the indexed sweep cannot find it", coll.Name(), id, len(doc.Pending))
	}
	return len(doc.Pending)
}

var t0 = time.Date(2018, 4, 16, 10, 0, 0, 0, time.UTC)

var admin = member.Actor{ID: "admin", Name: "Amministratrice"}

func TestRepositoryContract(t *testing.T) {
	for name, build := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("members", func(t *testing.T) { members(t, build(t)) })
			t.Run("login attempts", func(t *testing.T) { loginAttempts(t, build(t)) })
			t.Run("threads", func(t *testing.T) { threads(t, build(t)) })
			t.Run("posts", func(t *testing.T) { posts(t, build(t)) })
			t.Run("concurrent reports", func(t *testing.T) { concurrentReports(t, build(t)) })
			t.Run("stories", func(t *testing.T) { stories(t, build(t)) })
			t.Run("sessions", func(t *testing.T) { sessions(t, build(t)) })
			t.Run("moderation log", func(t *testing.T) { moderationLog(t, build(t)) })
		})
	}
}

func newMember(t *testing.T, id, name, email string, joined time.Time) *member.Member {
	t.Helper()
	m, err := member.New(id, member.Profile{DisplayName: name, OrganizationName: "Regione Puglia", RoleTitle: "Funzionario"}, email, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", joined)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func members(t *testing.T, r repos) {
	ctx := context.Background()
	for i, name := range []string{"Isabella Russo", "Marco Ricci", "Patrizia Moretti", "Stefano Colombo", "Chiara Fabbri"} {
		if err := r.members.Create(ctx, newMember(t, fmt.Sprintf("m%d", i), name, fmt.Sprintf("m%d@example.it", i), t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.members.Create(ctx, newMember(t, "m9", "Altro", "m1@example.it", t0)); apperr.KindOf(err) != apperr.KindAlreadyExists || err.Error() != member.ErrEmailTaken().Error() {
		t.Fatalf("duplicate e-mail: %v", err)
	}
	if err := r.members.Create(ctx, newMember(t, "m1", "Altro", "new@example.it", t0)); apperr.KindOf(err) != apperr.KindAlreadyExists || err.Error() == member.ErrEmailTaken().Error() {
		t.Fatalf("duplicate id: %v", err)
	}
	got, err := r.members.GetByEmail(ctx, "m2@example.it")
	if err != nil || got.ID != "m2" || got.DisplayName != "Patrizia Moretti" || got.PasswordHash == "" || !got.JoinedAt.Equal(t0.Add(2*time.Hour)) || got.Version != 1 {
		t.Fatalf("by e-mail: %+v %v", got, err)
	}
	if _, err := r.members.GetByEmail(ctx, "nobody@example.it"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown e-mail: %v", err)
	}
	if n := r.pending(MembersCollection, "m2"); n != 1 {
		t.Fatalf("%d joined events waiting, want 1", n)
	}
	updated, err := r.members.Update(ctx, "m2", func(m *member.Member) error {
		m.RecordLogin(t0.Add(48*time.Hour), "")
		if err := m.RequestAffiliation("org-puglia", t0); err != nil {
			return err
		}
		if err := m.DecideAffiliation("org-puglia", true, admin, "", t0.Add(time.Hour)); err != nil {
			return err
		}
		return m.Grant(admin, t0.Add(2*time.Hour), "modera il forum", member.RoleModerator)
	})
	if err != nil || updated.Version != 2 {
		t.Fatalf("update: %v %v", updated, err)
	}
	got, _ = r.members.Get(ctx, "m2")
	if !got.LastLoginAt.Equal(t0.Add(48*time.Hour)) || !slices.Equal(got.VerifiedOrganizations(), []string{"org-puglia"}) ||
		!got.HasRole(member.RoleModerator) || !got.HasRole(member.RoleEditor) || got.Affiliations[0].DecidedBy != "admin" ||
		!slices.Equal(got.Decisions, []member.Decision{
			{Kind: member.KindAffiliationVerified, OrganizationID: "org-puglia", By: admin, At: t0.Add(time.Hour)},
			{Kind: member.KindRoleGranted, Role: member.RoleModerator, By: admin, At: t0.Add(2 * time.Hour), Reason: "modera il forum"},
		}) {
		t.Fatalf("after update: %+v", got)
	}
	// Pending affiliation requests, oldest member first.
	for _, id := range []string{"m3", "m0", "m4"} {
		if _, err := r.members.Update(ctx, id, func(m *member.Member) error { return m.RequestAffiliation("org-x", t0) }); err != nil {
			t.Fatal(err)
		}
	}
	var pending []string
	var afterPending *paging.Cursor
	for range 4 {
		page, err := r.members.ListPendingAffiliations(ctx, afterPending, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			if m.PasswordHash != "" {
				t.Fatal("a listed member carries the password hash")
			}
			pending = append(pending, m.ID)
		}
		if len(page) < 2 {
			break
		}
		afterPending = &paging.Cursor{Key: page[1].SortKey(), ID: page[1].ID}
	}
	if fmt.Sprint(pending) != "[m0 m3 m4]" {
		t.Fatalf("pending affiliations = %v (m2's is verified)", pending)
	}
	if _, err := r.members.Update(ctx, "m4", func(m *member.Member) error { _, err := m.Block(admin, t0.Add(time.Hour), "spam"); return err }); err != nil {
		t.Fatal(err)
	}
	if blocked, _ := r.members.Get(ctx, "m4"); !blocked.Blocked || !blocked.BlockedAt.Equal(t0.Add(time.Hour)) || blocked.Decisions[0].Kind != member.KindBlocked {
		t.Fatalf("blocked member: %+v", blocked)
	}
	if _, err := r.members.Update(ctx, "m2", func(*member.Member) error { return apperr.FailedPrecondition("no") }); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("refused update: %v", err)
	}
	if _, err := r.members.Update(ctx, "missing", func(*member.Member) error { return nil }); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("update of unknown: %v", err)
	}
	var seen []string
	var after *paging.Cursor
	for range 5 {
		page, err := r.members.List(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			if m.PasswordHash != "" {
				t.Fatal("a listed member carries the password hash")
			}
			seen = append(seen, m.ID)
		}
		if len(page) < 2 {
			break
		}
		after = &paging.Cursor{Key: page[1].SortKey(), ID: page[1].ID}
	}
	if fmt.Sprint(seen) != "[m4 m3 m2 m1 m0]" {
		t.Fatalf("members newest first = %v", seen)
	}
}

func loginAttempts(t *testing.T, r repos) {
	ctx := context.Background()
	p := login.DefaultPolicy()
	begin := func(key string, at time.Time) error {
		_, err := r.logins.Update(ctx, key, func(a *login.Attempts) error { return a.Begin(p, at) })
		return err
	}
	for i := 0; i < 4; i++ {
		if err := begin("email:a@example.it", t0); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if err := begin("email:a@example.it", t0); apperr.KindOf(err) != apperr.KindResourceExhausted {
		t.Fatalf("fifth attempt at once: %v", err)
	}
	got, err := r.logins.Update(ctx, "email:a@example.it", func(*login.Attempts) error { return nil })
	if err != nil || got.Failures != 4 || !got.BlockedUntil.Equal(t0.Add(time.Second)) || !got.ExpireAt.Equal(t0.Add(p.Window)) {
		t.Fatalf("stored attempts: %+v %v", got, err)
	}
	// Concurrent attempts on one key are all counted.
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.logins.Update(ctx, "account:busy", func(a *login.Attempts) error { a.Failures++; return nil })
		}()
	}
	wg.Wait()
	busy, _ := r.logins.Update(ctx, "account:busy", func(*login.Attempts) error { return nil })
	if busy.Failures != 3 {
		t.Fatalf("concurrent attempts counted %d times, want 3", busy.Failures)
	}
	if err := r.logins.Reset(ctx, "email:a@example.it", "account:busy", "never:seen"); err != nil {
		t.Fatal(err)
	}
	fresh, _ := r.logins.Update(ctx, "email:a@example.it", func(*login.Attempts) error { return nil })
	if fresh.Failures != 0 || !fresh.BlockedUntil.IsZero() {
		t.Fatalf("after reset: %+v", fresh)
	}
}

func newThread(t *testing.T, id string, scope thread.Scope, scopeID string, at time.Time) *thread.Thread {
	t.Helper()
	th, err := thread.New(id, thread.Details{Scope: scope, ScopeID: scopeID, Title: "Discussione " + id, Body: "**Benvenuti**"}, "author", "Laura", "author", at)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func threads(t *testing.T, r repos) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		scope, scopeID := thread.Twinning, "tw-1"
		if i%2 == 1 {
			scope, scopeID = thread.Practice, "pr-1"
		}
		if err := r.threads.Create(ctx, newThread(t, fmt.Sprintf("t%d", i), scope, scopeID, t0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.threads.Create(ctx, newThread(t, "t0", thread.General, "", t0)); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("duplicate id: %v", err)
	}
	if n := r.pending(ThreadsCollection, "t0"); n != 1 {
		t.Fatalf("%d opened events waiting, want 1", n)
	}
	// New activity moves t0 to the top.
	_, err := r.threads.Update(ctx, "t0", func(th *thread.Thread) error {
		th.CountPost("p1", "other", t0.Add(time.Hour))
		th.CountPost("p2", "author", t0.Add(time.Hour))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.threads.Get(ctx, "t0")
	if got.PostCount != 2 || got.ParticipantCount != 2 || !slices.Equal(got.Participants, []string{"author", "other"}) || !got.HasCounted("p2") || got.Body != "**Benvenuti**" {
		t.Fatalf("after counting: %+v", got)
	}
	var seen []string
	var after *paging.Cursor
	for range 5 {
		page, err := r.threads.List(ctx, thread.Filter{Scope: thread.Twinning, ScopeID: "tw-1"}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range page {
			seen = append(seen, th.ID)
			if th.Participants != nil || th.CountedPosts != nil {
				t.Fatal("a listed thread carries its participant ids")
			}
			if th.ID == "t0" && th.ParticipantCount != 2 {
				t.Fatalf("listed counters: %+v", th)
			}
		}
		if len(page) < 2 {
			break
		}
		after = &paging.Cursor{Key: page[1].SortKey(), ID: page[1].ID}
	}
	if fmt.Sprint(seen) != "[t0 t4 t2]" {
		t.Fatalf("twinning threads by last activity = %v", seen)
	}
	all, _ := r.threads.List(ctx, thread.Filter{}, nil, 10)
	if len(all) != 5 {
		t.Fatalf("all threads: %d", len(all))
	}
}

func posts(t *testing.T, r repos) {
	ctx := context.Background()
	th := newThread(t, "t1", thread.Twinning, "tw-1", t0)
	for i := 0; i < 5; i++ {
		parent := ""
		if i > 0 {
			parent = "p0"
		}
		p, err := post.New(fmt.Sprintf("p%d", i), th, parent, fmt.Sprintf("m%d", i), "Membro", fmt.Sprintf("Messaggio %d", i), t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.posts.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.pending(PostsCollection, "p1"); n != 1 {
		t.Fatalf("%d added events waiting, want 1", n)
	}
	// p1 hidden by reports, p2 deleted, p3 reported once.
	for _, m := range []string{"a", "b", "c"} {
		if _, err := r.posts.Update(ctx, "p1", func(p *post.Post) error { return p.Report(m, "Membro "+m, "spam", 3, t0) }); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.pending(PostsCollection, "p1"); n != 2 {
		t.Fatalf("%d events waiting on p1, want added and hidden", n)
	}
	if _, err := r.posts.Update(ctx, "p2", func(p *post.Post) error { return p.Delete("m2", t0) }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.posts.Update(ctx, "p3", func(p *post.Post) error { return p.Report("a", "Anna", "fuori tema", 3, t0) }); err != nil {
		t.Fatal(err)
	}
	got, _ := r.posts.Get(ctx, "p1")
	if got.State != post.Hidden || len(got.Reports) != 3 || got.Reports[0].Reason != "spam" || got.Reports[0].MemberName != "Membro a" ||
		got.ParentID != "p0" || got.Scope != thread.Twinning || !got.ModeratedAt.Equal(t0) {
		t.Fatalf("hidden post: %+v", got)
	}
	ids := func(ps []*post.Post) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.ID)
		}
		return fmt.Sprint(s)
	}
	public, _ := r.posts.List(ctx, post.Filter{ThreadID: "t1"}, nil, 10)
	if ids(public) != "[p0 p2 p3 p4]" {
		t.Fatalf("public list = %s", ids(public))
	}
	first, _ := r.posts.List(ctx, post.Filter{ThreadID: "t1", IncludeHidden: true}, nil, 2)
	rest, _ := r.posts.List(ctx, post.Filter{ThreadID: "t1", IncludeHidden: true}, &paging.Cursor{Key: first[1].SortKey(), ID: first[1].ID}, 10)
	if ids(first) != "[p0 p1]" || ids(rest) != "[p2 p3 p4]" {
		t.Fatalf("moderators' pages = %s %s", ids(first), ids(rest))
	}
	review, _ := r.posts.ListNeedingReview(ctx, nil, 10)
	if ids(review) != "[p1 p3]" {
		t.Fatalf("needing review = %s", ids(review))
	}
	if _, err := r.posts.Update(ctx, "p1", func(p *post.Post) error { return p.Restore("mod", "ok", t0) }); err != nil {
		t.Fatal(err)
	}
	review, _ = r.posts.ListNeedingReview(ctx, nil, 10)
	if ids(review) != "[p3]" {
		t.Fatalf("needing review after a restore = %s", ids(review))
	}
	// A post a moderator hid stays in the queue until restored.
	if _, err := r.posts.Update(ctx, "p4", func(p *post.Post) error { return p.Hide("mod", "offensivo", t0) }); err != nil {
		t.Fatal(err)
	}
	review, _ = r.posts.ListNeedingReview(ctx, nil, 10)
	if ids(review) != "[p3 p4]" {
		t.Fatalf("queue after a moderator hid p4 = %s", ids(review))
	}
	if other, _ := r.posts.List(ctx, post.Filter{ThreadID: "t2"}, nil, 10); len(other) != 0 {
		t.Fatal("posts of another thread listed")
	}
}

// concurrentReports shows that the document locks make every report count:
// on the embedded FerretDB a versioned replace alone would lose some.
func concurrentReports(t *testing.T, r repos) {
	ctx := context.Background()
	th := newThread(t, "t1", thread.General, "", t0)
	p, _ := post.New("busy", th, "", "author", "A", "x", t0)
	if err := r.posts.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	const reporters = 6
	var wg sync.WaitGroup
	errs := make(chan error, reporters)
	for i := 0; i < reporters; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := r.posts.Update(ctx, "busy", func(p *post.Post) error { return p.Report(fmt.Sprintf("r%d", i), "", "spam", 100, t0) })
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := r.posts.Get(ctx, "busy")
	if len(got.Reports) != reporters || got.Version != 1+reporters {
		t.Fatalf("lost update: %d reports, version %d", len(got.Reports), got.Version)
	}
}

func stories(t *testing.T, r repos) {
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		d := story.Details{Title: fmt.Sprintf("Storia %d", i), Body: "Racconto", TwinningID: "tw-1"}
		if i == 3 {
			d = story.Details{Title: "Altra", Body: "Racconto", PracticeID: "pr-1"}
		}
		s, err := story.New(fmt.Sprintf("s%d", i), d, "m", "Membro", t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.stories.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// s0 is published last, so it lists first.
	for _, id := range []string{"s2", "s0", "s3"} {
		at := t0.Add(time.Hour)
		if id == "s0" {
			at = t0.Add(2 * time.Hour)
		}
		if _, err := r.stories.Update(ctx, id, func(s *story.Story) error { return s.Publish("mod", "", at) }); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.pending(StoriesCollection, "s0"); n != 1 {
		t.Fatalf("%d published events waiting, want 1", n)
	}
	ids := func(f story.Filter) string {
		list, err := r.stories.List(ctx, f, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, st := range list {
			s = append(s, st.ID)
		}
		return fmt.Sprint(s)
	}
	if got := ids(story.Filter{Status: story.Published, TwinningID: "tw-1"}); got != "[s0 s2]" {
		t.Fatalf("published of the twinning = %s", got)
	}
	if got := ids(story.Filter{Status: story.Published, PracticeID: "pr-1"}); got != "[s3]" {
		t.Fatalf("published of the practice = %s", got)
	}
	if got := ids(story.Filter{Status: story.Pending}); got != "[s1]" {
		t.Fatalf("pending = %s", got)
	}
	got, _ := r.stories.Get(ctx, "s0")
	if got.Status != story.Published || !got.PublishedAt.Equal(t0.Add(2*time.Hour)) || got.DecidedBy != "mod" {
		t.Fatalf("published story: %+v", got)
	}
}

func sessions(t *testing.T, r repos) {
	ctx := context.Background()
	s, err := session.New("s-1", "m-1", t0, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.sessions.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	again, _ := session.New("s-1", "m-2", t0, time.Hour)
	if err := r.sessions.Create(ctx, again); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("second create of s-1: %v", err)
	}
	if _, err := r.sessions.Get(ctx, "s-none"); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("unknown session: %v", err)
	}
	if _, err := r.sessions.Update(ctx, "s-none", func(*session.Session) error { return nil }); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("update of an unknown session: %v", err)
	}

	refreshed, err := r.sessions.Update(ctx, "s-1", func(s *session.Session) error { return s.Refresh("m-1", t0.Add(time.Hour), 12*time.Hour) })
	if err != nil || refreshed.Version != 2 {
		t.Fatalf("refresh: %+v %v", refreshed, err)
	}
	if _, err := r.sessions.Update(ctx, "s-1", func(s *session.Session) error { return s.End("m-1", t0.Add(2*time.Hour)) }); err != nil {
		t.Fatal(err)
	}
	got, err := r.sessions.Get(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.MemberID != "m-1" || !got.StartedAt.Equal(t0) || !got.RefreshedAt.Equal(t0.Add(time.Hour)) ||
		!got.EndedAt.Equal(t0.Add(2*time.Hour)) || !got.ExpireAt.Equal(t0.Add(12*time.Hour)) || got.Version != 3 {
		t.Fatalf("stored session: %+v", got)
	}
	// The open sessions of a member: not ended, not expired.
	for i, id := range []string{"s-2", "s-3", "s-4"} {
		s, _ := session.New(id, "m-1", t0.Add(time.Duration(i)*time.Hour), 12*time.Hour)
		if err := r.sessions.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := session.New("s-other", "m-2", t0, 12*time.Hour)
	_ = r.sessions.Create(ctx, other)
	open := func(at time.Time) string {
		list, err := r.sessions.ListOpen(ctx, "m-1", at)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range list {
			ids = append(ids, s.ID)
		}
		return fmt.Sprint(ids)
	}
	if got := open(t0.Add(3 * time.Hour)); got != "[s-4 s-3 s-2]" {
		t.Fatalf("open sessions = %s", got)
	}
	if got := open(t0.Add(12*time.Hour + 30*time.Minute)); got != "[s-4 s-3]" {
		t.Fatalf("open sessions once s-2 expired = %s", got)
	}
}

func moderationLog(t *testing.T, r repos) {
	ctx := context.Background()
	for i, a := range []moderation.Action{moderation.HiddenByReports, moderation.Restored, moderation.Hidden} {
		e := &moderation.Entry{ID: moderation.EntryID("p1", int64(i+2)), PostID: "p1", ThreadID: "t1", Action: a, ByID: "mod", ByName: "Marta", Reason: "motivo", At: t0.Add(time.Duration(i) * time.Minute)}
		if a == moderation.HiddenByReports {
			e.ByID, e.ByName = "", ""
		}
		if err := r.log.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	again := &moderation.Entry{ID: moderation.EntryID("p1", 2), PostID: "p1", Action: moderation.Hidden, At: t0}
	if err := r.log.Create(ctx, again); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("the entry of one decision written twice: %v", err)
	}
	first, err := r.log.List(ctx, nil, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first page: %v %v", first, err)
	}
	rest, _ := r.log.List(ctx, &paging.Cursor{Key: first[1].SortKey(), ID: first[1].ID}, 10)
	if first[0].Action != moderation.Hidden || first[1].Action != moderation.Restored || len(rest) != 1 || rest[0].Action != moderation.HiddenByReports ||
		first[0].ByName != "Marta" || first[0].ThreadID != "t1" || !first[0].At.Equal(t0.Add(2*time.Minute)) || rest[0].ByID != "" {
		t.Fatalf("log newest first: %+v %+v", first, rest)
	}
}
