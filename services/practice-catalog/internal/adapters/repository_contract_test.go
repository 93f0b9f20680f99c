package adapters

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// repos is one implementation under contract.
type repos struct {
	orgs      organization.Repository
	practices practice.Repository
	// pending returns the events waiting in the outbox of a practice, or -1
	// where the implementation has no outbox.
	pending func(id string) int
}

var dbCounter atomic.Int64

// implementations returns the in-memory repositories, MongoDB ones on the
// embedded FerretDB, and on a real MongoDB when GEMELLA_TEST_MONGO_URI is set.
func implementations(t *testing.T) map[string]func(t *testing.T) repos {
	impls := map[string]func(t *testing.T) repos{
		"memory": func(t *testing.T) repos {
			return repos{NewOrganizationMemoryRepository(), NewPracticeMemoryRepository(), func(string) int { return -1 }}
		},
	}
	mongoRepos := func(uri string) func(t *testing.T) repos {
		return func(t *testing.T) repos {
			client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(20 * time.Second))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
			db := client.Database(fmt.Sprintf("contract_%d_%d", os.Getpid(), dbCounter.Add(1)))
			t.Cleanup(func() { _ = db.Drop(context.Background()) })
			if err := EnsureIndexes(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			locks := &doclock.Locks{}
			return repos{
				NewOrganizationMongoRepository(db, EncodeOrganizationEvent, nil, locks),
				NewPracticeMongoRepository(db, EncodePracticeEvent, nil, locks),
				func(id string) int {
					var doc struct {
						Pending []outbox.Record `bson:"pending_events"`
					}
					if err := db.Collection(PracticesCollection).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
						t.Fatal(err)
					}
					return len(doc.Pending)
				},
			}
		}
	}
	if !testing.Short() {
		f := embedded.FerretDBForTest(t)
		impls["ferretdb"] = mongoRepos(f.URI())
	}
	if uri := os.Getenv("GEMELLA_TEST_MONGO_URI"); uri != "" {
		impls["mongodb"] = mongoRepos(uri)
	}
	return impls
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

func TestRepositoryContract(t *testing.T) {
	for name, build := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("practice round trip", func(t *testing.T) { practiceRoundTrip(t, build(t)) })
			t.Run("practice duplicates", func(t *testing.T) { practiceDuplicates(t, build(t)) })
			t.Run("practice update", func(t *testing.T) { practiceUpdate(t, build(t)) })
			t.Run("practice concurrent updates", func(t *testing.T) { practiceConcurrentUpdates(t, build(t)) })
			t.Run("practice list", func(t *testing.T) { practiceList(t, build(t)) })
			t.Run("practice adoption records", func(t *testing.T) { practiceAdoptionRecords(t, build(t)) })
			t.Run("organisations", func(t *testing.T) { organizations(t, build(t)) })
		})
	}
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
	if n := r.pending("p1"); n != -1 && n != 1 {
		t.Fatalf("outbox holds %d events, want 1", n)
	}
	if _, err := r.practices.Update(ctx, "missing", func(*practice.Practice) error { return nil }); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("update of unknown: %v", err)
	}
}

func practiceConcurrentUpdates(t *testing.T, r repos) {
	ctx := context.Background()
	if err := r.practices.Create(ctx, newPractice(t, "p1", "Busy", t0)); err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := r.practices.Update(ctx, "p1", func(p *practice.Practice) error {
				p.Themes = append(p.Themes, fmt.Sprintf("theme-%d", i))
				return nil
			})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	applied := 0
	for err := range errs {
		switch apperr.KindOf(err) {
		case apperr.KindUnknown:
			if err != nil {
				t.Fatal(err)
			}
			applied++
		case apperr.KindAborted: // gave up after retries: allowed, but nothing half-written
		default:
			t.Fatal(err)
		}
	}
	got, _ := r.practices.Get(ctx, "p1")
	if len(got.Themes) != applied || got.Version != int64(1+applied) {
		t.Fatalf("lost update: %d applied, themes %v, version %d", applied, got.Themes, got.Version)
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
	var seen []string
	var after *paging.Cursor
	for page := 0; page < 5; page++ {
		items, err := r.practices.List(ctx, practice.Filter{Theme: "labour"}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range items {
			seen = append(seen, p.ID)
		}
		if len(items) < 2 {
			break
		}
		last := items[len(items)-1]
		after = &paging.Cursor{Key: last.SortKey(), ID: last.ID}
	}
	if fmt.Sprint(seen) != "[p6 p4 p2 p0]" {
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

func practiceAdoptionRecords(t *testing.T, r repos) {
	ctx := context.Background()
	if err := r.practices.Create(ctx, newPractice(t, "p1", "Adopted", t0)); err != nil {
		t.Fatal(err)
	}
	apply := func(rec practice.TransferRecord) {
		t.Helper()
		if _, err := r.practices.Update(ctx, "p1", func(p *practice.Practice) error {
			_, err := p.ApplyTransfer(rec)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	apply(practice.TransferRecord{TransferID: "tr-2", TwinningID: "tw-1", ModelCode: "A", ReceivingOrganizationID: "o3", Status: practice.TransferInProgress, Version: 4, At: t0})
	apply(practice.TransferRecord{TransferID: "tr-1", TwinningID: "tw-1", ModelCode: "A", ReceivingOrganizationID: "o4", Status: practice.TransferAdopted, Version: 7, At: t0.Add(time.Hour)})
	got, err := r.practices.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Transfers) != 2 || got.Transfers[0].TransferID != "tr-1" || got.Transfers[0].Status != practice.TransferAdopted ||
		got.Transfers[0].Version != 7 || !got.Transfers[0].At.Equal(t0.Add(time.Hour)) || got.Transfers[1].ReceivingOrganizationID != "o3" {
		t.Fatalf("transfer records after a round trip: %+v", got.Transfers)
	}
	a := got.Models[0].Adoption
	if got.Adoption.Twinnings != 1 || got.Adoption.Adopted != 1 || got.Adoption.InProgress != 1 ||
		a.Adopted != 1 || fmt.Sprint(a.ReceivingOrganizationIDs) != "[o3 o4]" {
		t.Fatalf("figures after a round trip: practice %+v, model A %+v", got.Adoption, a)
	}
	// The record of an older event leaves the stored practice as it was.
	if _, err := r.practices.Update(ctx, "p1", func(p *practice.Practice) error {
		changed, err := p.ApplyTransfer(practice.TransferRecord{TransferID: "tr-1", TwinningID: "tw-1", ModelCode: "A", Status: practice.TransferPlanned, Version: 2, At: t0})
		if err == nil && changed {
			return fmt.Errorf("an older record changed the practice")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
