// Package searchbench measures the catalog's search index on synthetic
// practices: how fast batches are indexed, and the latency of the searches
// people make (one to three words, sometimes a typo or a facet filter),
// with facets, highlights and the stored documents as the API returns them.
// It runs the index the service runs (Bleve, scorch on disk in a temporary
// folder, removed afterwards), without the database or the network, so
// the figures are the index's own. `make bench` calls Run.
package searchbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/search"
)

// Goals the report checks; they are printed as met or not met, never
// asserted: a benchmark informs, a test decides.
const (
	goalP99           = 15 * time.Millisecond
	goalP99AtSize     = 100000
	goalGrowth        = 4.0
	goalGrowthFrom    = 10000
	goalGrowthTo      = 100000
	batchSize         = 1000
	warmupQueries     = 50
	measuredQueries   = 500
	organizationCount = 400
)

// DefaultSizes are the catalogue sizes the goals speak of.
var DefaultSizes = []int{10000, 100000}

// Result is the measurement at one size.
type Result struct {
	Size        int
	IndexRate   float64 // documents per second, in batches of batchSize
	IndexTime   time.Duration
	P50, P99    time.Duration
	MeanResults float64
}

// Run builds an index of each size, measures it and writes the report to
// out. It stops early when ctx ends.
func Run(ctx context.Context, out io.Writer, sizes []int) error {
	if len(sizes) == 0 {
		sizes = DefaultSizes
	}
	fmt.Fprintf(out, "search index benchmark: Bleve scorch on disk, batches of %d, %d queries per size after %d warm-up\n", batchSize, measuredQueries, warmupQueries)
	fmt.Fprintf(out, "%10s  %12s  %10s  %9s  %9s  %12s\n", "practices", "indexing/s", "build", "p50", "p99", "mean hits")
	var results []Result
	for _, n := range sizes {
		r, err := measure(ctx, n)
		if err != nil {
			return fmt.Errorf("search benchmark at %d practices: %w", n, err)
		}
		results = append(results, r)
		fmt.Fprintf(out, "%10d  %12.0f  %10s  %9s  %9s  %12.1f\n", r.Size, r.IndexRate, r.IndexTime.Round(time.Millisecond),
			r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.MeanResults)
	}
	report(out, results)
	return nil
}

func report(out io.Writer, results []Result) {
	at := func(size int) (Result, bool) {
		for _, r := range results {
			if r.Size == size {
				return r, true
			}
		}
		return Result{}, false
	}
	if r, ok := at(goalP99AtSize); ok {
		fmt.Fprintf(out, "goal: p99 under %s at %d practices: %s (p99 %s)\n", goalP99, goalP99AtSize, metOrNot(r.P99 < goalP99), r.P99.Round(10*time.Microsecond))
	} else {
		fmt.Fprintf(out, "goal: p99 under %s at %d practices: not measured\n", goalP99, goalP99AtSize)
	}
	from, okFrom := at(goalGrowthFrom)
	to, okTo := at(goalGrowthTo)
	if okFrom && okTo && from.P99 > 0 {
		growth := float64(to.P99) / float64(from.P99)
		fmt.Fprintf(out, "goal: p99 grows at most %.0fx from %d to %d practices: %s (%.2fx)\n", goalGrowth, goalGrowthFrom, goalGrowthTo, metOrNot(growth <= goalGrowth), growth)
	} else {
		fmt.Fprintf(out, "goal: p99 grows at most %.0fx from %d to %d practices: not measured\n", goalGrowth, goalGrowthFrom, goalGrowthTo)
	}
}

func metOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func measure(ctx context.Context, n int) (Result, error) {
	dir, err := os.MkdirTemp("", "gemella-searchbench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	x, err := search.Open(search.Config{Dir: filepath.Join(dir, "index"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return Result{}, err
	}
	defer x.Close()

	rng := rand.New(rand.NewSource(int64(n)))
	g := newGenerator(rng)
	if err := x.ApplyOrganizations(g.organizations()); err != nil {
		return Result{}, err
	}
	start := time.Now()
	batch := make([]*practice.Practice, 0, batchSize)
	for i := 0; i < n; i++ {
		batch = append(batch, g.practice(i))
		if len(batch) == batchSize || i == n-1 {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
			if err := x.LoadPractices(batch); err != nil {
				return Result{}, err
			}
			batch = batch[:0]
		}
	}
	build := time.Since(start)
	x.Settle(ctx, 20*time.Second)
	r := Result{Size: n, IndexTime: build, IndexRate: float64(n) / build.Seconds()}

	queries := g.queries(warmupQueries + measuredQueries)
	var latencies []time.Duration
	hits := 0
	for i, q := range queries {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		t := time.Now()
		res, err := x.SearchPractices(ctx, q)
		d := time.Since(t)
		if err != nil {
			return Result{}, err
		}
		if i >= warmupQueries {
			latencies = append(latencies, d)
			hits += res.Total
		}
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	r.P50 = percentile(latencies, 0.50)
	r.P99 = percentile(latencies, 0.99)
	r.MeanResults = float64(hits) / float64(len(latencies))
	return r, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// The synthetic catalogue models how practices are written: each is about
// one to three policy topics and draws half of its words from those
// topics' vocabularies (skewed, as real text is: a few words often, most
// rarely), a third from the administrative words every practice uses, and
// the rest from a long tail of rarer words. So a topical word (asili,
// apprendistato) matches the practices of its topics, not the whole
// catalogue, and an administrative word (servizi) matches most of it.
var (
	topics = []struct {
		theme string
		words string
	}{
		{"lavoro", "lavoro occupazione disoccupati impiego centri collocamento reinserimento lavoratori contratti assunzioni imprese tirocini politiche attive patto servizio profilazione riqualificazione crisi aziendali cassa integrazione mobilità incentivi"},
		{"istruzione e formazione", "formazione corsi docenti scuola istituti tecnici professionali percorsi qualifica diploma laboratori studenti didattica aule programmi esami frequenza agenzie formative accreditate offerta formativa"},
		{"politiche sociali", "sociali servizi assistenti famiglie povertà disagio presa carico sportello welfare sostegno reddito minori affido comunità accoglienza equipe multiprofessionale segretariato contributi"},
		{"prima infanzia", "infanzia asili nido bambini educatrici educativi coordinamento pedagogico genitori famiglie posti liste attesa sezioni primavera ludoteche spazi gioco conciliazione tempi"},
		{"e-learning", "piattaforma online distanza moduli digitale tutor virtuale aule webinar contenuti multimediali accesso gratuito utenti registrati community videolezioni apprendimento autonomo"},
		{"certificazione delle competenze", "competenze certificazione validazione riconoscimento repertorio qualificazioni standard libretto formativo esperienze informali non formali attestazione portfolio bilancio figure professionali"},
		{"inclusione sociale", "inclusione fragili disabilità svantaggiati migranti rifugiati mediazione interculturale integrazione vulnerabili borse lavoro cooperative sociali percorsi personalizzati discriminazione"},
		{"orientamento", "orientamento giovani scelte scolastiche dispersione abbandono successo formativo consulenza informazione carriera motivazione famiglie scuole medie open day"},
		{"apprendistato", "apprendistato duale alternanza scuola lavoro apprendisti tutor aziendale contratto piano formativo camere commercio sistema duale rafforzata simulata"},
		{"turismo", "turismo accoglienza turistica guide musei patrimonio culturale beni culturali itinerari ospitalità strutture ricettive visitatori promozione territorio eventi"},
		{"sviluppo rurale", "agricoltura aziende agricole agricoltori agroalimentare prodotti tipici filiera corta biologico fattorie sociali rurale giovani agricoltori cooperative vendita diretta"},
		{"salute", "salute sanità prevenzione anziani cure domiciliari telemedicina ospedale distretto sanitario infermieri medici caregiver fragilità cronicità screening"},
	}
	common = strings.Fields(`amministrazione regione comune progetto buona pratica modello servizi sistema territorio rete
		cittadini risultati obiettivi attività programma azioni interventi partner soggetti enti pubblici privati qualità
		innovazione sviluppo gestione organizzazione valutazione monitoraggio risorse finanziamento fondi europei bando
		trasferimento gemellaggio esperienza strumenti procedure dati indicatori governance coordinamento collaborazione`)
	sectors   = []string{"meccanica", "agribusiness", "turismo e beni culturali", "sistema moda", "nautica", "logistica", "energia", "edilizia"}
	territory = []string{"ITI1", "ITI3", "ITF6", "ITF4", "ITH5", "ITC4", "ITG1", "ITI4", "ITF3", "ITH3", "048017", "102047", "ITI13", "ITI17", "063049", "072006"}
	orgKinds  = organization.Kinds
	// queryWords are what people type: topical words, a pair or three,
	// an accent left out, a typo.
	queryWords = []string{"competenze", "formazione professionale", "asili nido", "inserimento lavorativo", "laboratori docenti",
		"turismo culturale", "agricoltura sociale", "piattaforma online", "certificazione", "orientamento giovani scuola",
		"competnze", "disoccupati riqualificazione", "educatrici infanzia", "centri impiego", "dispersione scolastica", "telemedicina anziani",
		"ospitalita", "mediazione interculturale", "apprendistato", "fattorie sociali", "bilancio competenze", "cure domiciliari",
		"webinar", "patrimonio culturale musei"}
)

// tail is the long tail of rare words, made up from syllables.
var tail = func() []string {
	syllables := strings.Fields("ba be bi bo ca ce ci co da de di do fa fe fi fo ga ge gi go la le li lo ma me mi mo na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi vo za ze")
	rng := rand.New(rand.NewSource(7))
	out := make([]string, 20000)
	for i := range out {
		n := 2 + rng.Intn(3)
		var b strings.Builder
		for j := 0; j < n; j++ {
			b.WriteString(syllables[rng.Intn(len(syllables))])
		}
		out[i] = b.String()
	}
	return out
}()

type generator struct {
	rng    *rand.Rand
	topics [][]string
	zipfs  []*rand.Zipf
	common *rand.Zipf
}

func newGenerator(rng *rand.Rand) *generator {
	g := &generator{rng: rng, common: rand.NewZipf(rng, 1.2, 2, uint64(len(common)-1))}
	for _, t := range topics {
		words := strings.Fields(t.words)
		g.topics = append(g.topics, words)
		g.zipfs = append(g.zipfs, rand.NewZipf(rng, 1.3, 2, uint64(len(words)-1)))
	}
	return g
}

// words writes n words about the topics.
func (g *generator) words(n int, about []int) string {
	w := make([]string, n)
	for i := range w {
		switch r := g.rng.Intn(100); {
		case r < 50:
			t := about[g.rng.Intn(len(about))]
			w[i] = g.topics[t][g.zipfs[t].Uint64()]
		case r < 85:
			w[i] = common[g.common.Uint64()]
		default:
			w[i] = tail[g.rng.Intn(len(tail))]
		}
	}
	return strings.Join(w, " ")
}

func (g *generator) pick(list []string, k int) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < k {
		s := list[g.rng.Intn(len(list))]
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (g *generator) organizations() []*organization.Organization {
	out := make([]*organization.Organization, organizationCount)
	for i := range out {
		out[i] = &organization.Organization{ID: fmt.Sprintf("org-%d", i), Details: organization.Details{Name: fmt.Sprintf("Ente %d", i), Kind: orgKinds[i%len(orgKinds)]}, Version: 1}
	}
	return out
}

func (g *generator) practice(i int) *practice.Practice {
	at := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	about := []int{g.rng.Intn(len(topics))}
	for len(about) < 3 && g.rng.Intn(2) == 0 {
		about = append(about, g.rng.Intn(len(topics)))
	}
	var themes []string
	seen := map[int]bool{}
	for _, t := range about {
		if !seen[t] {
			seen[t] = true
			themes = append(themes, topics[t].theme)
		}
	}
	p := &practice.Practice{
		ID: fmt.Sprintf("p-%07d", i),
		Content: practice.Content{
			Slug: fmt.Sprintf("pratica-%d", i), Title: g.words(6+g.rng.Intn(5), about), Summary: g.words(30, about),
			Description: g.words(120, about), Results: g.words(25, about), Problem: g.words(25, about),
			OwnerOrganizationIDs: []string{fmt.Sprintf("org-%d", g.rng.Intn(organizationCount))},
			Themes:               themes, Languages: []string{"it"},
			Territory: organization.Territory{Code: territory[g.rng.Intn(len(territory))], Name: "t"},
		},
		Status: practice.Published, Revision: 1, CreatedAt: at, UpdatedAt: at, PublishedAt: at, Version: 3,
	}
	if g.rng.Intn(3) == 0 {
		p.Sectors = g.pick(sectors, 1)
	}
	for m := 0; m < 1+g.rng.Intn(3); m++ {
		p.Models = append(p.Models, practice.Model{Code: string(rune('A' + m)), Title: g.words(5, about), Description: g.words(20, about)})
	}
	return p
}

// queries mixes words, typos and facet filters, as the portal's search box
// and its facet links would send them.
func (g *generator) queries(n int) []app.PracticeSearch {
	out := make([]app.PracticeSearch, n)
	for i := range out {
		q := app.PracticeSearch{Text: queryWords[g.rng.Intn(len(queryWords))], Limit: 20}
		switch g.rng.Intn(4) {
		case 0:
			q.Themes = []string{topics[g.rng.Intn(len(topics))].theme}
		case 1:
			q.TerritoryCodes = g.pick(territory, 2)
		}
		out[i] = q
	}
	return out
}
