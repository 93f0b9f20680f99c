package search

import (
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// The searches run on the segments (execute.go) must find what Bleve's
// own searchers find for the same query, ranked by the same scores: the
// same total, the same facet counts, and a first page in the order of
// Bleve's scores. The index is on disk, loaded in several batches (so in
// several segments) with some documents replaced (so some deleted).
func TestSearchesAgreeWithBleve(t *testing.T) {
	x, err := Open(Config{Dir: filepath.Join(t.TempDir(), "i"), Logger: quiet, SynonymsFile: SynonymsOff})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rng := rand.New(rand.NewSource(3))
	vocab := strings.Fields("formazione lavoro competenze scuola giovani impresa servizi sociali infanzia territorio rete digitale turismo salute anziani cura orientamento tirocini docenti comune")
	themes := []string{"lavoro", "prima infanzia", "turismo", "salute"}
	text := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = vocab[int(math.Min(float64(len(vocab)-1), rng.ExpFloat64()*5))]
		}
		return strings.Join(w, " ")
	}
	var all []*practice.Practice
	for i := 0; i < 600; i++ {
		p, err := practice.New(fmt.Sprintf("p%03d", i), practice.Content{
			Title: text(4 + rng.Intn(6)), Summary: text(10 + rng.Intn(20)), Description: text(20 + rng.Intn(80)), Problem: "p",
			OwnerOrganizationIDs: []string{"o"}, Themes: []string{themes[rng.Intn(len(themes))]}, Languages: []string{"it"},
			Territory: organization.Territory{Code: []string{"ITI1", "ITI3", "ITF6"}[rng.Intn(3)], Name: "t"},
		}, t0)
		if err != nil {
			t.Fatal(err)
		}
		// Some at the same time: the newest first, then by id.
		p.Status, p.Revision, p.PublishedAt, p.Version = practice.Published, 1, t0.Add(time.Duration(rng.Intn(300))*time.Hour), 1
		all = append(all, p)
		if len(all)%150 == 0 {
			if err := x.LoadPractices(all[len(all)-150:]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range all[:40] { // replaced: their first documents are deleted
		p.Version, p.Title = 2, p.Title+" rivista"
		if err := x.ApplyPractice(p, 0); err != nil {
			t.Fatal(err)
		}
	}

	for _, c := range []app.PracticeSearch{
		{Text: "formazione"}, {Text: "lavoro giovani"}, {Text: "competenze scuola docenti"},
		{Text: "servizi sociali infanzia territorio rete"}, {Text: "formazione", Themes: []string{"lavoro"}},
		{Text: "impresa", TerritoryCodes: []string{"ITI1", "ITF6"}}, {Text: "anziani cura", Offset: 5},
	} {
		c.Limit = 10
		res, err := x.SearchPractices(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		bleveTotal, bleveScores := bleveSearch(t, x, c)
		if res.Total != bleveTotal || res.Total == 0 {
			t.Errorf("%+v: total %d, Bleve %d", c, res.Total, bleveTotal)
			continue
		}
		// Bleve's scores carry a query norm, the same for every document.
		var norm float64
		for i, h := range res.Hits {
			bs, ok := bleveScores[h.Practice.ID]
			if !ok {
				t.Errorf("%+v: %s is not among Bleve's hits", c, h.Practice.ID)
				continue
			}
			if i == 0 {
				norm = h.Score / bs
			}
			if math.Abs(h.Score-bs*norm) > 1e-4*h.Score {
				t.Errorf("%+v: %s scores %g, Bleve %g (×%g)", c, h.Practice.ID, h.Score, bs, norm)
			}
		}
		// The page is Bleve's best, in order.
		ranked := make([]string, 0, len(bleveScores))
		for id := range bleveScores {
			ranked = append(ranked, id)
		}
		sort.Slice(ranked, func(i, j int) bool { return bleveScores[ranked[i]] > bleveScores[ranked[j]] })
		for i, h := range res.Hits {
			want := ranked[c.Offset+i]
			if h.Practice.ID != want && math.Abs(bleveScores[want]-bleveScores[h.Practice.ID]) > 1e-9*bleveScores[want] {
				t.Errorf("%+v: hit %d is %s, Bleve ranks %s there", c, i, h.Practice.ID, want)
			}
		}
		// Facets: counted over every match.
		counts := map[string]int{}
		for _, f := range res.Facets {
			for _, v := range f.Counts {
				counts[f.Field+"="+v.Value] = v.Count
			}
		}
		want := map[string]int{}
		for id := range bleveScores {
			p := all[mustAtoi(t, id[1:])]
			want["theme="+p.Themes[0]]++
			want["territory="+p.Territory.Code]++
		}
		for k, n := range want {
			if counts[k] != n {
				t.Errorf("%+v: facet %s = %d, want %d", c, k, counts[k], n)
			}
		}
	}
}

func TestBrowsingAgreesWithBleve(t *testing.T) {
	x, err := Open(Config{Dir: filepath.Join(t.TempDir(), "i"), Logger: quiet, SynonymsFile: SynonymsOff})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rng := rand.New(rand.NewSource(5))
	var batch []*practice.Practice
	for i := 0; i < 300; i++ {
		p, err := practice.New(fmt.Sprintf("p%03d", i), practice.Content{
			Title: "t", Summary: "s", Description: "d", Problem: "p", OwnerOrganizationIDs: []string{"o"},
			Themes: []string{[]string{"lavoro", "turismo"}[rng.Intn(2)]}, Languages: []string{"it"},
			Territory: organization.Territory{Code: "ITI1", Name: "t"},
		}, t0)
		if err != nil {
			t.Fatal(err)
		}
		p.Status, p.Revision, p.PublishedAt, p.Version = practice.Published, 1, t0.Add(time.Duration(rng.Intn(50))*time.Hour), 1
		if batch = append(batch, p); len(batch) == 100 {
			if err := x.LoadPractices(batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	for _, q := range []app.PracticeSearch{{Limit: 20}, {Limit: 20, Offset: 35}, {Limit: 20, Themes: []string{"turismo"}}} {
		res, err := x.SearchPractices(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		req := bleve.NewSearchRequestOptions(filtered(kindPractice, nil, map[string][]string{fieldThemes: q.Themes}), q.Limit, q.Offset, false)
		req.SortBy([]string{"-" + fieldSortTime, "_id"})
		want, err := x.index().Search(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != int(want.Total) || len(res.Hits) != len(want.Hits) {
			t.Fatalf("%+v: %d of %d, Bleve %d of %d", q, len(res.Hits), res.Total, len(want.Hits), want.Total)
		}
		for i, h := range want.Hits {
			if got := practiceDocID(res.Hits[i].Practice.ID); got != h.ID {
				t.Errorf("%+v: hit %d is %s, Bleve sorts %s there", q, i, got, h.ID)
			}
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// bleveSearch runs the Bleve query of the same shape as the plan of q, and
// returns its total and the score of every hit by practice id.
func bleveSearch(t *testing.T, x *Index, q app.PracticeSearch) (int, map[string]float64) {
	t.Helper()
	words := x.words(q.Text, maxMatchWords)
	expanded, err := withReader(x.index(), func(r index.IndexReader) (map[string][]string, error) { return expansions(r, kindPractice, words) })
	if err != nil {
		t.Fatal(err)
	}
	clauses, min, _ := x.textPlan(kindPractice, words, expanded)
	qs := make([]query.Query, len(clauses))
	for i, c := range clauses {
		qs[i] = bleveClause(c)
	}
	var text query.Query
	if min >= len(clauses) {
		text = query.NewConjunctionQuery(qs)
	} else {
		d := query.NewDisjunctionQuery(qs)
		d.SetMin(float64(min))
		text = d
	}
	req := bleve.NewSearchRequestOptions(filtered(kindPractice, text, map[string][]string{
		fieldThemes: q.Themes, fieldTerritory: q.TerritoryCodes,
	}), 10000, 0, false)
	req.Fields = []string{fieldSource}
	res, err := x.index().Search(req)
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]float64{}
	for _, h := range res.Hits {
		p, err := practiceFromSource(h.Fields)
		if err != nil {
			t.Fatal(err)
		}
		scores[p.ID] = h.Score
	}
	return int(res.Total), scores
}

// Searches share the caches of segments and postings: run many at once,
// while documents are written, under the race detector.
func TestConcurrentSearchesAndWrites(t *testing.T) {
	x := newFixtureIndex(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 30; i++ {
			p := fixtures[i%len(fixtures)].practice(t)
			p.Version = int64(10 + i)
			if err := x.ApplyPractice(p, 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 40; i++ {
				res, err := x.SearchPractices(ctx, app.PracticeSearch{Text: []string{"competenze", "meccanica", "infanzia servizi", ""}[i%4], Limit: 5})
				if err == nil && res.Total == 0 {
					err = fmt.Errorf("search %d found nothing", i)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-done
}
