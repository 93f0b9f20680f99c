package search

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/mapping"
)

// Word is one word of a query and the term it becomes in each language.
type Word struct {
	Raw   string
	Terms map[string]string
}

// Words splits text into the words worth searching: each analysed in every
// language, and dropped when it is a stop word in any of them ("la" is
// nothing in Italian, whatever it is in English). Repeated words count once.
func Words(m mapping.IndexMapping, text string, limit int) []Word {
	splitter := m.AnalyzerNamed(AnalyzerWords)
	analyzers := map[string]analysis.Analyzer{}
	for _, l := range Languages {
		analyzers[l] = m.AnalyzerNamed(AnalyzerFor(l))
	}
	seen := map[string]bool{}
	var out []Word
	for _, tok := range splitter.Analyze([]byte(text)) {
		w := Word{Raw: string(tok.Term), Terms: map[string]string{}}
		stop := false
		for _, l := range Languages {
			term := LastTerm(analyzers[l].Analyze(tok.Term))
			if term == "" {
				stop = true
				break
			}
			w.Terms[l] = term
		}
		key := w.Terms[Italian] + "\x00" + w.Terms[English]
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

// LastTerm is the last term of an analysed word, leaving out the terms of
// synonym groups.
func LastTerm(toks analysis.TokenStream) string {
	for i := len(toks) - 1; i >= 0; i-- {
		if !IsSynonymTerm(toks[i].Term) {
			return string(toks[i].Term)
		}
	}
	return ""
}
