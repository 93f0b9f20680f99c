package search

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

func TestParseSynonymsNamesTheBadLine(t *testing.T) {
	s, err := ParseSynonyms(strings.NewReader("# comment\n\nasilo nido, servizi per la prima infanzia\n  SUAP ,  sportello unico  \n"))
	if err != nil || s.Len() != 2 {
		t.Fatalf("parse: %d groups, %v", s.Len(), err)
	}
	if _, err := ParseSynonyms(strings.NewReader("asilo nido, nido d'infanzia\nNEET\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a group of one expression: %v", err)
	}
	shipped, err := LoadSynonyms("")
	if err != nil || shipped.Len() < 10 {
		t.Fatalf("the shipped list: %d groups, %v", shipped.Len(), err)
	}
	if off, err := LoadSynonyms(SynonymsOff); err != nil || off.Len() != 0 {
		t.Fatalf("off: %d groups, %v", off.Len(), err)
	}
	if _, err := LoadSynonyms(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Fatal("a missing file loads")
	}
}

// synonymPractices say things one way; the searches below say them another.
var synonymPractices = []struct{ id, title, summary string }{
	{"nidi", "Servizi per la prima infanzia in Valdera", "Coordinamento pedagogico dei servizi comunali."},
	{"sparsi", "Servizi sociali per le famiglie", "La prima accoglienza dell'infanzia fragile passa dai servizi sociali."},
	{"cerca", "Persone in cerca di lavoro: il patto di servizio", "Colloqui di orientamento e percorsi personalizzati."},
	{"suap", "Lo sportello unico per le attività produttive online", "Pratiche delle imprese in un solo portale."},
}

func newSynonymIndex(t *testing.T, cfg Config) *Index {
	t.Helper()
	cfg.Logger = quiet
	x, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	for _, sp := range synonymPractices {
		p, err := practice.New(sp.id, practice.Content{
			Title: sp.title, Summary: sp.summary, Description: "d", Problem: "p",
			OwnerOrganizationIDs: []string{"o"}, Themes: []string{"servizi"}, Languages: []string{"it"},
			Territory: organization.Territory{Code: "ITI1", Name: "Toscana"},
		}, t0)
		if err != nil {
			t.Fatal(err)
		}
		p.Status, p.Revision, p.PublishedAt, p.Version = practice.Published, 1, t0, 1
		if err := x.ApplyPractice(p, 0); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func TestSynonymsFindWhatIsSaidAnotherWay(t *testing.T) {
	x := newSynonymIndex(t, Config{})
	for _, c := range []struct {
		q       string
		want    []string
		notWant []string
	}{
		// "asili nido" is in the list with "servizi per la prima infanzia":
		// found where those words stand together, not where they are scattered.
		{q: "asili nido", want: []string{"nidi"}, notWant: []string{"sparsi"}},
		{q: "nido d'infanzia valdera", want: []string{"nidi"}},
		{q: "disoccupati", want: []string{"cerca"}},
		{q: "SUAP", want: []string{"suap"}},
		// The expression's own words still find it, as before.
		{q: "prima infanzia", want: []string{"nidi"}},
	} {
		got := searchIDs(t, x, app.PracticeSearch{Text: c.q})
		for _, w := range c.want {
			if !has(got, w) {
				t.Errorf("%q found %v, want %s among them", c.q, got, w)
			}
		}
		for _, w := range c.notWant {
			if has(got, w) {
				t.Errorf("%q found %v, which should not include %s", c.q, got, w)
			}
		}
	}

	// Highlights mark the words the practice says it with.
	res, err := x.SearchPractices(ctx, app.PracticeSearch{Text: "asili nido", Limit: 5})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("asili nido: %v %v", ids(res), err)
	}
	var title string
	for _, h := range res.Hits[0].Highlights {
		if h.Field == "title" {
			title = strings.Join(h.Fragments, " ")
		}
	}
	if !strings.Contains(title, "<mark>prima</mark> <mark>infanzia</mark>") {
		t.Fatalf("title highlight = %q", title)
	}

	// Without synonyms, nothing is found another way.
	off := newSynonymIndex(t, Config{SynonymsFile: SynonymsOff})
	for _, q := range []string{"asili nido", "disoccupati", "SUAP"} {
		if got := searchIDs(t, off, app.PracticeSearch{Text: q}); len(got) != 0 {
			t.Errorf("without synonyms %q found %v", q, got)
		}
	}
}

func TestANeedFindsAPracticeWrittenWithASynonym(t *testing.T) {
	x := newSynonymIndex(t, Config{})
	n, err := need.New("n-nidi", need.Details{OrganizationID: "vibo", Title: "Aprire nuovi asili nido",
		Problem: "Il Comune vuole più posti negli asili nido per le famiglie che lavorano.",
		Themes:  []string{"prima infanzia"}, Territory: need.Territory{Code: "102047", Name: "Vibo Valentia"}}, "anonymous", t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.MatchPractices(ctx, app.MatchQuery{Text: n.Title + "\n" + n.Problem, Themes: n.Themes, ExcludeOrganizationID: n.OrganizationID})
	if err != nil {
		t.Fatal(err)
	}
	var found *app.PracticeCandidate
	for i := range got {
		if got[i].Practice.ID == "nidi" {
			found = &got[i]
		}
	}
	if found == nil || found.TextScore <= 0 {
		t.Fatalf("the need did not find the practice by its text: %+v", got)
	}
	if !has(found.MatchedTerms, "infanzia") {
		t.Fatalf("matched terms %v do not say how", found.MatchedTerms)
	}

	off := newSynonymIndex(t, Config{SynonymsFile: SynonymsOff})
	got, err = off.MatchPractices(ctx, app.MatchQuery{Text: n.Title + "\n" + n.Problem, ExcludeOrganizationID: n.OrganizationID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if c.Practice.ID == "nidi" {
			t.Fatalf("without synonyms the need found the practice: %+v", c)
		}
	}
}

func TestAnotherSynonymListRebuildsTheIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	x, err := Open(Config{Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Store.Rebuild(context.Background(), State{}, func(context.Context, *psearch.Loader) error { return nil }); err != nil { // as if built
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x, err = Open(Config{Dir: dir, Logger: quiet})
	if err != nil || x.Fresh() {
		t.Fatalf("the same list: fresh %v, %v", x != nil && x.Fresh(), err)
	}
	_ = x.Close()
	other, _ := ParseSynonyms(strings.NewReader("asilo nido, nido d'infanzia\n"))
	x, err = Open(Config{Dir: dir, Logger: quiet, Synonyms: other})
	if err != nil || !x.Fresh() {
		t.Fatalf("another list: fresh %v, %v", x != nil && x.Fresh(), err)
	}
	_ = x.Close()
}
