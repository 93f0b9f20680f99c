// Package searchbench measures the catalog's search index on synthetic
// practices: how fast batches are indexed, how big the index gets, and the
// latency of the searches people make (one to three words, sometimes a
// typo or a facet filter), with facets, highlights and the stored
// documents as the API returns them. It runs the index the service runs
// (Bleve, scorch on disk in a temporary folder, removed afterwards, with
// the shipped synonyms), without the database or the network, so the
// figures are the index's own; with where the time goes, by phase and by
// function (a CPU profile). `make bench` calls Run.
package searchbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/search"
)

// Goals the report checks; they are printed as met or not met, never
// asserted: a benchmark informs, a test decides.
const (
	goalP99        = 15 * time.Millisecond
	goalP99AtSize  = 100000
	goalGrowth     = 4.0
	goalGrowthFrom = 10000
	goalGrowthTo   = 100000
	batchSize      = 1000
	warmupQueries  = 50
	// measuredQueries are run at each size in rounds, the sizes taking
	// turns, so that the machine's load weighs on each alike.
	measuredQueries = 500
	rounds          = 5
	// coldQueries are run after dropping the decoded postings each time.
	coldQueries       = 100
	organizationCount = 400
	profileTop        = 12
)

// DefaultSizes are the catalogue sizes the goals speak of.
var DefaultSizes = []int{10000, 100000}

// CacheEnv names a folder where Run keeps the indexes it builds and
// reuses them on the next run (then it reports no indexing rate): for
// measuring changes to searching without waiting for the build.
const CacheEnv = "GEMELLA_SEARCHBENCH_CACHE"

// Result is the measurement at one size.
type Result struct {
	Size      int
	IndexRate float64 // documents per second, in batches of batchSize; 0 when reused
	IndexTime time.Duration
	// CompactTime is merging the index into one segment, as a rebuild does.
	CompactTime time.Duration
	DiskBytes   int64
	P50, P99    time.Duration
	// ColdP50 and ColdP99 are searches that decode their words' postings.
	ColdP50, ColdP99 time.Duration
	MeanResults      float64
	Phases           search.Phases
}

// built is an index of one size, ready to measure.
type built struct {
	Result
	x       *search.Index
	cleanup func()
	lat     []time.Duration
	hits    int
}

// Run builds an index of each size, measures them and writes the report
// to out. It stops early when ctx ends.
func Run(ctx context.Context, out io.Writer, sizes []int) error {
	if len(sizes) == 0 {
		sizes = DefaultSizes
	}
	fmt.Fprintf(out, "search index benchmark: Bleve scorch on disk, batches of %d, merged into one segment as after a rebuild; %d queries per size in %d rounds taking turns, after %d warm-up, then %d cold\n",
		batchSize, measuredQueries, rounds, warmupQueries, coldQueries)
	var all []*built
	defer func() {
		for _, b := range all {
			b.cleanup()
		}
	}()
	for _, n := range sizes {
		b, err := build(ctx, n)
		if err != nil {
			return fmt.Errorf("search benchmark at %d practices: %w", n, err)
		}
		all = append(all, b)
	}
	// The same queries at every size.
	queries := newGenerator(rand.New(rand.NewSource(99))).queries(warmupQueries + measuredQueries)
	for _, b := range all {
		if err := b.run(ctx, queries[:warmupQueries], false); err != nil {
			return err
		}
	}
	largest := all[len(all)-1]
	var profiles []*profile.Profile
	per := measuredQueries / rounds
	for r := 0; r < rounds; r++ {
		chunk := queries[warmupQueries+r*per : warmupQueries+(r+1)*per]
		for _, b := range all {
			var buf bytes.Buffer
			profiling := b == largest && pprof.StartCPUProfile(&buf) == nil
			err := b.run(search.WithPhases(ctx, &b.Phases), chunk, true)
			if profiling {
				pprof.StopCPUProfile()
				if p, perr := profile.Parse(&buf); perr == nil {
					profiles = append(profiles, p)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	for _, b := range all {
		sort.Slice(b.lat, func(i, j int) bool { return b.lat[i] < b.lat[j] })
		b.P50, b.P99 = percentile(b.lat, 0.50), percentile(b.lat, 0.99)
		b.MeanResults = float64(b.hits) / float64(len(b.lat))
		cold, err := b.cold(ctx, queries[warmupQueries:warmupQueries+coldQueries])
		if err != nil {
			return err
		}
		b.ColdP50, b.ColdP99 = percentile(cold, 0.50), percentile(cold, 0.99)
	}

	fmt.Fprintf(out, "%10s  %10s  %9s  %8s  %10s  %11s  %8s  %8s  %8s  %8s  %9s\n",
		"practices", "indexing/s", "build", "compact", "index size", "per 10,000", "p50", "p99", "cold p50", "cold p99", "mean hits")
	var results []Result
	for _, b := range all {
		rate, buildTime := "reused", "-"
		if b.IndexRate > 0 {
			rate, buildTime = fmt.Sprintf("%.0f", b.IndexRate), b.IndexTime.Round(time.Second).String()
		}
		fmt.Fprintf(out, "%10d  %10s  %9s  %8s  %10s  %11s  %8s  %8s  %8s  %8s  %9.1f\n", b.Size, rate, buildTime,
			b.CompactTime.Round(100*time.Millisecond), megabytes(b.DiskBytes), megabytes(b.DiskBytes*10000/int64(b.Size)),
			ms(b.P50), ms(b.P99), ms(b.ColdP50), ms(b.ColdP99), b.MeanResults)
		results = append(results, b.Result)
	}
	fmt.Fprintf(out, "where the time goes, mean per search (warm):\n")
	fmt.Fprintf(out, "%10s  %8s  %8s  %8s  %8s  %8s  %10s  %8s\n", "practices", "words", "matches", "facets", "ranking", "page", "highlights", "total")
	for _, b := range all {
		p := b.Phases
		mean := func(d time.Duration) string { return ms(d / time.Duration(max(1, p.Searches))) }
		fmt.Fprintf(out, "%10d  %8s  %8s  %8s  %8s  %8s  %10s  %8s\n", b.Size, mean(p.Words), mean(p.Matches), mean(p.Facets),
			mean(p.Ranking), mean(p.Page), mean(p.Highlights), mean(p.Total()))
	}
	printProfile(out, largest.Size, profiles)
	report(out, results)
	return nil
}

// build indexes n practices, or reopens them from CacheEnv.
func build(ctx context.Context, n int) (*built, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := &built{Result: Result{Size: n}}
	dir, keep := os.Getenv(CacheEnv), true
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gemella-searchbench-")
		if err != nil {
			return nil, err
		}
		dir, keep = tmp, false
	}
	x, err := search.Open(search.Config{Dir: filepath.Join(dir, strconv.Itoa(n)), Logger: quiet})
	if err != nil {
		return nil, err
	}
	b.x = x
	b.cleanup = func() {
		_ = x.Close()
		if !keep {
			_ = os.RemoveAll(dir)
		}
	}
	if count, err := x.DocCount(); err == nil && count == uint64(n) {
		b.DiskBytes, err = x.DiskBytes()
		return b, err
	}
	g := newGenerator(rand.New(rand.NewSource(int64(n))))
	if err := x.ApplyOrganizations(g.organizations()); err != nil {
		b.cleanup()
		return nil, err
	}
	start := time.Now()
	batch := make([]*practice.Practice, 0, batchSize)
	for i := 0; i < n; i++ {
		batch = append(batch, g.practice(i))
		if len(batch) == batchSize || i == n-1 {
			if err := ctx.Err(); err != nil {
				b.cleanup()
				return nil, err
			}
			if err := x.LoadPractices(batch); err != nil {
				b.cleanup()
				return nil, err
			}
			batch = batch[:0]
		}
	}
	b.IndexTime = time.Since(start)
	b.IndexRate = float64(n) / b.IndexTime.Seconds()
	start = time.Now()
	if err := x.Compact(ctx); err != nil {
		b.cleanup()
		return nil, err
	}
	x.Settle(ctx, time.Minute)
	b.CompactTime = time.Since(start)
	if b.DiskBytes, err = x.DiskBytes(); err != nil {
		b.cleanup()
		return nil, err
	}
	return b, nil
}

// run searches queries, recording their latencies when measured.
func (b *built) run(ctx context.Context, queries []app.PracticeSearch, measured bool) error {
	for _, q := range queries {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := time.Now()
		res, err := b.x.SearchPractices(ctx, q)
		d := time.Since(t)
		if err != nil {
			return err
		}
		if measured {
			b.lat = append(b.lat, d)
			b.hits += res.Total
		}
	}
	return nil
}

// cold searches queries each after dropping the decoded postings.
func (b *built) cold(ctx context.Context, queries []app.PracticeSearch) ([]time.Duration, error) {
	var lat []time.Duration
	for _, q := range queries {
		b.x.DropPostings()
		t := time.Now()
		if _, err := b.x.SearchPractices(ctx, q); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, nil
}

// printProfile prints the functions that took most CPU in the profiles,
// by their own time. The runtime's preemption handler is left out: it
// stands for time taken from the process by the others on the machine.
func printProfile(out io.Writer, size int, profiles []*profile.Profile) {
	if len(profiles) == 0 {
		fmt.Fprintf(out, "CPU profile: not taken (the caller profiles the whole run)\n")
		return
	}
	merged, err := profile.Merge(profiles)
	if err != nil {
		fmt.Fprintf(out, "CPU profile: %v\n", err)
		return
	}
	flat, cum := map[string]int64{}, map[string]int64{}
	var total int64
	for _, s := range merged.Sample {
		v := s.Value[len(s.Value)-1]
		total += v
		seen := map[string]bool{}
		for i, loc := range s.Location {
			for _, line := range loc.Line {
				name := line.Function.Name
				if i == 0 {
					flat[name] += v
				}
				if !seen[name] {
					seen[name] = true
					cum[name] += v
				}
			}
		}
	}
	if total == 0 {
		return
	}
	type fn struct {
		name      string
		flat, cum int64
	}
	var fns []fn
	for name, f := range flat {
		if name != "runtime.asyncPreempt" {
			fns = append(fns, fn{name, f, cum[name]})
		}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].flat > fns[j].flat })
	fmt.Fprintf(out, "CPU profile of the warm searches at %d practices (pprof; top %d by own time, of %s sampled):\n", size, profileTop, time.Duration(total).Round(time.Millisecond))
	fmt.Fprintf(out, "%7s  %7s  %s\n", "own", "with callees", "function")
	for i := 0; i < len(fns) && i < profileTop; i++ {
		fmt.Fprintf(out, "%6.1f%%  %11.1f%%  %s\n", 100*float64(fns[i].flat)/float64(total), 100*float64(fns[i].cum)/float64(total), shortName(fns[i].name))
	}
}

// shortName drops the module path of a function's package.
func shortName(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[i+1:]
	}
	return name
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

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
		fmt.Fprintf(out, "goal: p99 under %s at %d practices: %s (p99 %s)\n", goalP99, goalP99AtSize, metOrNot(r.P99 < goalP99), ms(r.P99))
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
