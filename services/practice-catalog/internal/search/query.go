package search

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/matching"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

var _ app.SearchIndex = (*Index)(nil)

// Query shaping.
const (
	// shortQuery is the most words a query may have for its words to be
	// matched with typos: a short query has little else to go on, a long
	// one has plenty.
	shortQuery = 3
	// maxMatchWords bounds the distinct words of a text matched against
	// the index (a long problem statement).
	maxMatchWords = 80
	// maxExpansions bounds the spellings a word with a typo stands for.
	maxExpansions = 5
	// maxMatchedTerms bounds the words listed as a match's reason.
	maxMatchedTerms = 12
	facetSize       = 20
	// expansionBoost is how much a near spelling counts against the word.
	expansionBoost = 0.4
)

// The facets of each kind of document, as the API names them.
var (
	practiceFacets = []string{"theme", "sector", "territory", "owner_kind"}
	needFacets     = practiceFacets[:3]
)

// facetTerms is how many facet values one search counts: all of them in
// practice (themes, sectors, territories and kinds are tens, not
// thousands), before each facet keeps its first facetSize.
const facetTerms = 2000

// word is one word of a query and the term it becomes in each language.
type word struct {
	raw   string
	terms map[string]string
}

// words splits text into the words worth searching: each analysed in every
// language, and dropped when it is a stop word in any of them ("la" is
// nothing in Italian, whatever it is in English). Repeated words count once.
func (x *Index) words(text string, limit int) []word {
	m := x.index().Mapping()
	splitter := m.AnalyzerNamed(analyzerWords)
	analyzers := map[string]analysis.Analyzer{}
	for _, l := range languages {
		analyzers[l] = m.AnalyzerNamed(analyzerFor(l))
	}
	seen := map[string]bool{}
	var out []word
	for _, tok := range splitter.Analyze([]byte(text)) {
		w := word{raw: string(tok.Term), terms: map[string]string{}}
		stop := false
		for _, l := range languages {
			toks := analyzers[l].Analyze(tok.Term)
			if len(toks) == 0 {
				stop = true
				break
			}
			w.terms[l] = string(toks[len(toks)-1].Term)
		}
		key := w.terms[Italian] + "\x00" + w.terms[English]
		if stop || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, w)
		if len(out) == limit {
			break
		}
	}
	return out
}

// fuzzinessFor allows one typo in a stem of four letters or more, two
// from eight: "competnze" (stem competnz) still finds "competenze"
// (competent), and a short stem does not match half the dictionary.
func fuzzinessFor(term string) int {
	switch n := utf8.RuneCountInString(term); {
	case n >= 8:
		return 2
	case n >= 4:
		return 1
	}
	return 0
}

// expansions maps "lang\x00term" to the indexed spellings near a word
// that the index does not know in any language: a word it knows is no
// typo. It asks the dictionary of the whole text once per language and
// word; the query then looks for the spellings found, so that a typo costs
// a few term lookups, not a fuzzy scan of every field.
func expansions(reader index.IndexReader, kind string, words []word) (map[string][]string, error) {
	fuzzy, ok := reader.(index.IndexReaderFuzzy)
	if !ok {
		return nil, nil
	}
	out := map[string][]string{}
	for _, w := range words {
		known := false
		for l, t := range w.terms {
			n, err := docFreq(reader, t, textFieldOf(kind, fieldText, l))
			if err != nil {
				return nil, err
			}
			known = known || n > 0
		}
		if known {
			continue
		}
		for l, t := range w.terms {
			f := fuzzinessFor(t)
			if f == 0 {
				continue
			}
			prefix, _ := utf8.DecodeRuneInString(t)
			dict, err := fuzzy.FieldDictFuzzy(textFieldOf(kind, fieldText, l), t, f, string(prefix))
			if err != nil {
				return nil, err
			}
			var found []*index.DictEntry
			for e, err := dict.Next(); e != nil && err == nil; e, err = dict.Next() {
				found = append(found, &index.DictEntry{Term: e.Term, Count: e.Count})
			}
			_ = dict.Close()
			sort.Slice(found, func(i, j int) bool { return found[i].Count > found[j].Count })
			for i := 0; i < len(found) && i < maxExpansions; i++ {
				out[l+"\x00"+t] = append(out[l+"\x00"+t], found[i].Term)
			}
		}
	}
	return out, nil
}

func docFreq(reader index.IndexReader, term, field string) (uint64, error) {
	tfr, err := reader.TermFieldReader(context.Background(), []byte(term), field, false, false, false)
	if err != nil {
		return 0, err
	}
	defer tfr.Close()
	return tfr.Count(), nil
}

// wordQuery matches one word, or a near spelling of it, in the lead or
// the text, in either language.
func wordQuery(kind string, w word, expanded map[string][]string) query.Query {
	var alternatives []query.Query
	for _, l := range languages {
		term := w.terms[l]
		for _, f := range []struct {
			name  string
			boost float64
		}{{fieldLead, leadBoost}, {fieldText, textBoost}} {
			tq := query.NewTermQuery(term)
			tq.SetField(textFieldOf(kind, f.name, l))
			tq.SetBoost(f.boost)
			alternatives = append(alternatives, tq)
			for _, e := range expanded[l+"\x00"+term] {
				eq := query.NewTermQuery(e)
				eq.SetField(textFieldOf(kind, f.name, l))
				eq.SetBoost(f.boost * expansionBoost)
				alternatives = append(alternatives, eq)
			}
		}
	}
	return query.NewDisjunctionQuery(alternatives)
}

// searchQuery is what a person typed: every word must match when there
// are few of them, most of them when many.
func searchQuery(kind string, words []word, expanded map[string][]string) query.Query {
	clauses := make([]query.Query, 0, len(words))
	for _, w := range words {
		clauses = append(clauses, wordQuery(kind, w, expanded))
	}
	if len(words) <= shortQuery {
		return query.NewConjunctionQuery(clauses)
	}
	d := query.NewDisjunctionQuery(clauses)
	d.SetMin(float64((len(words) + 1) / 2))
	return d
}

func termQuery(field, value string) query.Query {
	q := query.NewTermQuery(value)
	q.SetField(field)
	return q
}

// anyOf matches documents whose field has one of values.
func anyOf(field string, values []string) query.Query {
	qs := make([]query.Query, len(values))
	for i, v := range values {
		qs[i] = termQuery(field, v)
	}
	return query.NewDisjunctionQuery(qs)
}

// filtered puts the text query (or all documents of kind) under the
// filters, which narrow without scoring. A text query needs no filter on
// the kind: its fields are the kind's own.
func filtered(kind string, text query.Query, filters map[string][]string) *query.BooleanQuery {
	var conj []query.Query
	if text == nil {
		conj = append(conj, termQuery(fieldKind, kind))
	}
	for _, field := range []string{fieldThemes, fieldSectors, fieldTerritory, fieldOwnerKind} {
		if values := filters[field]; len(values) > 0 {
			conj = append(conj, anyOf(field, values))
		}
	}
	b := query.NewBooleanQuery(nil, nil, nil)
	if text != nil {
		b.AddMust(text)
	}
	if len(conj) > 0 {
		b.AddFilter(query.NewConjunctionQuery(conj))
	}
	return b
}

// found is a search's result with what marking its hits needs.
type found struct {
	res    *bleve.SearchResult
	marker *marker
}

// search runs a full-text search of one kind of document, with its facets.
func (x *Index) search(kind, text string, filters map[string][]string, facets []string, offset, limit int) (found, error) {
	idx := x.index()
	var textQuery query.Query
	var mk *marker
	if words := x.words(text, maxMatchWords); len(words) > 0 {
		var expanded map[string][]string
		if len(words) <= shortQuery {
			var err error
			if expanded, err = withReader(idx, func(r index.IndexReader) (map[string][]string, error) { return expansions(r, kind, words) }); err != nil {
				return found{}, fmt.Errorf("search %s: %w", kind, err)
			}
		}
		textQuery = searchQuery(kind, words, expanded)
		mk = x.newMarker(words, expanded)
	} else if strings.TrimSpace(text) != "" {
		// Only stop words: nothing can match them.
		textQuery = query.NewMatchNoneQuery()
	}
	req := bleve.NewSearchRequestOptions(filtered(kind, textQuery, filters), limit, offset, false)
	req.Fields = []string{fieldSource}
	req.AddFacet(fieldFacets, bleve.NewFacetRequest(fieldFacets, facetTerms))
	if textQuery == nil {
		req.SortBy([]string{"-" + fieldSortTime, "_id"})
	}
	// With a text, best first (Bleve's default): breaking ties by id would
	// read the id of every hit that reaches the top of the heap.
	res, err := idx.Search(req)
	if err != nil {
		return found{}, fmt.Errorf("search %s: %w", kind, err)
	}
	return found{res: res, marker: mk}, nil
}

// withReader runs fn on a reader of the index's current snapshot.
func withReader[T any](idx bleve.Index, fn func(index.IndexReader) (T, error)) (T, error) {
	var zero T
	adv, err := idx.Advanced()
	if err != nil {
		return zero, err
	}
	r, err := adv.Reader()
	if err != nil {
		return zero, err
	}
	defer r.Close()
	return fn(r)
}

// SearchPractices implements app.SearchIndex.
func (x *Index) SearchPractices(_ context.Context, q app.PracticeSearch) (app.PracticeResults, error) {
	f, err := x.search(kindPractice, q.Text, map[string][]string{
		fieldThemes: q.Themes, fieldSectors: q.Sectors, fieldTerritory: q.TerritoryCodes, fieldOwnerKind: q.OwnerKinds,
	}, practiceFacets, q.Offset, q.Limit)
	if err != nil {
		return app.PracticeResults{}, err
	}
	out := app.PracticeResults{Total: int(f.res.Total), Facets: facetsOf(f.res, practiceFacets)}
	for _, hit := range f.res.Hits {
		p, err := practiceFromSource(hit.Fields)
		if err != nil {
			return app.PracticeResults{}, fmt.Errorf("search: %s: %w", hit.ID, err)
		}
		out.Hits = append(out.Hits, app.PracticeHit{Practice: p, Score: hit.Score, Highlights: f.marker.highlights(practiceTexts(p), first(p.Languages))})
	}
	return out, nil
}

// SearchNeeds implements app.SearchIndex.
func (x *Index) SearchNeeds(_ context.Context, q app.NeedSearch) (app.NeedResults, error) {
	f, err := x.search(kindNeed, q.Text, map[string][]string{
		fieldThemes: q.Themes, fieldSectors: q.Sectors, fieldTerritory: q.TerritoryCodes,
	}, needFacets, q.Offset, q.Limit)
	if err != nil {
		return app.NeedResults{}, err
	}
	out := app.NeedResults{Total: int(f.res.Total), Facets: facetsOf(f.res, needFacets)}
	for _, hit := range f.res.Hits {
		n, err := needFromSource(hit.Fields)
		if err != nil {
			return app.NeedResults{}, fmt.Errorf("search: %s: %w", hit.ID, err)
		}
		out.Hits = append(out.Hits, app.NeedHit{Need: n, Score: hit.Score, Highlights: f.marker.highlights(needTexts(n), n.Language)})
	}
	return out, nil
}

// highlights marks the query's words in each text of a hit; a nil marker
// (a search without words) marks nothing.
func (m *marker) highlights(texts []namedText, lang string) []app.Highlight {
	if m == nil {
		return nil
	}
	var out []app.Highlight
	for _, t := range texts {
		if frags := fragments(t.text, m.spans(t.text, lang)); len(frags) > 0 {
			out = append(out, app.Highlight{Field: t.field, Fragments: frags})
		}
	}
	return out
}

// matchedWords lists the query words found in the texts, in the query's order.
func (m *marker) matchedWords(words []word, texts []namedText, lang string) []string {
	seen := map[int]bool{}
	for _, t := range texts {
		for _, s := range m.spans(t.text, lang) {
			seen[s.word] = true
		}
	}
	var out []string
	for i, w := range words {
		if seen[i] && len(out) < maxMatchedTerms {
			out = append(out, w.raw)
		}
	}
	return out
}

// facetsOf splits the counted facet values by facet, most frequent first.
func facetsOf(res *bleve.SearchResult, facets []string) []app.Facet {
	counts := map[string][]app.FacetCount{}
	if fr, ok := res.Facets[fieldFacets]; ok && fr.Terms != nil {
		for _, t := range fr.Terms.Terms() {
			if name, value, ok := strings.Cut(t.Term, facetSep); ok {
				counts[name] = append(counts[name], app.FacetCount{Value: value, Count: t.Count})
			}
		}
	}
	out := make([]app.Facet, 0, len(facets))
	for _, name := range facets {
		c := counts[name]
		sort.SliceStable(c, func(i, j int) bool {
			if c[i].Count != c[j].Count {
				return c[i].Count > c[j].Count
			}
			return c[i].Value < c[j].Value
		})
		if len(c) > facetSize {
			c = c[:facetSize]
		}
		out = append(out, app.Facet{Field: name, Counts: c})
	}
	return out
}

// candidates runs the two queries of matchmaking: by text, and by shared
// themes and sectors, each without what the excluded organisation owns.
// Each document comes once, with its text score (0 when only its labels
// brought it).
func (x *Index) candidates(kind string, q app.MatchQuery) ([]candidateHit, []word, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = matching.DefaultWeights().Candidates
	}
	exclude := func(b *query.BooleanQuery) *query.BooleanQuery {
		if q.ExcludeOrganizationID != "" {
			b.AddMustNot(termQuery(fieldOwnerIDs, q.ExcludeOrganizationID))
		}
		return b
	}
	idx := x.index()
	var out []candidateHit
	seen := map[string]bool{}
	run := func(what string, textQuery query.Query, scored bool) error {
		req := bleve.NewSearchRequestOptions(exclude(filtered(kind, textQuery, nil)), limit, 0, false)
		req.Fields = []string{fieldSource}
		req.SortBy([]string{"-_score", "_id"})
		res, err := idx.Search(req)
		if err != nil {
			return fmt.Errorf("match %s by %s: %w", kind, what, err)
		}
		for _, h := range res.Hits {
			if !seen[h.ID] {
				seen[h.ID] = true
				c := candidateHit{hit: h}
				if scored {
					c.text = h.Score
				}
				out = append(out, c)
			}
		}
		return nil
	}
	words := x.words(q.Text, maxMatchWords)
	if len(words) > 0 {
		clauses := make([]query.Query, len(words))
		for i, w := range words {
			clauses[i] = wordQuery(kind, w, nil)
		}
		if err := run("text", query.NewDisjunctionQuery(clauses), true); err != nil {
			return nil, nil, err
		}
	}
	var labels []query.Query
	for _, t := range q.Themes {
		labels = append(labels, termQuery(fieldThemeKeys, matching.FoldLabel(t)))
	}
	for _, s := range q.Sectors {
		labels = append(labels, termQuery(fieldSectorKeys, matching.FoldLabel(s)))
	}
	if len(labels) > 0 {
		// Labels are fields both kinds have: this query names its kind.
		byLabels := query.NewConjunctionQuery([]query.Query{termQuery(fieldKind, kind), query.NewDisjunctionQuery(labels)})
		if err := run("themes", byLabels, false); err != nil {
			return nil, nil, err
		}
	}
	return out, words, nil
}

type candidateHit struct {
	hit  *bsearch.DocumentMatch
	text float64
}

// MatchPractices implements app.SearchIndex.
func (x *Index) MatchPractices(_ context.Context, q app.MatchQuery) ([]app.PracticeCandidate, error) {
	hits, words, err := x.candidates(kindPractice, q)
	if err != nil {
		return nil, err
	}
	mk := x.newMarker(words, nil)
	var out []app.PracticeCandidate
	for _, c := range hits {
		p, err := practiceFromSource(c.hit.Fields)
		if err != nil {
			return nil, fmt.Errorf("match: %s: %w", c.hit.ID, err)
		}
		var terms []string
		if c.text > 0 {
			terms = mk.matchedWords(words, practiceTexts(p), first(p.Languages))
		}
		out = append(out, app.PracticeCandidate{Practice: p, TextScore: finite(c.text), MatchedTerms: terms})
	}
	return out, nil
}

// MatchNeeds implements app.SearchIndex.
func (x *Index) MatchNeeds(_ context.Context, q app.MatchQuery) ([]app.NeedCandidate, error) {
	hits, words, err := x.candidates(kindNeed, q)
	if err != nil {
		return nil, err
	}
	mk := x.newMarker(words, nil)
	var out []app.NeedCandidate
	for _, c := range hits {
		n, err := needFromSource(c.hit.Fields)
		if err != nil {
			return nil, fmt.Errorf("match: %s: %w", c.hit.ID, err)
		}
		var terms []string
		if c.text > 0 {
			terms = mk.matchedWords(words, needTexts(n), n.Language)
		}
		out = append(out, app.NeedCandidate{Need: n, TextScore: finite(c.text), MatchedTerms: terms})
	}
	return out, nil
}

// Practice implements app.SearchIndex.
func (x *Index) Practice(_ context.Context, id string) (*practice.Practice, bool, error) {
	req := bleve.NewSearchRequestOptions(query.NewDocIDQuery([]string{practiceDocID(id)}), 1, 0, false)
	req.Fields = []string{fieldSource}
	res, err := x.index().Search(req)
	if err != nil {
		return nil, false, fmt.Errorf("search: practice %s: %w", id, err)
	}
	if len(res.Hits) == 0 {
		return nil, false, nil
	}
	p, err := practiceFromSource(res.Hits[0].Fields)
	return p, err == nil, err
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
