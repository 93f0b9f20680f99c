package search

import (
	"github.com/blevesearch/bleve/v2/analysis"

	psearch "github.com/gemella/gemella/services/platform/search"
)

// Synonyms are the platform's synonym list (services/platform/search):
// the shipped Italian set for public administration, or a file of one's
// own, or none.
type Synonyms = psearch.Synonyms

// SynonymsOff, as Config.SynonymsFile, turns synonyms off.
const SynonymsOff = psearch.SynonymsOff

// LoadSynonyms reads the synonyms of a file: the shipped Italian set when
// path is empty, none when it is SynonymsOff.
func LoadSynonyms(path string) (*Synonyms, error) { return psearch.LoadSynonyms(path) }

// ParseSynonyms reads one group per line, expressions separated by commas.
var ParseSynonyms = psearch.ParseSynonyms

type (
	synonymSeq     = psearch.SynonymSeq
	synonymMatcher = psearch.SynonymMatcher
)

func newSynonymMatcher(seqs []synonymSeq) *synonymMatcher { return psearch.NewSynonymMatcher(seqs) }

func isSynonymTerm(term []byte) bool { return psearch.IsSynonymTerm(term) }

func synonymTerm(group int) string { return psearch.SynonymTerm(group) }

// analysed is the list's expressions as an analyzer turns them into terms.
func analysed(s *Synonyms, a analysis.Analyzer) []synonymSeq { return s.Analysed(a) }

// synonymsFound is an expression of a query: words [start, start+n) of
// it say what group says.
type synonymsFound struct {
	start, n, group int
}

// findSynonyms finds the expressions among a query's words, in either
// language, each where it starts; where two overlap the longer wins.
func (x *Index) findSynonyms(words []word) []synonymsFound {
	if len(x.synonymMatchers) == 0 {
		return nil
	}
	var out []synonymsFound
	for i := 0; i < len(words); {
		best := synonymsFound{n: 0}
		for lang, m := range x.synonymMatchers {
			term := func(j int) string { return words[j].Terms[lang] }
			for _, s := range m.At(i, term, len(words)) {
				if len(s.Terms) > best.n {
					best = synonymsFound{start: i, n: len(s.Terms), group: s.Group}
				}
			}
		}
		if best.n == 0 {
			i++
			continue
		}
		out = append(out, best)
		i += best.n
	}
	return out
}

// synonymWords are the words of a group's expressions, as a query's words:
// what highlights mark in a document found through the group.
func (x *Index) synonymWords(group int) []word {
	if x.Synonyms() == nil || group >= len(x.Synonyms().Groups()) {
		return nil
	}
	var out []word
	for _, e := range x.Synonyms().Groups()[group] {
		out = append(out, x.words(e, maxMatchWords)...)
	}
	return out
}
