package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// relevanceIndex is a search index that answers its practices in the
// order it holds them (its "relevance"), paged by offset.
type relevanceIndex struct {
	app.SearchIndex
	hits []*practice.Practice
}

func (x relevanceIndex) SearchPractices(_ context.Context, q app.PracticeSearch) (app.PracticeResults, error) {
	res := app.PracticeResults{Total: len(x.hits)}
	for i := q.Offset; i < len(x.hits) && i < q.Offset+q.Limit; i++ {
		res.Hits = append(res.Hits, app.PracticeHit{Practice: x.hits[i], Score: float64(len(x.hits) - i)})
	}
	return res, nil
}

func TestSearchPracticesInEveryOrderWithTokens(t *testing.T) {
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var hits []*practice.Practice
	for i, c := range []struct {
		title     string
		twinnings int
	}{{"Delta", 0}, {"Bravo", 3}, {"Echo", 2}, {"Alfa", 1}, {"Charlie", 2}} {
		hits = append(hits, &practice.Practice{ID: fmt.Sprintf("id-%d", i), Content: practice.Content{Title: c.title},
			CreatedAt: at.Add(time.Duration(i) * time.Hour), Adoption: practice.Adoption{Twinnings: c.twinnings}})
	}
	a := app.New(app.Deps{
		Organizations: adapters.NewOrganizationMemoryRepository(), Practices: adapters.NewPracticeMemoryRepository(),
		SeekOfferDeps: app.SeekOfferDeps{Search: relevanceIndex{hits: hits}},
	})
	walk := func(order string) string {
		var titles []string
		token := ""
		for i := 0; i < 10; i++ {
			page, err := a.SearchPractices.Handle(context.Background(), app.SearchRequest{Text: "lavoro", OrderBy: order, PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatalf("order %q: %v", order, err)
			}
			if page.Total != 5 {
				t.Fatalf("order %q: total %d", order, page.Total)
			}
			for _, h := range page.Hits {
				titles = append(titles, h.Practice.Title)
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		return fmt.Sprint(titles)
	}
	for order, want := range map[string]string{
		"":             "[Delta Bravo Echo Alfa Charlie]",
		"relevance":    "[Delta Bravo Echo Alfa Charlie]",
		"newest":       "[Charlie Alfa Echo Bravo Delta]",
		"title":        "[Alfa Bravo Charlie Delta Echo]",
		"most_adopted": "[Bravo Charlie Echo Alfa Delta]", // ties newest first
	} {
		if got := walk(order); got != want {
			t.Errorf("order %q: %s, want %s", order, got, want)
		}
	}
	first, _ := a.SearchPractices.Handle(context.Background(), app.SearchRequest{Text: "lavoro", OrderBy: "title", PageSize: 2})
	if _, err := a.SearchPractices.Handle(context.Background(), app.SearchRequest{Text: "lavoro", PageSize: 2, PageToken: first.NextPageToken}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Errorf("a token of the title order replayed by relevance: %v", err)
	}
	if _, err := a.SearchPractices.Handle(context.Background(), app.SearchRequest{OrderBy: "popularity"}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Errorf("an unknown order: %v", err)
	}
}
