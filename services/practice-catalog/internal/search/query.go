package search

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	psearch "github.com/gemella/gemella/services/platform/search"

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

// word is one word of a query and the term it becomes in each language.
type word = psearch.Word

// words splits text into the words worth searching (psearch.Words).
func (x *Index) words(text string, limit int) []word {
	return psearch.Words(x.index().Mapping(), text, limit)
}

func lastTerm(toks analysis.TokenStream) string { return psearch.LastTerm(toks) }

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
		for l, t := range w.Terms {
			k, err := termKnown(reader, t, textFieldOf(kind, fieldText, l))
			if err != nil {
				return nil, err
			}
			known = known || k
		}
		if known {
			continue
		}
		for l, t := range w.Terms {
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

// termKnown tells whether a segment of the index has term in field:
// looking it up in the dictionaries costs less than reading its postings.
func termKnown(reader index.IndexReader, term, field string) (bool, error) {
	snap, ok := reader.(*scorch.IndexSnapshot)
	if !ok {
		tfr, err := reader.TermFieldReader(context.Background(), []byte(term), field, false, false, false)
		if err != nil {
			return false, err
		}
		defer tfr.Close()
		return tfr.Count() > 0, nil
	}
	for _, ss := range snap.Segments() {
		dict, err := ss.Segment().Dictionary(field)
		if err != nil {
			return false, err
		}
		if found, err := dict.Contains([]byte(term)); err != nil || found {
			return found, err
		}
	}
	return false, nil
}

// wordOf is one word of a query as the index looks for it: its term, or
// a near spelling of it, in the lead or the text, in each language it
// has a term in.
func wordOf(kind string, w word, expanded map[string][]string) wordPlan {
	var out wordPlan
	for _, l := range languages {
		term, ok := w.Terms[l]
		if !ok || term == "" {
			continue
		}
		for _, f := range []struct {
			name  string
			boost float64
		}{{fieldLead, leadBoost}, {fieldText, textBoost}} {
			field := textFieldOf(kind, f.name, l)
			out.terms = append(out.terms, termRef{field: field, term: term, boost: f.boost})
			for _, e := range expanded[l+"\x00"+term] {
				out.terms = append(out.terms, termRef{field: field, term: e, boost: f.boost * expansionBoost})
			}
		}
	}
	return out
}

// synonymBoost is how much a document that says the query's expression
// another way counts against one that says it the same way.
const synonymBoost = 0.9

// textPlan is what a person typed: every clause must match when there are
// few of them, most of them when many. A clause is a word, or an
// expression of the synonym list with its group's term as the other way
// of matching it. marked are the words highlights look for: the query's,
// and those of the expressions its synonyms stand for.
func (x *Index) textPlan(kind string, words []word, expanded map[string][]string) (clauses []clausePlan, min int, marked []word) {
	marked = append(marked, words...)
	found := x.findSynonyms(words)
	for i := 0; i < len(words); {
		if len(found) > 0 && found[0].start == i {
			f := found[0]
			found = found[1:]
			own := optionPlan{boost: 1}
			for _, w := range words[i : i+f.n] {
				own.words = append(own.words, wordOf(kind, w, expanded))
			}
			term := synonymTerm(f.group)
			syn := word{Raw: term, Terms: map[string]string{}}
			for _, l := range languages {
				syn.Terms[l] = term
			}
			clauses = append(clauses, clausePlan{options: []optionPlan{own, {words: []wordPlan{wordOf(kind, syn, nil)}, boost: synonymBoost}}})
			marked = appendNewWords(marked, x.synonymWords(f.group))
			i += f.n
			continue
		}
		clauses = append(clauses, clausePlan{options: []optionPlan{{words: []wordPlan{wordOf(kind, words[i], expanded)}, boost: 1}}})
		i++
	}
	if len(clauses) <= shortQuery {
		return clauses, len(clauses), marked
	}
	return clauses, (len(clauses) + 1) / 2, marked
}

// appendNewWords appends the words not in list yet.
func appendNewWords(list, words []word) []word {
	key := func(w word) string { return w.Terms[Italian] + "\x00" + w.Terms[English] }
	seen := map[string]bool{}
	for _, w := range list {
		seen[key(w)] = true
	}
	for _, w := range words {
		if !seen[key(w)] {
			seen[key(w)] = true
			list = append(list, w)
		}
	}
	return list
}

// bleveWord is a word as a Bleve query.
func bleveWord(w wordPlan) query.Query {
	alternatives := make([]query.Query, len(w.terms))
	for i, t := range w.terms {
		tq := query.NewTermQuery(t.term)
		tq.SetField(t.field)
		tq.SetBoost(t.boost)
		alternatives[i] = tq
	}
	return query.NewDisjunctionQuery(alternatives)
}

// bleveClause is a clause as a Bleve query: any of its options, each all
// of its words.
func bleveClause(c clausePlan) query.Query {
	if len(c.options) == 1 && len(c.options[0].words) == 1 {
		return bleveWord(c.options[0].words[0])
	}
	options := make([]query.Query, len(c.options))
	for i, o := range c.options {
		words := make([]query.Query, len(o.words))
		for j, w := range o.words {
			words[j] = bleveWord(w)
		}
		conj := query.NewConjunctionQuery(words)
		conj.SetBoost(o.boost)
		options[i] = conj
	}
	return query.NewDisjunctionQuery(options)
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
	res    executed
	marker *marker
}

// search runs a full-text search of one kind of document, with its facets.
func (x *Index) search(ph *Phases, kind, text string, filters map[string][]string, offset, limit int) (found, error) {
	at := ph.start()
	idx := x.index()
	plan := &queryPlan{kind: kind, facets: true, offset: offset, limit: limit}
	var mk *marker
	if words := x.words(text, maxMatchWords); len(words) > 0 {
		var expanded map[string][]string
		if len(words) <= shortQuery {
			var err error
			if expanded, err = withReader(idx, func(r index.IndexReader) (map[string][]string, error) { return expansions(r, kind, words) }); err != nil {
				return found{}, fmt.Errorf("search %s: %w", kind, err)
			}
		}
		var marked []word
		plan.clauses, plan.min, marked = x.textPlan(kind, words, expanded)
		mk = x.newMarker(marked, expanded)
	} else if strings.TrimSpace(text) != "" {
		// Only stop words: nothing can match them.
		plan.none = true
	}
	for _, field := range []string{fieldThemes, fieldSectors, fieldTerritory, fieldOwnerKind} {
		if values := filters[field]; len(values) > 0 {
			plan.filters = append(plan.filters, filterPlan{field: field, values: values})
		}
	}
	ph.lap(phaseWords, &at)
	res, err := x.execute(plan, ph)
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
func (x *Index) SearchPractices(ctx context.Context, q app.PracticeSearch) (app.PracticeResults, error) {
	if err := x.awaitReady(ctx); err != nil {
		return app.PracticeResults{}, err
	}
	ph := phasesOf(ctx)
	f, err := x.search(ph, kindPractice, q.Text, map[string][]string{
		fieldThemes: q.Themes, fieldSectors: q.Sectors, fieldTerritory: q.TerritoryCodes, fieldOwnerKind: q.OwnerKinds,
	}, q.Offset, q.Limit)
	if err != nil {
		return app.PracticeResults{}, err
	}
	out := app.PracticeResults{Total: f.res.total, Facets: facetsOf(f.res.facets, practiceFacets)}
	at := time.Now()
	for _, hit := range f.res.hits {
		p, err := practiceFromBytes(hit.source)
		if err != nil {
			return app.PracticeResults{}, fmt.Errorf("search: a practice's stored document: %w", err)
		}
		out.Hits = append(out.Hits, app.PracticeHit{Practice: p, Score: hit.score})
	}
	ph.lap(phasePage, &at)
	for i := range out.Hits {
		p := out.Hits[i].Practice
		out.Hits[i].Highlights = highlights(f.marker, practiceTexts(p), first(p.Languages))
	}
	ph.lap(phaseHighlights, &at)
	return out, nil
}

// SearchNeeds implements app.SearchIndex.
func (x *Index) SearchNeeds(ctx context.Context, q app.NeedSearch) (app.NeedResults, error) {
	if err := x.awaitReady(ctx); err != nil {
		return app.NeedResults{}, err
	}
	f, err := x.search(phasesOf(ctx), kindNeed, q.Text, map[string][]string{
		fieldThemes: q.Themes, fieldSectors: q.Sectors, fieldTerritory: q.TerritoryCodes,
	}, q.Offset, q.Limit)
	if err != nil {
		return app.NeedResults{}, err
	}
	out := app.NeedResults{Total: f.res.total, Facets: facetsOf(f.res.facets, needFacets)}
	for _, hit := range f.res.hits {
		n, err := needFromBytes(hit.source)
		if err != nil {
			return app.NeedResults{}, fmt.Errorf("search: a need's stored document: %w", err)
		}
		out.Hits = append(out.Hits, app.NeedHit{Need: n, Score: hit.score, Highlights: highlights(f.marker, needTexts(n), n.Language)})
	}
	return out, nil
}

// highlights marks the query's words in each text of a hit; a nil marker
// (a search without words) marks nothing.
func highlights(m *marker, texts []namedText, lang string) []app.Highlight {
	if m == nil {
		return nil
	}
	var out []app.Highlight
	for _, t := range texts {
		if frags := fragments(t.text, m.Scan(t.text, lang)); len(frags) > 0 {
			out = append(out, app.Highlight{Field: t.field, Fragments: frags})
		}
	}
	return out
}

// matchedWords lists the query words found in the texts, in the query's order.
func matchedWords(m *marker, words []word, texts []namedText, lang string) []string {
	seen := map[int]bool{}
	for _, t := range texts {
		for _, s := range m.Spans(t.text, lang) {
			seen[s.Word()] = true
		}
	}
	var out []string
	for i, w := range words {
		if seen[i] && len(out) < maxMatchedTerms {
			out = append(out, w.Raw)
		}
	}
	return out
}

// facetsOf splits the counted facet values by facet, most frequent first.
func facetsOf(found map[string]int, facets []string) []app.Facet {
	counts := map[string][]app.FacetCount{}
	for term, n := range found {
		if name, value, ok := strings.Cut(term, facetSep); ok {
			counts[name] = append(counts[name], app.FacetCount{Value: value, Count: n})
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
	var marked []word
	if len(words) > 0 {
		var plan []clausePlan
		plan, _, marked = x.textPlan(kind, words, nil)
		clauses := make([]query.Query, len(plan))
		for i, c := range plan {
			clauses[i] = bleveClause(c)
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
	return out, marked, nil
}

type candidateHit struct {
	hit  *bsearch.DocumentMatch
	text float64
}

// MatchPractices implements app.SearchIndex.
func (x *Index) MatchPractices(ctx context.Context, q app.MatchQuery) ([]app.PracticeCandidate, error) {
	if err := x.awaitReady(ctx); err != nil {
		return nil, err
	}
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
			terms = matchedWords(mk, words, practiceTexts(p), first(p.Languages))
		}
		out = append(out, app.PracticeCandidate{Practice: p, TextScore: finite(c.text), MatchedTerms: terms})
	}
	return out, nil
}

// MatchNeeds implements app.SearchIndex.
func (x *Index) MatchNeeds(ctx context.Context, q app.MatchQuery) ([]app.NeedCandidate, error) {
	if err := x.awaitReady(ctx); err != nil {
		return nil, err
	}
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
			terms = matchedWords(mk, words, needTexts(n), n.Language)
		}
		out = append(out, app.NeedCandidate{Need: n, TextScore: finite(c.text), MatchedTerms: terms})
	}
	return out, nil
}

// Practice implements app.SearchIndex.
func (x *Index) Practice(ctx context.Context, id string) (*practice.Practice, bool, error) {
	if err := x.awaitReady(ctx); err != nil {
		return nil, false, err
	}
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
