package search

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Query is a search of a Store.
type Query struct {
	// Text is what a person typed; empty lists everything, newest first.
	Text string
	// Kinds, Territories and Themes filter: values of one are OR, the
	// three are AND. Facets are counted before the kind filter, so that
	// a page can tell how many hits each kind would have.
	Kinds       []string
	Territories []string
	Themes      []string
	Offset      int
	Limit       int
}

// Hit is one document found.
type Hit struct {
	ID, Kind   string
	Score      float64
	Title      string
	Language   string
	Source     []byte
	Highlights []Highlight
}

// Results are a page of hits, the total, and the counts of each facet
// value ("kind", "territory", "theme") among all the hits.
type Results struct {
	Hits   []Hit
	Total  int
	Facets map[string]map[string]int
}

// Query limits.
const (
	maxQueryWords = 32
	facetSize     = 20
	// MaxLimit is the largest page a search returns.
	MaxLimit = 100
)

// Search finds the documents whose texts have every word of q.Text (in
// either language's analysis; a word of four letters or more with one
// typo), ranked by BM25 with the title counting double, and marks the
// words in the texts of each hit.
func (s *Store) Search(ctx context.Context, q Query) (Results, error) {
	if err := s.awaitReady(ctx); err != nil {
		return Results{}, err
	}
	idx := s.index()
	words := Words(idx.Mapping(), q.Text, maxQueryWords)
	groups := s.synonymsIn(idx, q.Text)
	var text query.Query
	if len(words) == 0 {
		all := bleve.NewBooleanQuery()
		all.AddMust(bleve.NewMatchAllQuery())
		gone := bleve.NewTermQuery(kindGone)
		gone.SetField(fKind)
		all.AddMustNot(gone)
		text = all
	} else {
		text = wordsQuery(words, nil)
		if len(groups) > 0 {
			// An expression of the synonym list matches its own words
			// or its group's term, beside the rest of the query.
			alts := bleve.NewDisjunctionQuery(text)
			for _, g := range groups {
				alts.AddQuery(wordsQuery(words, &g))
			}
			text = alts
		}
	}
	filtered := bleve.NewConjunctionQuery(text)
	if f := anyOf(fTerritory, q.Territories); f != nil {
		filtered.AddQuery(f)
	}
	if f := anyOf(fTheme, foldAll(q.Themes)); f != nil {
		filtered.AddQuery(f)
	}
	// Facets over every kind: one request without the kind filter that
	// returns no hits, then the page with it.
	facetReq := bleve.NewSearchRequestOptions(filtered, 0, 0, false)
	for _, f := range []string{fKind, fTerritory, fTheme} {
		facetReq.AddFacet(f, bleve.NewFacetRequest(f, facetSize))
	}
	facetRes, err := idx.SearchInContext(ctx, facetReq)
	if err != nil {
		return Results{}, fmt.Errorf("search: facets: %w", err)
	}
	page := filtered
	if f := anyOf(fKind, q.Kinds); f != nil {
		page = bleve.NewConjunctionQuery(filtered, f)
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxLimit {
		limit = 20
	}
	req := bleve.NewSearchRequestOptions(page, limit, max(0, q.Offset), false)
	req.Fields = []string{fKind, fStored}
	if len(words) == 0 {
		req.SortBy([]string{"-" + fTime, "_id"})
	} else {
		req.SortBy([]string{"-_score", "-" + fTime, "_id"})
	}
	res, err := idx.SearchInContext(ctx, req)
	if err != nil {
		return Results{}, fmt.Errorf("search: %w", err)
	}
	out := Results{Total: int(res.Total), Facets: map[string]map[string]int{}}
	for name, f := range facetRes.Facets {
		counts := map[string]int{}
		if f.Terms != nil {
			for _, t := range f.Terms.Terms() {
				counts[t.Term] = t.Count
			}
		}
		out.Facets[name] = counts
	}
	var mk *Marker
	if len(words) > 0 {
		mk = NewMarker(idx.Mapping(), words, s.expansionsOf(words, groups))
	}
	for _, h := range res.Hits {
		raw, _ := h.Fields[fStored].(string)
		var st stored
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return Results{}, fmt.Errorf("search: hit %s: %w", h.ID, err)
		}
		kind, _ := h.Fields[fKind].(string)
		texts := append([]NamedText{{Field: "title", Text: st.Title}}, st.Texts...)
		out.Hits = append(out.Hits, Hit{ID: h.ID, Kind: kind, Score: h.Score, Title: st.Title, Language: st.Language,
			Source: st.Source, Highlights: mk.Highlights(texts, st.Language)})
	}
	return out, nil
}

// foundSynonym is an expression of the synonym list in a query: the
// group's term in one language and the text it covers.
type foundSynonym struct {
	lang, term, covers string
	group              int
}

// covered tells whether a word of the query is part of the expression.
func (g *foundSynonym) covered(w Word) bool {
	return g != nil && strings.Contains(g.covers, strings.ToLower(w.Raw))
}

// wordsQuery wants every word, or, with g, the group's term and every
// word the expression does not cover.
func wordsQuery(words []Word, g *foundSynonym) query.Query {
	conj := bleve.NewConjunctionQuery()
	if g != nil {
		conj.AddQuery(bleve.NewDisjunctionQuery(termIn(g.term, g.lang, 0.8)...))
	}
	for _, w := range words {
		if !g.covered(w) {
			conj.AddQuery(wordQuery(w))
		}
	}
	return conj
}

func termIn(term, lang string, boost float64) []query.Query {
	var out []query.Query
	for _, f := range []struct {
		name  string
		boost float64
	}{{fLead, 2}, {fText, 1}} {
		tq := bleve.NewTermQuery(term)
		tq.SetField(f.name + "_" + lang)
		tq.SetBoost(f.boost * boost)
		out = append(out, tq)
	}
	return out
}

// wordQuery matches a word in the lead or the text of either language,
// a word of four letters or more also with one typo.
func wordQuery(w Word) query.Query {
	var alts []query.Query
	for lang, term := range w.Terms {
		alts = append(alts, termIn(term, lang, 1)...)
		if len([]rune(term)) >= 4 {
			for _, f := range []string{fLead, fText} {
				fq := bleve.NewFuzzyQuery(term)
				fq.SetField(f + "_" + lang)
				fq.SetFuzziness(1)
				fq.SetPrefix(1)
				fq.SetBoost(0.4)
				alts = append(alts, fq)
			}
		}
	}
	return bleve.NewDisjunctionQuery(alts...)
}

// synonymsIn finds the expressions of the synonym list in a query, as
// each language's analysis (whose last filter adds the groups' terms)
// finds them.
func (s *Store) synonymsIn(idx bleve.Index, text string) []foundSynonym {
	if len(s.seqs) == 0 || text == "" {
		return nil
	}
	var out []foundSynonym
	for _, lang := range Languages {
		a := idx.Mapping().AnalyzerNamed(AnalyzerFor(lang))
		if a == nil {
			continue
		}
		for _, t := range a.Analyze([]byte(text)) {
			if !IsSynonymTerm(t.Term) || t.Start < 0 || t.End > len(text) {
				continue
			}
			n, err := strconv.Atoi(string(t.Term[len(synonymPrefix):]))
			if err != nil {
				continue
			}
			out = append(out, foundSynonym{lang: lang, term: string(t.Term), covers: strings.ToLower(text[t.Start:t.End]), group: n})
		}
	}
	return out
}

// expansionsOf is what highlights mark besides the words themselves: the
// terms of the expressions of the groups the query's expressions stand for.
func (s *Store) expansionsOf(words []Word, groups []foundSynonym) map[string][]string {
	out := map[string][]string{}
	for _, g := range groups {
		for _, w := range words {
			if !(&g).covered(w) {
				continue
			}
			key := g.lang + "\x00" + w.Terms[g.lang]
			for _, seq := range s.seqs[g.lang] {
				if seq.Group == g.group {
					out[key] = append(out[key], seq.Terms...)
				}
			}
		}
	}
	return out
}

func anyOf(field string, values []string) query.Query {
	if len(values) == 0 {
		return nil
	}
	sort.Strings(values)
	alts := make([]query.Query, 0, len(values))
	for _, v := range values {
		tq := bleve.NewTermQuery(v)
		tq.SetField(field)
		alts = append(alts, tq)
	}
	return bleve.NewDisjunctionQuery(alts...)
}
