package search

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// fixtureSource is the fixtures in repositories, as the catalog stores them.
func fixtureSource(t *testing.T) Source {
	t.Helper()
	src := Source{Organizations: adapters.NewOrganizationMemoryRepository(), Practices: adapters.NewPracticeMemoryRepository(), Needs: adapters.NewNeedMemoryRepository()}
	for _, o := range fixtureOrgs {
		org, _ := organization.New(o.id, organization.Details{Name: o.id, Kind: o.kind}, "t", t0)
		if err := src.Organizations.Create(ctx, org); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fixtures {
		if err := src.Practices.Create(ctx, f.practice(t)); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

func TestReconcileFindsAndRepairsDrift(t *testing.T) {
	src := fixtureSource(t)
	x, err := Open(Config{Dir: filepath.Join(t.TempDir(), "search"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Rebuild(ctx, src, State{Sequence: 1, Stream: "s"}); err != nil {
		t.Fatal(err)
	}
	if d, err := x.Reconcile(ctx, src); err != nil || d.Repaired() != 0 || d.Checked != len(fixtures) {
		t.Fatalf("an index just rebuilt drifts: %v, %v", d, err)
	}

	// Changes the index never hears of: a practice archived, one revised,
	// one published, a need opened; and a document of a practice the
	// repositories never had.
	if _, err := src.Practices.Update(ctx, "gol", func(p *practice.Practice) error { p.Status = practice.Archived; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Practices.Update(ctx, "agri", func(p *practice.Practice) error { p.Title = "Fattorie didattiche e sociali"; return nil }); err != nil {
		t.Fatal(err)
	}
	newer := fixtures[0].practice(t)
	newer.ID, newer.Slug, newer.Title = "nuova", "nuova", "Orientamento nelle scuole medie"
	if err := src.Practices.Create(ctx, newer); err != nil {
		t.Fatal(err)
	}
	n, err := need.New("n1", need.Details{OrganizationID: "marche", Title: "Cerchiamo un osservatorio del lavoro", Problem: "Dati sul mercato del lavoro locale."}, "t", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Needs.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	ghost := fixtures[1].practice(t)
	ghost.ID, ghost.Title = "fantasma", "Pratica fantasma"
	if err := x.ApplyPractice(ghost, 0); err != nil {
		t.Fatal(err)
	}
	// An organisation that changed kind unheard.
	if _, err := src.Organizations.Update(ctx, "firenze", func(o *organization.Organization) error { o.Kind = organization.PublicAgency; return nil }); err != nil {
		t.Fatal(err)
	}

	d, err := x.Reconcile(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if d.Stale != 1 || d.Missing != 2 || d.Extra != 2 || d.Organizations != 1 {
		t.Fatalf("drift %v: want 1 stale, 2 missing, 2 extra, 1 organisation", d)
	}
	for q, want := range map[string]bool{"politiche attive": false, "fattorie didattiche": true, "orientamento scuole medie": true, "fantasma": false} {
		if got := searchIDs(t, x, app.PracticeSearch{Text: q}); (len(got) > 0) != want {
			t.Errorf("after the reconcile %q finds %v", q, got)
		}
	}
	if got := searchIDs(t, x, app.PracticeSearch{OwnerKinds: []string{"public_agency"}}); len(got) == 0 {
		t.Error("the organisation's new kind is not on its practices")
	}
	if res, _ := x.SearchNeeds(ctx, app.NeedSearch{Text: "osservatorio", Limit: 5}); res.Total != 1 {
		t.Errorf("the need is not searchable: %+v", res)
	}
	if d, err := x.Reconcile(ctx, src); err != nil || d.Repaired() != 0 {
		t.Fatalf("repaired, it drifts again: %v, %v", d, err)
	}
}

// catalogStream is a catalog stream on an embedded NATS server.
func catalogStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	js := embedded.JetStreamForTest(t)
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: "CATALOG", Subjects: []string{"catalog.>"}}); err != nil {
		t.Fatal(err)
	}
	return js
}

// publishPractice stores p and publishes the thin event of its
// publication: the follower reads the practice from src.
func publishPractice(t *testing.T, js jetstream.JetStream, src Source, p *practice.Practice) {
	t.Helper()
	if err := src.Practices.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	ref := &eventsv1.PracticeRef{Id: p.ID, Title: p.Title, Status: protoconv.StatusToProto(p.Status), Version: p.Version}
	env, err := events.NewEnvelope(string(practice.EventPublished), "t", "practice", p.ID, p.Version, &eventsv1.PracticePublished{Practice: ref}, t0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, string(practice.EventPublished), data, jetstream.WithMsgID(env.EventId)); err != nil {
		t.Fatal(err)
	}
}

// follow opens the index in dir and prepares its follower.
func follow(t *testing.T, js jetstream.JetStream, src Source, dir string) (*Index, *Follower) {
	t.Helper()
	x, err := Open(Config{Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f := &Follower{Index: x, JS: js, Stream: "CATALOG", Source: src, Logger: quiet}
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	return x, f
}

// run runs the follower until the returned stop, which closes the index.
func run(t *testing.T, x *Index, f *Follower) func() {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(runCtx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			_ = x.Close()
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTheIndexIsKeptOnDiskOrRebuiltInTheBackground(t *testing.T) {
	js := catalogStream(t)
	src := fixtureSource(t)
	dir := filepath.Join(t.TempDir(), "search")

	// A new index: rebuilt by Run, not ready until then.
	x, f := follow(t, js, src, dir)
	if !f.Rebuilding() || x.Ready() {
		t.Fatalf("a new index: rebuilding %v, ready %v", f.Rebuilding(), x.Ready())
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := x.SearchPractices(short, app.PracticeSearch{Text: "competenze", Limit: 5})
	cancel()
	if !errors.Is(err, app.ErrSearchNotReady) {
		t.Fatalf("a search before the rebuild: %v", err)
	}
	stop := run(t, x, f)
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := x.WaitReady(waitCtx); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, x, app.PracticeSearch{Text: "competenze"}); !has(got, "tos-ca") {
		t.Fatalf("rebuilt: %v", got)
	}
	published := fixtures[0].practice(t)
	published.ID, published.Slug, published.Title, published.Version = "seguita", "seguita", "Osservatorio delle imprese agricole", 4
	publishPractice(t, js, src, published)
	waitFor(t, "an event applied", func() bool { return has(searchIDs(t, x, app.PracticeSearch{Text: "osservatorio imprese"}), "seguita") })
	stop()

	// Stopped, an event is published; restarted, the index is kept (ready
	// at once, not rebuilt) and catches up from where it was.
	later := fixtures[0].practice(t)
	later.ID, later.Slug, later.Title, later.Version = "dopo", "dopo", "Telemedicina per le aree interne", 4
	publishPractice(t, js, src, later)
	x, f = follow(t, js, src, dir)
	if f.Rebuilding() || !x.Ready() {
		t.Fatalf("a kept index: rebuilding %v, ready %v", f.Rebuilding(), x.Ready())
	}
	if got := searchIDs(t, x, app.PracticeSearch{Text: "osservatorio imprese"}); !has(got, "seguita") {
		t.Fatalf("the kept index lost what it had: %v", got)
	}
	stop = run(t, x, f)
	waitFor(t, "the event published while stopped", func() bool { return has(searchIDs(t, x, app.PracticeSearch{Text: "telemedicina"}), "dopo") })
	stop()

	// Deleted: rebuilt again.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	x, f = follow(t, js, src, dir)
	if !f.Rebuilding() {
		t.Fatal("a deleted index is not rebuilt")
	}
	run(t, x, f)
	waitFor(t, "the rebuilt index", func() bool {
		return x.Ready() && has(searchIDs(t, x, app.PracticeSearch{Text: "competenze"}), "tos-ca")
	})
}
