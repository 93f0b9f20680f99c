package search

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

var (
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
	t0    = time.Date(2024, 4, 2, 9, 0, 0, 0, time.UTC)
	ctx   = context.Background()
)

type fixtureOrg struct {
	id   string
	kind organization.Kind
}

var fixtureOrgs = []fixtureOrg{
	{"toscana", organization.Region}, {"firenze", organization.Municipality}, {"marche", organization.Region},
	{"ptp-pistoia", organization.Network}, {"its-meccanica", organization.ITSFoundation}, {"coop-sociale", organization.Association},
}

type fixture struct {
	id, title, summary, description, results string
	owners, themes, sectors                  []string
	territory, language                      string
	models                                   []practice.Model
}

// fixtures are published practices written for these tests; the expected
// facet counts below are computed from this table, not from the index.
var fixtures = []fixture{
	{id: "tos-ca", title: "Tos.Ca. – Valorizzare le competenze dei cittadini",
		summary:     "Libretto formativo, repertorio regionale e certificazione delle competenze.",
		description: "Il sistema regionale delle competenze riconosce quanto i cittadini hanno appreso in contesti non formali.",
		owners:      []string{"toscana", "firenze"}, themes: []string{"lavoro", "certificazione delle competenze"}, territory: "ITI1",
		models: []practice.Model{{Code: "A", Title: "Piattaforma e-learning Trio"}, {Code: "B", Title: "Libretto formativo del cittadino"}}},
	{id: "nidi", title: "Servizi per la prima infanzia nella città di Firenze",
		summary:     "Asili nido di qualità: coordinamento pedagogico e formazione delle educatrici.",
		description: "La città ha qualificato l’offerta dei servizi educativi per l’infanzia <0-3 anni> con un modello organizzativo innovativo.",
		owners:      []string{"firenze"}, themes: []string{"prima infanzia", "istruzione e formazione"}, territory: "048017",
		models: []practice.Model{{Code: "E", Title: "Servizi per la prima infanzia"}}},
	{id: "ptp", title: "Polo tecnico professionale della meccanica",
		summary:     "Rete tra scuole, imprese e ITS per formare tecnici della meccanica e delle macchine CNC.",
		description: "Il polo riduce il mismatch tra domanda e offerta di competenze tecniche nella filiera meccanica.",
		owners:      []string{"ptp-pistoia", "its-meccanica"}, themes: []string{"istruzione e formazione", "lavoro"}, sectors: []string{"meccanica"}, territory: "ITI13",
		models: []practice.Model{{Code: "A", Title: "Osservatorio delle professioni"}}},
	{id: "gol", title: "Politiche attive del lavoro: il programma GOL nelle Marche",
		summary:     "Percorsi personalizzati di reinserimento lavorativo e riqualificazione professionale.",
		description: "I centri per l'impiego accompagnano al lavoro disoccupati e persone fragili.",
		owners:      []string{"marche"}, themes: []string{"lavoro", "inclusione sociale"}, territory: "ITI3",
		models: []practice.Model{{Code: "A", Title: "Patto di servizio personalizzato"}}},
	{id: "agri", title: "Agricoltura sociale nelle aziende agricole",
		summary:     "Inserimento lavorativo di persone svantaggiate nelle aziende della filiera agroalimentare.",
		description: "Le cooperative sociali e le aziende agricole costruiscono percorsi di inclusione.",
		owners:      []string{"coop-sociale"}, themes: []string{"inclusione sociale"}, sectors: []string{"agribusiness"}, territory: "ITI1",
		models: []practice.Model{{Code: "A", Title: "Fattoria sociale"}}},
	{id: "mentor", title: "Mentoring for young engineers in mechanical companies",
		summary:     "Senior technicians coach apprentices on CNC machining and quality.",
		description: "Companies of the mechanics supply chain share their skills with vocational schools.",
		owners:      []string{"its-meccanica"}, themes: []string{"lavoro"}, sectors: []string{"meccanica"}, territory: "ITI1", language: "en",
		models: []practice.Model{{Code: "A", Title: "Apprenticeship mentoring"}}},
}

func (f fixture) practice(t testing.TB) *practice.Practice {
	t.Helper()
	lang := f.language
	if lang == "" {
		lang = "it"
	}
	p, err := practice.New(f.id, practice.Content{
		Title: f.title, Summary: f.summary, Description: f.description, Problem: "p", Results: f.results,
		OwnerOrganizationIDs: f.owners, Themes: f.themes, Sectors: f.sectors, Languages: []string{lang},
		Territory: organization.Territory{Code: f.territory, Name: f.territory}, Models: f.models,
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	p.Status, p.Revision, p.PublishedAt, p.Version = practice.Published, 1, t0, 3
	return p
}

func newFixtureIndex(t *testing.T) *Index {
	t.Helper()
	x, err := Open(Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	for _, o := range fixtureOrgs {
		if err := x.ApplyOrganization(&organization.Organization{ID: o.id, Details: organization.Details{Name: o.id, Kind: o.kind}, Version: 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fixtures {
		if err := x.ApplyPractice(f.practice(t), 0); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func ids(res app.PracticeResults) []string {
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.Practice.ID)
	}
	return out
}

func searchIDs(t *testing.T, x *Index, q app.PracticeSearch) []string {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 20
	}
	res, err := x.SearchPractices(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	return ids(res)
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestLanguageAwareMatching(t *testing.T) {
	x := newFixtureIndex(t)
	for _, c := range []struct {
		name, q string
		want    []string
		notWant []string
	}{
		{name: "another inflection of the same Italian word", q: "competenza", want: []string{"tos-ca"}},
		{name: "an accent-less query finds accented text", q: "citta", want: []string{"nidi"}},
		{name: "an accented query finds the same", q: "città", want: []string{"nidi"}},
		{name: "a typo in a short query", q: "competnze", want: []string{"tos-ca"}},
		{name: "a typo in two words", q: "asilli nidoo", want: []string{"nidi"}},
		{name: "stop words do not match everything", q: "della", want: nil, notWant: []string{"tos-ca", "nidi"}},
		{name: "every word of a short query must match", q: "meccanica infanzia", want: nil, notWant: []string{"ptp", "nidi"}},
		{name: "English content is analysed in English", q: "apprentice engineering", want: []string{"mentor"}},
		{name: "elided articles: l’offerta", q: "offerta infanzia", want: []string{"nidi"}},
		{name: "model titles are searched", q: "osservatorio professioni", want: []string{"ptp"}},
	} {
		t.Run(c.name, func(t *testing.T) {
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
		})
	}
}

// expectedFacets counts, from the fixture table, the values of each facet
// among the practices with ids.
func expectedFacets(ids []string) map[string]map[string]int {
	kinds := map[string]string{}
	for _, o := range fixtureOrgs {
		kinds[o.id] = o.kind.String()
	}
	want := map[string]map[string]int{"theme": {}, "sector": {}, "territory": {}, "owner_kind": {}}
	for _, f := range fixtures {
		if !has(ids, f.id) {
			continue
		}
		for _, th := range f.themes {
			want["theme"][th]++
		}
		for _, s := range f.sectors {
			want["sector"][s]++
		}
		want["territory"][f.territory]++
		seen := map[string]bool{}
		for _, o := range f.owners {
			if !seen[kinds[o]] {
				seen[kinds[o]] = true
				want["owner_kind"][kinds[o]]++
			}
		}
	}
	return want
}

func TestFacetCountsAreTheNumbersOfMatchingPractices(t *testing.T) {
	x := newFixtureIndex(t)
	for _, c := range []struct {
		name string
		q    app.PracticeSearch
		ids  []string
	}{
		{"everything", app.PracticeSearch{}, []string{"tos-ca", "nidi", "ptp", "gol", "agri", "mentor"}},
		{"lavoro", app.PracticeSearch{Text: "lavoro"}, nil},
		{"filtered by theme", app.PracticeSearch{Themes: []string{"lavoro"}}, []string{"tos-ca", "ptp", "gol", "mentor"}},
		{"two themes are alternatives, a sector narrows", app.PracticeSearch{Themes: []string{"lavoro", "inclusione sociale"}, Sectors: []string{"meccanica"}}, []string{"ptp", "mentor"}},
		{"owner kind", app.PracticeSearch{OwnerKinds: []string{"region"}}, []string{"tos-ca", "gol"}},
		{"territory", app.PracticeSearch{TerritoryCodes: []string{"ITI1", "ITI3"}}, []string{"tos-ca", "gol", "agri", "mentor"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.q.Limit = 20
			res, err := x.SearchPractices(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(res)
			if c.ids != nil {
				sort.Strings(got)
				want := append([]string(nil), c.ids...)
				sort.Strings(want)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("found %v, want %v", got, want)
				}
			}
			if res.Total != len(got) {
				t.Fatalf("total %d, hits %d", res.Total, len(got))
			}
			want := expectedFacets(got)
			for _, f := range res.Facets {
				counts := map[string]int{}
				for _, c := range f.Counts {
					counts[c.Value] = c.Count
				}
				if fmt.Sprint(counts) != fmt.Sprint(want[f.Field]) {
					t.Errorf("facet %s = %v, want %v", f.Field, counts, want[f.Field])
				}
			}
			if len(res.Facets) != 4 {
				t.Errorf("facets = %+v", res.Facets)
			}
		})
	}
}

func TestHighlightsMarkMatchesAndEscapeHTML(t *testing.T) {
	x := newFixtureIndex(t)
	res, err := x.SearchPractices(ctx, app.PracticeSearch{Text: "anni infanzia", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) == 0 || res.Hits[0].Practice.ID != "nidi" {
		t.Fatalf("hits = %v", ids(res))
	}
	var description string
	for _, h := range res.Hits[0].Highlights {
		if h.Field == "description" {
			description = strings.Join(h.Fragments, " … ")
		}
	}
	// The elided article stays inside the mark: it is part of the word.
	if !strings.Contains(description, "infanzia</mark>") || !strings.Contains(description, "<mark>anni</mark>") {
		t.Fatalf("description highlight = %q", description)
	}
	if !strings.Contains(description, "&lt;0-3") || strings.Contains(description, "<0-3") {
		t.Fatalf("the source's HTML is not escaped: %q", description)
	}
	if strings.Count(description, "<") != strings.Count(description, "<mark>")+strings.Count(description, "</mark>") {
		t.Fatalf("a tag other than <mark>: %q", description)
	}
}

// Practices' texts are Markdown: a hit's highlights are their words, with
// no asterisks, underscores or link addresses, and still escaped.
func TestHighlightsAreTheWordsWithoutTheMarkdown(t *testing.T) {
	x, err := Open(Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	if err := x.ApplyOrganization(&organization.Organization{ID: "toscana", Details: organization.Details{Name: "toscana", Kind: organization.Region}, Version: 1}, 0); err != nil {
		t.Fatal(err)
	}
	f := fixture{id: "md", title: "Sportello unico", summary: "Un solo sportello.",
		description: "Lo **sportello unico** per le _imprese_, vedi [il bando](https://www.regione.toscana.it/bando) & altro <0-3>.",
		results:     "- tempi **dimezzati**", owners: []string{"toscana"}, themes: []string{"lavoro"}, territory: "ITI1",
		models: []practice.Model{{Code: "A", Title: "Modello", Description: "Un `modulo` **unico** per le imprese"}}}
	if err := x.ApplyPractice(f.practice(t), 0); err != nil {
		t.Fatal(err)
	}
	res, err := x.SearchPractices(ctx, app.PracticeSearch{Text: "imprese bando dimezzati", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 {
		t.Fatalf("hits = %v", ids(res))
	}
	got := map[string]string{}
	for _, h := range res.Hits[0].Highlights {
		got[h.Field] = strings.Join(h.Fragments, " … ")
	}
	for field, want := range map[string]string{
		"description": "Lo sportello unico per le <mark>imprese</mark>, vedi il <mark>bando</mark> &amp; altro &lt;0-3&gt;.",
		"results":     "tempi <mark>dimezzati</mark>",
		"models":      "A Modello\nUn modulo unico per le <mark>imprese</mark>",
	} {
		if got[field] != want {
			t.Errorf("%s highlight = %q, want %q", field, got[field], want)
		}
	}
}

func TestPagesAndSortWithoutQuery(t *testing.T) {
	x := newFixtureIndex(t)
	first := searchIDs(t, x, app.PracticeSearch{Limit: 4})
	rest := searchIDs(t, x, app.PracticeSearch{Offset: 4, Limit: 4})
	if len(first) != 4 || len(rest) != 2 {
		t.Fatalf("pages %v then %v", first, rest)
	}
	all := map[string]bool{}
	for _, id := range append(first, rest...) {
		all[id] = true
	}
	if len(all) != len(fixtures) {
		t.Fatalf("pages overlap: %v %v", first, rest)
	}
}

func publishedEvent(t *testing.T, p *practice.Practice, subject practice.EventType) *eventsv1.Envelope {
	t.Helper()
	msg := &eventsv1.PracticeRef{Id: p.ID, Title: p.Title, Status: protoconv.StatusToProto(p.Status), Version: p.Version}
	var env *eventsv1.Envelope
	var err error
	switch subject {
	case practice.EventArchived:
		env, err = events.NewEnvelope(string(subject), "anonymous", "practice", p.ID, p.Version, &eventsv1.PracticeArchived{Practice: msg}, t0)
	case practice.EventRevised:
		env, err = events.NewEnvelope(string(subject), "anonymous", "practice", p.ID, p.Version, &eventsv1.PracticeRevised{Practice: msg}, t0)
	default:
		env, err = events.NewEnvelope(string(subject), "anonymous", "practice", p.ID, p.Version, &eventsv1.PracticePublished{Practice: msg}, t0)
	}
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// readAs is a repository whose Get answers the practice it holds now:
// how the index reads what a thin event names.
type readAs struct {
	practice.Repository
	p *practice.Practice
}

func (r *readAs) Get(_ context.Context, id string) (*practice.Practice, error) {
	if r.p == nil || r.p.ID != id {
		return nil, practice.ErrNotFound(id)
	}
	c := *r.p
	return &c, nil
}

func TestEventsApplyByVersionAndMoveTheSequence(t *testing.T) {
	x := newFixtureIndex(t)
	repo := &readAs{}
	apply := func(p *practice.Practice, subject practice.EventType, seq uint64) {
		t.Helper()
		repo.p = p
		if err := x.ApplyEvent(context.Background(), Source{Practices: repo}, publishedEvent(t, p, subject), seq); err != nil {
			t.Fatal(err)
		}
	}
	p := fixtures[0].practice(t)
	p.Version = 5
	p.Title = "Tos.Ca. rivista: competenze e orientamento"
	apply(p, practice.EventRevised, 7)
	if got := searchIDs(t, x, app.PracticeSearch{Text: "orientamento"}); !has(got, "tos-ca") {
		t.Fatalf("revision not applied: %v", got)
	}
	// A read that answers an older version (a late replica) changes nothing.
	older := fixtures[0].practice(t)
	older.Version = 4
	older.Status = practice.Archived
	apply(older, practice.EventArchived, 8)
	if got := searchIDs(t, x, app.PracticeSearch{Text: "orientamento"}); !has(got, "tos-ca") {
		t.Fatalf("an older event changed the index: %v", got)
	}
	if st, _ := x.State(); st.Sequence != 8 {
		t.Fatalf("sequence = %d, want 8 even for an event that changed nothing", st.Sequence)
	}
	archived := fixtures[0].practice(t)
	archived.Version = 6
	archived.Status = practice.Archived
	apply(archived, practice.EventArchived, 9)
	if got := searchIDs(t, x, app.PracticeSearch{Text: "competenze"}); has(got, "tos-ca") {
		t.Fatalf("archived practice still found: %v", got)
	}
	// A replayed older publication cannot bring it back.
	apply(p, practice.EventRevised, 10)
	if got := searchIDs(t, x, app.PracticeSearch{Text: "competenze"}); has(got, "tos-ca") {
		t.Fatalf("a replayed event resurrected an archived practice: %v", got)
	}
	// A practice the store no longer has is skipped; the sequence moves.
	repo.p = nil
	if err := x.ApplyEvent(context.Background(), Source{Practices: repo}, publishedEvent(t, p, practice.EventRevised), 11); err != nil {
		t.Fatal(err)
	}
	if st, _ := x.State(); st.Sequence != 11 {
		t.Fatalf("sequence = %d after an event of a practice gone", st.Sequence)
	}

	// An organisation that becomes another kind changes its practices' facet.
	if err := x.ApplyOrganization(&organization.Organization{ID: "marche", Details: organization.Details{Name: "Marche", Kind: organization.PublicAgency}, Version: 2}, 12); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, x, app.PracticeSearch{OwnerKinds: []string{"public_agency"}}); fmt.Sprint(got) != "[gol]" {
		t.Fatalf("owner kind after the organisation changed: %v", got)
	}
}

func TestNeedsAreSearchableWhileOpen(t *testing.T) {
	x := newFixtureIndex(t)
	n, err := need.New("n1", need.Details{OrganizationID: "vibo", Title: "Cerchiamo un modello di servizi sociali integrati",
		Problem: "Il Comune vuole integrare servizi sociali e per il lavoro.", Themes: []string{"politiche sociali"}, Territory: need.Territory{Code: "102047", Name: "Vibo Valentia"}}, "anonymous", t0)
	if err != nil {
		t.Fatal(err)
	}
	n.Version = 1
	if err := x.ApplyNeed(n, 0); err != nil {
		t.Fatal(err)
	}
	res, err := x.SearchNeeds(ctx, app.NeedSearch{Text: "sociale", Limit: 10})
	if err != nil || res.Total != 1 || res.Hits[0].Need.ID != "n1" || res.Hits[0].Need.Territory.Code != "102047" {
		t.Fatalf("open need: %+v %v", res, err)
	}
	if got, _ := x.SearchPractices(ctx, app.PracticeSearch{Text: "integrare", Limit: 10}); got.Total != 0 {
		t.Fatalf("a need found among practices: %v", ids(got))
	}
	if got, err := x.MatchPractices(ctx, app.MatchQuery{Text: "integrare", Themes: []string{"politiche sociali"}}); err != nil || len(got) != 0 {
		t.Fatalf("matching practices found %d candidates (a need among them?): %v", len(got), err)
	}
	if got, err := x.MatchNeeds(ctx, app.MatchQuery{Text: "servizi sociali", Themes: []string{"Politiche Sociali"}}); err != nil || len(got) != 1 || got[0].Need.ID != "n1" ||
		fmt.Sprint(got[0].MatchedTerms) != "[servizi sociali]" {
		t.Fatalf("matching needs: %+v %v", got, err)
	}
	if _, err := n.Match("tw-1", "system", t0); err != nil {
		t.Fatal(err)
	}
	n.Version = 2
	if err := x.ApplyNeed(n, 0); err != nil {
		t.Fatal(err)
	}
	if res, _ := x.SearchNeeds(ctx, app.NeedSearch{Text: "sociale", Limit: 10}); res.Total != 0 {
		t.Fatalf("a matched need is still searched: %+v", res)
	}
}

func TestRebuildAndReopenFromDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	orgs, practices, needs := adapters.NewOrganizationMemoryRepository(), adapters.NewPracticeMemoryRepository(), adapters.NewNeedMemoryRepository()
	for _, o := range fixtureOrgs {
		org, _ := organization.New(o.id, organization.Details{Name: o.id, Kind: o.kind}, "t", t0)
		if err := orgs.Create(ctx, org); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fixtures {
		p := f.practice(t)
		if err := practices.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	src := Source{Organizations: orgs, Practices: practices, Needs: needs}

	x, err := Open(Config{Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if !x.Fresh() {
		t.Fatal("a new directory is a fresh index")
	}
	if err := x.Rebuild(ctx, src, State{Sequence: 42, Stream: "s1"}); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, x, app.PracticeSearch{OwnerKinds: []string{"network"}}); fmt.Sprint(got) != "[ptp]" {
		t.Fatalf("after a rebuild: %v", got)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, it keeps its documents and its state: nothing to rebuild.
	x, err = Open(Config{Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := x.State()
	if x.Fresh() || st != (State{Sequence: 42, Stream: "s1"}) {
		t.Fatalf("reopened: fresh %v, state %+v", x.Fresh(), st)
	}
	if n, _ := x.DocCount(); n != uint64(len(fixtures)) {
		t.Fatalf("reopened with %d documents", n)
	}
	if reason := rebuildReason(x.Fresh(), st, State{Sequence: 50, Stream: "s1"}, 1); reason != "" {
		t.Fatalf("an index behind by replayable events needs no rebuild: %s", reason)
	}
	for _, c := range []struct {
		current State
		first   uint64
	}{
		{State{Sequence: 50, Stream: "s2"}, 1},  // the stream was created anew
		{State{Sequence: 30, Stream: "s1"}, 1},  // the stream is behind the index
		{State{Sequence: 90, Stream: "s1"}, 60}, // events 43..59 are gone
	} {
		if rebuildReason(false, st, c.current, c.first) == "" {
			t.Errorf("no rebuild for %+v from %d", c.current, c.first)
		}
	}
	_ = x.Close()

	// Deleted, or broken, it starts fresh.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	x, err = Open(Config{Dir: dir, Logger: quiet})
	if err != nil || !x.Fresh() {
		t.Fatalf("deleted index: fresh %v, %v", x != nil && x.Fresh(), err)
	}
	_ = x.Close()
	if err := os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte("{broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	x, err = Open(Config{Dir: dir, Logger: quiet})
	if err != nil || !x.Fresh() {
		t.Fatalf("broken index: %v", err)
	}
	if err := x.Rebuild(ctx, src, State{Sequence: 1, Stream: "s3"}); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, x, app.PracticeSearch{Text: "competenze"}); !has(got, "tos-ca") {
		t.Fatalf("rebuilt after breaking: %v", got)
	}
	_ = x.Close()
}

// TestAnAdoptionChangeReachesTheIndex: the event a recorded transfer
// leaves makes the index read the practice's figures again, so that the
// most adopted order and the figures of a hit follow the transfers.
func TestAnAdoptionChangeReachesTheIndex(t *testing.T) {
	x := newFixtureIndex(t)
	p := fixtures[0].practice(t)
	p.Version = 5
	repo := &readAs{p: p}
	if err := x.ApplyEvent(context.Background(), Source{Practices: repo}, publishedEvent(t, p, practice.EventRevised), 1); err != nil {
		t.Fatal(err)
	}
	adopted := fixtures[0].practice(t)
	adopted.Version = 6
	adopted.Adoption = practice.Adoption{Twinnings: 2, InProgress: 1, Adopted: 1}
	repo.p = adopted
	env, err := events.NewEnvelope("catalog.adoption.changed", "system:adoption", "transfer", "transfer-1", 3,
		&eventsv1.AdoptionChanged{PracticeId: p.ID, TransferId: "transfer-1", ModelCode: "A"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.ApplyEvent(context.Background(), Source{Practices: repo}, env, 2); err != nil {
		t.Fatal(err)
	}
	res, err := x.SearchPractices(ctx, app.PracticeSearch{Text: "competenze", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hits {
		if h.Practice.ID == p.ID {
			if got := h.Practice.Adoption; got.Twinnings != 2 || got.Adopted != 1 {
				t.Fatalf("figures in the index after the adoption event: %+v, want 2 twinnings, 1 adopted", got)
			}
			return
		}
	}
	t.Fatalf("practice %s not found: %v", p.ID, ids(res))
}
