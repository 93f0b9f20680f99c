package adapters

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
)

var seekT0 = time.Date(2024, 9, 2, 8, 0, 0, 0, time.UTC)

func newNeed(t *testing.T, id, org string, at time.Time, themes ...string) *need.Need {
	t.Helper()
	n, err := need.New(id, need.Details{
		OrganizationID: org, Title: "Cerco " + id, Problem: "Un problema da risolvere", Themes: themes,
		Territory: need.Territory{Code: "ITF6", Name: "Calabria"}, DesiredStart: "2025-03-01",
	}, "tester", at)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func needRoundTrip(t *testing.T, r repos) {
	ctx := context.Background()
	n := newNeed(t, "n1", "calabria", seekT0, "certificazione delle competenze", "lavoro")
	n.Sectors = []string{"meccanica"}
	if err := r.needs.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	got, err := r.needs.Get(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Cerco n1" || got.Status != need.Open || got.Version != 1 || got.Language != "it" || got.DesiredStart != "2025-03-01" ||
		fmt.Sprint(got.Themes) != "[certificazione delle competenze lavoro]" || fmt.Sprint(got.Sectors) != "[meccanica]" ||
		got.Territory.Code != "ITF6" || !got.CreatedAt.Equal(seekT0) {
		t.Fatalf("stored need differs: %+v", got)
	}
	if k := r.pending(NeedsCollection, "n1"); k != 1 {
		t.Fatalf("outbox after create holds %d events, want the opened one", k)
	}
	if err := r.needs.Create(ctx, newNeed(t, "n1", "calabria", seekT0)); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := r.needs.Get(ctx, "nope"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown id: %v", err)
	}
	// A refused change stores nothing.
	if _, err := r.needs.Update(ctx, "n1", func(n *need.Need) error {
		n.Title = "changed"
		return apperr.FailedPrecondition("no")
	}); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("fn error: %v", err)
	}
	matched, err := r.needs.Update(ctx, "n1", func(n *need.Need) error {
		_, err := n.Match("tw-1", "system", seekT0.Add(time.Hour))
		return err
	})
	if err != nil || matched.Version != 2 {
		t.Fatalf("match: %v %v", matched, err)
	}
	got, _ = r.needs.Get(ctx, "n1")
	if got.Status != need.Matched || got.MatchedTwinningID != "tw-1" || got.Title != "Cerco n1" || got.Version != 2 {
		t.Fatalf("after match: %+v", got)
	}
	if k := r.pending(NeedsCollection, "n1"); k != 2 {
		t.Fatalf("outbox holds %d events, want opened and matched", k)
	}
	if _, err := r.needs.Update(ctx, "missing", func(*need.Need) error { return nil }); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("update of unknown: %v", err)
	}
}

func needList(t *testing.T, r repos) {
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		org, theme := "calabria", "lavoro"
		if i%2 == 1 {
			org, theme = "vibo", "prima infanzia"
		}
		if err := r.needs.Create(ctx, newNeed(t, fmt.Sprintf("n%d", i), org, seekT0.Add(time.Duration(i)*time.Minute), theme)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.needs.Update(ctx, "n4", func(n *need.Need) error { return n.Close("tester", "", seekT0) }); err != nil {
		t.Fatal(err)
	}
	seen := pagedIDs(t, func(after *paging.Cursor) ([]*need.Need, error) {
		return r.needs.List(ctx, need.Filter{Theme: "lavoro", Status: need.Open}, after, 2)
	}, func(n *need.Need) (string, string) { return n.SortKey(), n.ID })
	if seen != "[n6 n2 n0]" {
		t.Fatalf("open labour needs newest first = %v", seen)
	}
	items, err := r.needs.List(ctx, need.Filter{OrganizationID: "vibo", TerritoryCode: "ITF6"}, nil, 10)
	if err != nil || len(items) != 3 {
		t.Fatalf("organisation + territory filter: %d %v", len(items), err)
	}
	if items, _ := r.needs.List(ctx, need.Filter{Sector: "meccanica"}, nil, 10); len(items) != 0 {
		t.Fatalf("sector filter: %d", len(items))
	}
}

func offers(t *testing.T, r repos) {
	ctx := context.Background()
	mk := func(id, org, practice string, at time.Time) {
		t.Helper()
		o, err := offer.New(id, offer.Terms{OrganizationID: org, PracticeID: practice, ModelCodes: []string{"A"}, Capacity: 2, Languages: []string{"it"}, Conditions: "Visite di studio"}, "Pratica "+practice, "tester", at)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.offers.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	mk("o1", "toscana", "p1", seekT0)
	mk("o2", "toscana", "p2", seekT0.Add(time.Minute))
	mk("o3", "marche", "p3", seekT0.Add(2*time.Minute))
	mk("o4", "toscana", "p1", seekT0.Add(3*time.Minute))
	got, err := r.offers.Get(ctx, "o1")
	if err != nil || got.PracticeTitle != "Pratica p1" || fmt.Sprint(got.ModelCodes) != "[A]" || got.Capacity != 2 || got.Conditions != "Visite di studio" || got.Status != offer.Open {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := r.offers.Update(ctx, "o4", func(o *offer.Offer) error { return o.Close("tester", "piena", seekT0) }); err != nil {
		t.Fatal(err)
	}
	if k := r.pending(OffersCollection, "o4"); k != 2 {
		t.Fatalf("outbox holds %d events, want opened and closed", k)
	}
	open, err := r.offers.OpenForPractices(ctx, []string{"p1", "p3", "p9"})
	ids := []string{}
	for _, o := range open {
		ids = append(ids, o.ID)
	}
	sort.Strings(ids)
	if err != nil || fmt.Sprint(ids) != "[o1 o3]" {
		t.Fatalf("open offers of p1, p3: %v %v", ids, err)
	}
	list, err := r.offers.List(ctx, offer.Filter{OrganizationID: "toscana"}, nil, 10)
	if err != nil || len(list) != 3 || list[0].ID != "o4" {
		t.Fatalf("offers of Toscana newest first: %v %v", list, err)
	}
	list, _ = r.offers.List(ctx, offer.Filter{OrganizationID: "toscana", Status: offer.Open}, &paging.Cursor{Key: list[1].SortKey(), ID: list[1].ID}, 10)
	if len(list) != 1 || list[0].ID != "o1" {
		t.Fatalf("next page of Toscana's open offers: %v", list)
	}
	if _, err := r.offers.Get(ctx, "zzz"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown: %v", err)
	}
}
