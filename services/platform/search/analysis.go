// Package search is what the services' full-text indexes (Bleve) share:
// Italian and English analysis with accent folding and stemming, the
// synonym list of the field's words, highlighting on stored text, and a
// generic index of documents kept on disk that follows its service's
// stream (Store, Follower), from the position it last applied.
//
// The practice catalogue's index builds its own, faster query execution
// on the analysis, synonyms and highlighting here; the twinning and
// discussion services index their documents with Store.
package search

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/lang/it"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
)

// Languages the indexes analyse; the content's language picks one, and
// anything else is analysed as Italian, the platform's own language.
const (
	Italian         = "it"
	English         = "en"
	DefaultLanguage = Italian
)

// Languages lists the analysed languages.
var Languages = []string{Italian, English}

// LanguageOf picks the analysis for a content language.
func LanguageOf(code string) string {
	for _, l := range Languages {
		if strings.EqualFold(strings.TrimSpace(code), l) {
			return l
		}
	}
	return DefaultLanguage
}

// Analyzer names. Each language analyzer tokenizes on Unicode word
// boundaries, lowers case, drops elided articles (l’, dell’) and stop
// words, folds accents (città = citta) and stems (competenza =
// competenze). Folding is a token filter, after the tokenizer: as a char
// filter it would shift the byte offsets that highlighting relies on.
const (
	AnalyzerIT = "gemella_it"
	AnalyzerEN = "gemella_en"
	// AnalyzerWords splits a query into the words a person typed.
	AnalyzerWords = "gemella_words"
	foldFilter    = "gemella_fold"
	stemITFilter  = "gemella_stem_it"
	stemENFilter  = "gemella_stem_en"
)

// AnalyzerFor is the analyzer of a language.
func AnalyzerFor(lang string) string {
	if lang == English {
		return AnalyzerEN
	}
	return AnalyzerIT
}

// foldTokens folds each token's term to ASCII.
type foldTokens struct {
	fold *asciifolding.AsciiFoldingFilter
}

func (f foldTokens) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		if !isASCII(t.Term) {
			t.Term = f.fold.Filter(t.Term)
		}
	}
	return in
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// stemCache remembers the stems of the words it has seen. Stemming is a
// third of the cost of indexing, and text repeats its words: most lookups
// hit. The cache stops growing at maxStems words, far more than the
// platform's vocabulary.
type stemCache struct {
	stem  analysis.TokenFilter
	stems sync.Map
	size  atomic.Int64
}

const maxStems = 1 << 19

func (c *stemCache) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		if s, ok := c.stems.Load(string(t.Term)); ok {
			t.Term = s.([]byte)
			continue
		}
		word := string(t.Term)
		c.stem.Filter(analysis.TokenStream{t})
		if c.size.Load() < maxStems {
			if _, loaded := c.stems.LoadOrStore(word, append([]byte(nil), t.Term...)); !loaded {
				c.size.Add(1)
			}
		}
	}
	return in
}

// Bleve's registry is global to the process, and the devstack runs every
// service in one: the filters are registered here, once, for all of them.
var registerOnce sync.Once

func registerFold() {
	registerOnce.Do(func() {
		must := func(name string, f analysis.TokenFilter) {
			if err := registry.RegisterTokenFilter(name, func(map[string]interface{}, *registry.Cache) (analysis.TokenFilter, error) { return f, nil }); err != nil {
				panic(fmt.Sprintf("register %s: %v", name, err))
			}
		}
		must(foldFilter, foldTokens{fold: asciifolding.New()})
		must(stemITFilter, &stemCache{stem: it.NewItalianStemmerFilter()})
		must(stemENFilter, &stemCache{stem: en.NewEnglishStemmerFilter()})
	})
}

// AddAnalyzers declares the analyzers on m; synonyms, by language, names
// the synonym filter that ends a language's chain (AddSynonymFilters).
func AddAnalyzers(m *mapping.IndexMappingImpl, synonyms map[string]string) error {
	registerFold()
	defs := map[string][]string{
		AnalyzerIT:    {lowercase.Name, it.ElisionName, it.StopName, foldFilter, stemITFilter},
		AnalyzerEN:    {en.PossessiveName, lowercase.Name, en.StopName, foldFilter, stemENFilter},
		AnalyzerWords: {lowercase.Name, it.ElisionName},
	}
	for lang, filter := range synonyms {
		name := AnalyzerFor(lang)
		defs[name] = append(defs[name], filter)
	}
	for name, filters := range defs {
		if err := m.AddCustomAnalyzer(name, map[string]interface{}{
			"type": custom.Name, "tokenizer": unicode.Name, "token_filters": filters,
		}); err != nil {
			return fmt.Errorf("analyzer %s: %w", name, err)
		}
	}
	return nil
}
