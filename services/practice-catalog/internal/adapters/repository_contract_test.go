package adapters

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// repos is one implementation of every repository of the catalog under
// contract, the in-memory ones or the MongoDB ones on one database.
type repos struct {
	orgs      organization.Repository
	practices practice.Repository
	needs     need.Repository
	offers    offer.Repository
	// pending counts the events waiting in the outbox of a document: the
	// events its writes recorded, as no relay runs here.
	pending func(collection, id string) int
	// docBytes is the size of a practice's stored document, without the
	// events waiting for the relay (they leave once published).
	docBytes func(id string) int
	// publish takes the events out of a document's outbox, as the relay
	// would after publishing them, and returns how many there were; nil in
	// memory, where nothing piles up in the document.
	publish func(collection, id string) int
	// adoptionEvents: a recorded transfer leaves an event in the
	// practice's outbox (the stored repositories; in memory the search
	// index is written through).
	adoptionEvents bool
}

// implementations returns the in-memory repositories, and the MongoDB ones
// on the embedded FerretDB and, when GEMELLA_TEST_MONGO_URI is set, on a
// real MongoDB (mongoxtest.Servers).
func implementations(t *testing.T) map[string]func(t *testing.T) repos {
	impls := map[string]func(t *testing.T) repos{
		"memory": func(t *testing.T) repos {
			r := repos{orgs: NewOrganizationMemoryRepository(), practices: NewPracticeMemoryRepository(), needs: NewNeedMemoryRepository(), offers: NewOfferMemoryRepository()}
			counts := map[string]func(string) int{
				OrganizationsCollection: r.orgs.(*OrganizationMemoryRepository).Pending, PracticesCollection: r.practices.(*PracticeMemoryRepository).Pending,
				NeedsCollection: r.needs.(*NeedMemoryRepository).Pending, OffersCollection: r.offers.(*OfferMemoryRepository).Pending,
			}
			r.pending = func(collection, id string) int { return counts[collection](id) }
			r.docBytes = func(id string) int {
				p, err := r.practices.Get(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := bson.Marshal(toPracticeDoc(p))
				if err != nil {
					t.Fatal(err)
				}
				return len(raw)
			}
			return r
		},
	}
	for _, server := range mongoxtest.Servers(t) {
		impls[server.Name] = storedRepos(server, locksConfigured)
		if server.Config.DocLocks.Leases() {
			// The locks of several processes on one store (the topology
			// test), where the repositories trust nothing they did not
			// just read.
			impls[server.Name+withLeases] = storedRepos(server, locksLeases)
		}
		if server.Config.DocLocks != "" {
			// The MongoDB code paths (no locks), on the embedded FerretDB:
			// right there for one writer at a time (sequentialOnly).
			impls[server.Name+sequentialOnly] = storedRepos(server, locksNone)
		}
	}
	return impls
}

// withLeases ends the name of an implementation with doclock's leases
// instead of the in-process locks; the heavy scenarios do not run on it.
const withLeases = "-leases"

// sequentialOnly ends the name of an implementation whose store applies
// conditioned writes atomically only for one writer at a time: the
// scenarios with concurrent writers do not run on it.
const sequentialOnly = "-as-mongodb"

// Which document locks storedRepos gives the repositories.
const (
	// locksConfigured: those the server's configuration asks for, in one
	// process (the embedded FerretDB needs them; MongoDB none).
	locksConfigured = iota
	// locksLeases: the leases of several processes (doclock.New).
	locksLeases
	// locksNone: none, as on MongoDB.
	locksNone
)

// storedRepos builds the MongoDB repositories on server, with the
// document locks locks says.
func storedRepos(server mongoxtest.Server, locks int) func(t *testing.T) repos {
	return func(t *testing.T) repos {
		db, cfg := server.Database(t)
		if err := EnsureIndexes(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		opts := mongox.StoreOptions{}
		switch locks {
		case locksConfigured:
			opts.Locks = mongox.DocLocks(cfg)
		case locksLeases:
			opts.Locks = doclock.New(db, doclock.Options{})
		}
		m := NewMongoRepositories(db, opts)
		return repos{
			orgs: m.Organizations, practices: m.Practices, needs: m.Needs, offers: m.Offers,
			pending: func(collection, id string) int {
				var doc struct {
					Pending []outbox.Record `bson:"pending_events"`
				}
				if err := db.Collection(collection).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
					t.Fatal(err)
				}
				return len(doc.Pending)
			},
			publish: func(collection, id string) int {
				ctx := context.Background()
				// Called from a goroutine of its own: t.Error, not t.Fatal.
				unlock, err := opts.Locks.Acquire(ctx, collection, id)
				if err != nil {
					t.Error(err)
					return 0
				}
				defer unlock()
				var before struct {
					Pending []bson.Raw `bson:"pending_events"`
				}
				err = db.Collection(collection).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}},
					bson.D{{Key: "$set", Value: bson.D{{Key: outbox.Field, Value: bson.A{}}}}}).Decode(&before)
				if err != nil {
					t.Error(err)
				}
				return len(before.Pending)
			},
			docBytes: func(id string) int {
				raw, err := db.Collection(PracticesCollection).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}},
					options.FindOne().SetProjection(bson.D{{Key: outbox.Field, Value: 0}, {Key: outbox.SinceField, Value: 0}})).Raw()
				if err != nil {
					t.Fatal(err)
				}
				return len(raw)
			},
			adoptionEvents: true,
		}
	}
}

// TestRepositoryContract runs every scenario on every implementation.
func TestRepositoryContract(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, r repos)
		// concurrent scenarios run several writers of one document at once.
		concurrent bool
		// heavy scenarios run on the first set of locks of each store only.
		heavy bool
	}{
		{name: "practice round trip", run: practiceRoundTrip},
		{name: "practice duplicates", run: practiceDuplicates},
		{name: "practice update", run: practiceUpdate},
		{name: "concurrent updates", run: concurrentUpdates, concurrent: true},
		{name: "practice list", run: practiceList},
		{name: "practice adoption records", run: practiceAdoptionRecords},
		{name: "practice revisions apart", run: practiceRevisions},
		{name: "practice stays small after 1,000 transfers", run: practiceStaysSmall, concurrent: true, heavy: true},
		{name: "organisations", run: organizations},
		{name: "need round trip and outbox", run: needRoundTrip},
		{name: "need list", run: needList},
		{name: "offers", run: offers},
	}
	for name, build := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			for _, s := range scenarios {
				if s.concurrent && strings.HasSuffix(name, sequentialOnly) || s.heavy && strings.HasSuffix(name, withLeases) {
					continue
				}
				t.Run(s.name, func(t *testing.T) { s.run(t, build(t)) })
			}
		})
	}
}

// pagedIDs reads a list page by page, each page's cursor made of its last
// item's sort key and id, and returns the ids it saw in order.
func pagedIDs[A any](t *testing.T, list func(after *paging.Cursor) ([]*A, error), key func(*A) (sortKey, id string)) string {
	t.Helper()
	var seen []string
	var after *paging.Cursor
	for page := 0; page < 10; page++ {
		items, err := list(after)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range items {
			_, id := key(a)
			seen = append(seen, id)
		}
		if len(items) == 0 {
			break
		}
		k, id := key(items[len(items)-1])
		after = &paging.Cursor{Key: k, ID: id}
	}
	return fmt.Sprint(seen)
}

// concurrently runs writers updates of one document at once and returns
// how many were applied; an update may give up with Aborted, nothing else.
func concurrently(t *testing.T, writers int, update func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- update(i)
		}(i)
	}
	wg.Wait()
	close(errs)
	applied := 0
	for err := range errs {
		switch {
		case err == nil:
			applied++
		case apperr.KindOf(err) != apperr.KindAborted:
			t.Fatal(err)
		}
	}
	return applied
}

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func newOrg(t *testing.T, id, name string, kind organization.Kind, territory string) *organization.Organization {
	t.Helper()
	o, err := organization.New(id, organization.Details{Name: name, Kind: kind, Territory: organization.Territory{Code: territory, Name: territory}}, "tester", t0)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newPractice(t *testing.T, id, title string, at time.Time, themes ...string) *practice.Practice {
	t.Helper()
	p, err := practice.New(id, practice.Content{
		Title: title, OwnerOrganizationIDs: []string{"org-1"}, Themes: themes,
		Territory: organization.Territory{Code: "ITI1", Name: "Toscana"},
		Models:    []practice.Model{{Code: "A", Title: "Model A"}},
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func practiceRoundTrip(t *testing.T, r repos) {
	ctx := context.Background()
	p := newPractice(t, "p1", "Tos.Ca. – Valorizzare le competenze", t0, "labour", "skills certification")
	p.Languages = []string{"it"}
	p.Attachments = []practice.Link{{Title: "Scheda", URL: "https://example.org/a.pdf"}}
	if err := r.practices.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := r.practices.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Slug != "tos-ca-valorizzare-le-competenze" || got.Title != p.Title || got.Status != practice.Draft || got.Version != 1 {
		t.Fatalf("stored practice differs: %+v", got)
	}
	if len(got.Models) != 1 || got.Models[0].OwnerOrganizationID != "org-1" || got.Attachments[0].URL != "https://example.org/a.pdf" {
		t.Fatalf("nested fields lost: %+v", got.Content)
	}
	if !got.CreatedAt.Equal(t0) {
		t.Fatalf("created at %v, want %v", got.CreatedAt, t0)
	}
	bySlug, err := r.practices.GetBySlug(ctx, got.Slug)
	if err != nil || bySlug.ID != "p1" {
		t.Fatalf("by slug: %v %v", bySlug, err)
	}
	if _, err := r.practices.Get(ctx, "nope"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := r.practices.GetBySlug(ctx, "nope"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown slug: %v", err)
	}
}

func practiceDuplicates(t *testing.T, r repos) {
	ctx := context.Background()
	if err := r.practices.Create(ctx, newPractice(t, "p1", "Same title", t0)); err != nil {
		t.Fatal(err)
	}
	if err := r.practices.Create(ctx, newPractice(t, "p2", "Same title", t0)); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("duplicate slug: %v", err)
	}
	if err := r.practices.Create(ctx, newPractice(t, "p1", "Other title", t0)); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := r.practices.GetBySlug(ctx, "other-title"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("a refused create left something behind: %v", err)
	}
}

func practiceUpdate(t *testing.T, r repos) {
	ctx := context.Background()
	for _, p := range []*practice.Practice{newPractice(t, "p1", "First", t0), newPractice(t, "p2", "Second", t0)} {
		if err := r.practices.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// A refused change stores nothing.
	_, err := r.practices.Update(ctx, "p1", func(p *practice.Practice) error {
		p.Title = "changed"
		return apperr.FailedPrecondition("no")
	})
	if apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("fn error not returned: %v", err)
	}
	if got, _ := r.practices.Get(ctx, "p1"); got.Title != "First" || got.Version != 1 {
		t.Fatalf("refused update was stored: %+v", got)
	}
	// Taking another practice's slug is refused and changes nothing.
	_, err = r.practices.Update(ctx, "p1", func(p *practice.Practice) error { p.Slug = "second"; return nil })
	if apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("slug clash: %v", err)
	}
	if got, _ := r.practices.Get(ctx, "p1"); got.Slug != "first" {
		t.Fatalf("slug clash changed the practice: %+v", got)
	}
	// A state move bumps the version and records its event in the outbox.
	updated, err := r.practices.Update(ctx, "p1", func(p *practice.Practice) error {
		p.Summary, p.Description, p.Problem, p.Results, p.Languages, p.Themes = "s", "d", "p", "r", []string{"it"}, []string{"labour"}
		return p.Submit("tester", t0.Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.practices.Get(ctx, "p1")
	if got.Status != practice.Submitted || got.Version != 2 || updated.Version != 2 {
		t.Fatalf("after submit: status %s version %d/%d", got.Status, got.Version, updated.Version)
	}
	if n := r.pending(PracticesCollection, "p1"); n != 1 {
		t.Fatalf("outbox holds %d events, want 1", n)
	}
	if _, err := r.practices.Update(ctx, "missing", func(*practice.Practice) error { return nil }); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("update of unknown: %v", err)
	}
}

// Concurrent writers of one document each apply their change or give up
// with Aborted: no update is lost, whatever the aggregate.
func concurrentUpdates(t *testing.T, r repos) {
	ctx := context.Background()
	if err := r.practices.Create(ctx, newPractice(t, "p1", "Busy", t0)); err != nil {
		t.Fatal(err)
	}
	if err := r.needs.Create(ctx, newNeed(t, "n1", "calabria", seekT0)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		update func(i int) error
		stored func() (themes []string, version int64)
	}{
		{"practice", func(i int) error {
			_, err := r.practices.Update(ctx, "p1", func(p *practice.Practice) error {
				p.Themes = append(p.Themes, fmt.Sprintf("theme-%d", i))
				return nil
			})
			return err
		}, func() ([]string, int64) { p, _ := r.practices.Get(ctx, "p1"); return p.Themes, p.Version }},
		{"need", func(i int) error {
			_, err := r.needs.Update(ctx, "n1", func(n *need.Need) error {
				d := n.Details
				d.Themes = append(append([]string(nil), d.Themes...), fmt.Sprintf("tema-%d", i))
				return n.Edit(d, seekT0)
			})
			return err
		}, func() ([]string, int64) { n, _ := r.needs.Get(ctx, "n1"); return n.Themes, n.Version }},
	} {
		applied := concurrently(t, 4, c.update)
		themes, version := c.stored()
		if len(themes) != applied || version != int64(1+applied) {
			t.Fatalf("%s: lost update: %d applied, themes %v, version %d", c.name, applied, themes, version)
		}
	}
}

func practiceList(t *testing.T, r repos) {
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		theme := "labour"
		if i%2 == 1 {
			theme = "education"
		}
		if err := r.practices.Create(ctx, newPractice(t, fmt.Sprintf("p%d", i), fmt.Sprintf("Practice %d", i), t0.Add(time.Duration(i)*time.Minute), theme)); err != nil {
			t.Fatal(err)
		}
	}
	seen := pagedIDs(t, func(after *paging.Cursor) ([]*practice.Practice, error) {
		return r.practices.List(ctx, practice.Filter{Theme: "labour"}, after, 2)
	}, func(p *practice.Practice) (string, string) { return p.SortKey(), p.ID })
	if seen != "[p6 p4 p2 p0]" {
		t.Fatalf("labour practices newest first = %v", seen)
	}
	items, err := r.practices.List(ctx, practice.Filter{Status: practice.Published}, nil, 10)
	if err != nil || len(items) != 0 {
		t.Fatalf("published filter: %d %v", len(items), err)
	}
	items, err = r.practices.List(ctx, practice.Filter{OwnerOrganizationID: "org-1", TerritoryCode: "ITI1", Status: practice.Draft}, nil, 100)
	if err != nil || len(items) != 7 {
		t.Fatalf("owner+territory+status filter: %d %v", len(items), err)
	}

	if _, err := r.practices.Update(ctx, "p3", func(p *practice.Practice) error {
		c := p.Content
		c.Summary, c.Description, c.Problem, c.Results, c.Languages = "s", "d", "p", "r", []string{"it"}
		if err := p.Edit(c, t0); err != nil {
			return err
		}
		if err := p.Submit("ed", t0); err != nil {
			return err
		}
		return p.Publish("coord", t0)
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    practice.Filter
		want string
	}{
		{"drafts hidden from an outsider", practice.Filter{Unpublished: practice.Visibility{Restricted: true}}, "[p3]"},
		{"drafts of another owner hidden", practice.Filter{Unpublished: practice.Visibility{Restricted: true, Of: []string{"org-2"}}}, "[p3]"},
		{"drafts shown to an owner's editor", practice.Filter{Theme: "education", Unpublished: practice.Visibility{Restricted: true, Of: []string{"org-2", "org-1"}}}, "[p5 p3 p1]"},
		{"only drafts, hidden", practice.Filter{Status: practice.Draft, Unpublished: practice.Visibility{Restricted: true}}, "[]"},
	} {
		items, err := r.practices.List(ctx, c.f, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range items {
			ids = append(ids, p.ID)
		}
		if fmt.Sprint(ids) != c.want {
			t.Errorf("%s: %v, want %s", c.name, ids, c.want)
		}
	}
}

func organizations(t *testing.T, r repos) {
	ctx := context.Background()
	for _, o := range []*organization.Organization{
		newOrg(t, "o1", "Regione Toscana", organization.Region, "ITI1"),
		newOrg(t, "o2", "Comune di Firenze", organization.Municipality, "048017"),
		newOrg(t, "o3", "Regione Calabria", organization.Region, "ITF6"),
		newOrg(t, "o4", "comune di Vibo Valentia", organization.Municipality, "102047"),
	} {
		if err := r.orgs.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.orgs.Create(ctx, newOrg(t, "o1", "Again", organization.Region, "")); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("duplicate id: %v", err)
	}
	regions, err := r.orgs.List(ctx, organization.Filter{Kind: organization.Region}, nil, 10)
	if err != nil || len(regions) != 2 || regions[0].Name != "Regione Calabria" {
		t.Fatalf("regions by name: %v %v", regions, err)
	}
	first, _ := r.orgs.List(ctx, organization.Filter{}, nil, 2)
	rest, _ := r.orgs.List(ctx, organization.Filter{}, &paging.Cursor{Key: first[1].SortKey(), ID: first[1].ID}, 10)
	if len(first) != 2 || len(rest) != 2 || first[0].Name != "Comune di Firenze" || rest[0].Name != "Regione Calabria" {
		t.Fatalf("paging by name, case-insensitive: %v then %v", first, rest)
	}
	many, err := r.orgs.GetMany(ctx, []string{"o1", "o3", "missing"})
	if err != nil || len(many) != 2 || many["o3"].Name != "Regione Calabria" {
		t.Fatalf("get many: %v %v", many, err)
	}
	updated, err := r.orgs.Update(ctx, "o2", func(o *organization.Organization) error {
		return o.Update(organization.Details{Name: "Comune di Firenze", Kind: organization.Municipality, ParentID: "o1"}, "tester", t0)
	})
	if err != nil || updated.Version != 2 {
		t.Fatalf("update: %v %v", updated, err)
	}
	byParent, _ := r.orgs.List(ctx, organization.Filter{ParentID: "o1"}, nil, 10)
	if len(byParent) != 1 || byParent[0].ID != "o2" {
		t.Fatalf("by parent: %v", byParent)
	}
	if _, err := r.orgs.Get(ctx, "zzz"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown: %v", err)
	}
}
