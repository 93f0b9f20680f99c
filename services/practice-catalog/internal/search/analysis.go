package search

import (
	"github.com/blevesearch/bleve/v2/mapping"

	psearch "github.com/gemella/gemella/services/platform/search"
)

// The analysis (Italian and English, accents folded, stems) is the
// platform's, shared with every service's index (services/platform/search):
// the filters are registered once per process, and the devstack runs all
// services in one.
const (
	Italian         = psearch.Italian
	English         = psearch.English
	defaultLanguage = psearch.DefaultLanguage
	analyzerWords   = psearch.AnalyzerWords
)

var languages = psearch.Languages

func languageOf(code string) string { return psearch.LanguageOf(code) }

func analyzerFor(lang string) string { return psearch.AnalyzerFor(lang) }

// addAnalyzers declares the custom analyzers on m; synonyms, by
// language, names the synonym filter that ends a language's chain.
func addAnalyzers(m *mapping.IndexMappingImpl, synonyms map[string]string) error {
	return psearch.AddAnalyzers(m, synonyms)
}
