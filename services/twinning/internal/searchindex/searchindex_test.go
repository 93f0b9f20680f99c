package searchindex

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/twinning/internal/adapters"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// countingCatalog knows one practice and three organisations, and counts
// every question it is asked.
type countingCatalog struct {
	mu        sync.Mutex
	practices map[string]int
	orgs      map[string]int
}

func (c *countingCatalog) Practice(_ context.Context, id string) (app.Practice, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.practices[id]++
	if id != "p-known" {
		return app.Practice{}, apperr.NotFound("practice %q not found", id)
	}
	return app.Practice{ID: id, Title: "Tos.Ca.", Themes: []string{"Lavoro"}}, nil
}

func (c *countingCatalog) Organization(_ context.Context, id string) (app.Organization, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.orgs[id]++
	return app.Organization{ID: id, Name: "Regione " + id}, nil
}

// A rebuild reads every public twinning; they share a few parties and
// practices, and the catalogue must be asked about each of them once,
// not once per twinning (a rebuild of a few hundred twinnings took a
// minute on a loaded machine).
func TestAllAsksTheCatalogueOncePerOrganisationAndPractice(t *testing.T) {
	ctx := context.Background()
	repo := adapters.NewTwinningMemoryRepository()
	const n = 30
	for i := 0; i < n; i++ {
		tw := &twinning.Twinning{
			ID:     fmt.Sprintf("tw-%02d", i),
			Status: twinning.Active,
			Transfers: []twinning.Transfer{
				{ID: "t1", PracticeID: "p-known", ModelCode: "M1"},
				{ID: "t2", PracticeID: "p-gone", ModelCode: "M1"},
			},
			CreatedAt: time.Unix(int64(1000+i), 0),
			Version:   1,
		}
		tw.Code = fmt.Sprintf("GEM-%02d", i)
		tw.Title = "Gemellaggio"
		tw.OfferingOrganizationIDs = []string{"toscana"}
		tw.ReceivingOrganizationIDs = []string{"calabria"}
		tw.CoordinatorOrganizationID = "anpal"
		if err := repo.Create(ctx, tw); err != nil {
			t.Fatal(err)
		}
	}
	cat := &countingCatalog{practices: map[string]int{}, orgs: map[string]int{}}
	src := Source{Twinnings: repo, Catalog: cat}
	var docs []psearch.Document
	if err := src.All(ctx, func(d psearch.Document) error { docs = append(docs, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(docs) != n {
		t.Fatalf("%d documents, want %d", len(docs), n)
	}
	for id, calls := range cat.practices {
		if calls != 1 {
			t.Errorf("practice %s asked %d times, want once", id, calls)
		}
	}
	for id, calls := range cat.orgs {
		if calls != 1 {
			t.Errorf("organisation %s asked %d times, want once", id, calls)
		}
	}
	if len(cat.practices) != 2 || len(cat.orgs) != 3 {
		t.Fatalf("asked about practices %v and organisations %v", cat.practices, cat.orgs)
	}
	// What was remembered is what the catalogue said.
	d := docs[0]
	if len(d.Themes) != 1 || d.Themes[0] != "Lavoro" {
		t.Fatalf("themes %v", d.Themes)
	}
	var parties int
	for _, tx := range d.Texts {
		if tx.Field == "parties" {
			parties++
		}
	}
	if parties != 3 {
		t.Fatalf("%d party names in %+v", parties, d.Texts)
	}
	// A single document (an event) still asks the catalogue each time.
	if _, err := src.Doc(ctx, docsTwinning(t, repo, "tw-00")); err != nil {
		t.Fatal(err)
	}
	if cat.practices["p-known"] != 2 {
		t.Fatalf("Doc outside a listing used a remembered answer: %v", cat.practices)
	}
}

func docsTwinning(t *testing.T, repo *adapters.TwinningMemoryRepository, id string) *twinning.Twinning {
	t.Helper()
	tw, err := repo.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

// A twinning's summary is Markdown; search indexes its words, so that a
// hit's snippet shows no asterisks or link addresses.
func TestTheSummaryIsIndexedWithoutItsMarkdown(t *testing.T) {
	tw := &twinning.Twinning{ID: "tw-1", Status: twinning.Active, Version: 1}
	tw.Summary = "Il **Libretto formativo** in [Calabria](https://example.org/bando)."
	d, err := Source{}.Doc(context.Background(), tw)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range d.Texts {
		if tx.Field == "summary" {
			if tx.Text != "Il Libretto formativo in Calabria." {
				t.Fatalf("summary indexed as %q", tx.Text)
			}
			return
		}
	}
	t.Fatalf("no summary in %+v", d.Texts)
}
