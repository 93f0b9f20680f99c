package search

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
)

// Synonyms are groups of expressions that say the same thing in the
// field's words: "asili nido" and "servizi per la prima infanzia", "SUAP"
// and "sportello unico per le attività produttive". A document that says
// one is found by a search, and a match, that says another.
//
// They work at both ends. When a document is indexed, every expression it
// contains, as consecutive words once analysed (so "asilo nido" and "asili
// nido" are the same, and stop words in between do not count), adds a
// term that stands for its group to the same field. When a query contains
// an expression, that part of the query matches either its own words or
// the group's term. So a multi-word expression matches only where its
// words stand together, never as scattered words; and the list is part of
// the index's schema: an index built with another list is rebuilt.
type Synonyms struct {
	groups [][]string
	digest string
}

//go:embed synonyms_it.txt
var shippedSynonyms string

// SynonymsOff, as Config.SynonymsFile, turns synonyms off.
const SynonymsOff = "off"

// LoadSynonyms reads the synonyms of a file: the shipped Italian set for
// public administration when path is empty, none when it is SynonymsOff.
func LoadSynonyms(path string) (*Synonyms, error) {
	switch path {
	case "":
		return ParseSynonyms(strings.NewReader(shippedSynonyms))
	case SynonymsOff:
		return &Synonyms{}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("synonyms: %w", err)
	}
	defer f.Close()
	s, err := ParseSynonyms(f)
	if err != nil {
		return nil, fmt.Errorf("synonyms %s: %w", path, err)
	}
	return s, nil
}

// ParseSynonyms reads one group per line, its expressions separated by
// commas; blank lines and lines starting with # are skipped. A group
// needs two expressions or more.
func ParseSynonyms(r io.Reader) (*Synonyms, error) {
	s := &Synonyms{}
	sc := bufio.NewScanner(r)
	h := sha256.New()
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var group []string
		for _, e := range strings.Split(line, ",") {
			if e = strings.Join(strings.Fields(e), " "); e != "" {
				group = append(group, e)
			}
		}
		if len(group) < 2 {
			return nil, fmt.Errorf("line %d: a group needs at least two expressions separated by commas, got %q", n, line)
		}
		s.groups = append(s.groups, group)
		fmt.Fprintf(h, "%q\n", group)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(s.groups) > 0 {
		s.digest = hex.EncodeToString(h.Sum(nil))[:12]
	}
	return s, nil
}

// Len is the number of groups.
func (s *Synonyms) Len() int {
	if s == nil {
		return 0
	}
	return len(s.groups)
}

// Schema is what an index's schema records of the list.
func (s *Synonyms) Schema() string {
	if s.Len() == 0 {
		return ""
	}
	return "+syn-" + s.digest
}

// synonymPrefix starts every group's term: no word starts with it.
const synonymPrefix = "\x1esyn"

func SynonymTerm(group int) string { return synonymPrefix + strconv.Itoa(group) }

func IsSynonymTerm(term []byte) bool { return bytes.HasPrefix(term, []byte(synonymPrefix)) }

// SynonymSeq is one expression as analysed in one language.
type SynonymSeq struct {
	Terms []string
	Group int
}

// SynonymMatcher finds expressions in sequences of analysed terms.
type SynonymMatcher struct {
	// byFirst lists the expressions by their first term, longest first.
	byFirst map[string][]SynonymSeq
}

func NewSynonymMatcher(seqs []SynonymSeq) *SynonymMatcher {
	m := &SynonymMatcher{byFirst: map[string][]SynonymSeq{}}
	for _, s := range seqs {
		if len(s.Terms) == 0 {
			continue
		}
		list := append(m.byFirst[s.Terms[0]], s)
		for i := len(list) - 1; i > 0 && len(list[i].Terms) > len(list[i-1].Terms); i-- {
			list[i], list[i-1] = list[i-1], list[i]
		}
		m.byFirst[s.Terms[0]] = list
	}
	return m
}

// At reports the expressions that start at position i of terms: each
// group once, with the length of its longest expression there.
func (m *SynonymMatcher) At(i int, term func(int) string, n int) []SynonymSeq {
	var out []SynonymSeq
next:
	for _, s := range m.byFirst[term(i)] {
		if i+len(s.Terms) > n {
			continue
		}
		for j := 1; j < len(s.Terms); j++ {
			if term(i+j) != s.Terms[j] {
				continue next
			}
		}
		for _, o := range out {
			if o.Group == s.Group {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// synonymFilter is the token filter that adds the groups' terms to an
// analysed text.
type synonymFilter struct{ m *SynonymMatcher }

func (f synonymFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	n := len(in)
	term := func(i int) string { return string(in[i].Term) }
	for i := 0; i < n; i++ {
		if _, ok := f.m.byFirst[term(i)]; !ok {
			continue
		}
		for _, s := range f.m.At(i, term, n) {
			last := in[i+len(s.Terms)-1]
			in = append(in, &analysis.Token{
				Term: []byte(SynonymTerm(s.Group)), Start: in[i].Start, End: last.End,
				Position: in[i].Position, Type: analysis.AlphaNumeric,
			})
		}
	}
	return in
}

// synonymFilterType is the registered type of the synonym token filters:
// each index mapping declares its own, with its list's analysed
// expressions in its configuration, so that an index reopened from disk
// finds the synonyms it was built with.
const synonymFilterType = "gemella_synonyms"

var registerSynonymsOnce sync.Once

func RegisterSynonymFilter() {
	registerSynonymsOnce.Do(func() {
		err := registry.RegisterTokenFilter(synonymFilterType, func(config map[string]interface{}, _ *registry.Cache) (analysis.TokenFilter, error) {
			raw, _ := config["expressions"].([]interface{})
			var seqs []SynonymSeq
			for _, r := range raw {
				s, _ := r.(string)
				group, terms, ok := strings.Cut(s, "\t")
				g, err := strconv.Atoi(group)
				if !ok || err != nil {
					return nil, fmt.Errorf("synonym filter: bad expression %q", s)
				}
				seqs = append(seqs, SynonymSeq{Terms: strings.Split(terms, " "), Group: g})
			}
			return synonymFilter{m: NewSynonymMatcher(seqs)}, nil
		})
		if err != nil {
			panic(fmt.Sprintf("register %s: %v", synonymFilterType, err))
		}
	})
}

// Analysed is the list's expressions as an analyzer turns them into terms.
func (s *Synonyms) Analysed(a analysis.Analyzer) []SynonymSeq {
	if s.Len() == 0 {
		return nil
	}
	var out []SynonymSeq
	for g, group := range s.groups {
		for _, e := range group {
			var terms []string
			for _, t := range a.Analyze([]byte(e)) {
				if !IsSynonymTerm(t.Term) {
					terms = append(terms, string(t.Term))
				}
			}
			if len(terms) > 0 {
				out = append(out, SynonymSeq{Terms: terms, Group: g})
			}
		}
	}
	return out
}

// SynonymFilterConfig is the configuration of a mapping's synonym filter.
func SynonymFilterConfig(seqs []SynonymSeq) map[string]interface{} {
	exprs := make([]interface{}, len(seqs))
	for i, s := range seqs {
		exprs[i] = strconv.Itoa(s.Group) + "\t" + strings.Join(s.Terms, " ")
	}
	return map[string]interface{}{"type": synonymFilterType, "expressions": exprs}
}

// Groups are the list's groups of expressions, as written.
func (s *Synonyms) Groups() [][]string {
	if s == nil {
		return nil
	}
	return s.groups
}

// SynonymFilters declares on m, per language, the synonym filter of the
// expressions seqs (as that language's analysis has them), and returns
// their names for AddAnalyzers.
func SynonymFilters(m *mapping.IndexMappingImpl, seqs map[string][]SynonymSeq) (map[string]string, error) {
	filters := map[string]string{}
	for lang, list := range seqs {
		if len(list) == 0 {
			continue
		}
		RegisterSynonymFilter()
		name := "gemella_synonyms_" + lang
		if err := m.AddCustomTokenFilter(name, SynonymFilterConfig(list)); err != nil {
			return nil, fmt.Errorf("synonym filter %s: %w", name, err)
		}
		filters[lang] = name
	}
	return filters, nil
}

// AnalysedSynonyms is, by language, how that language's analysis
// (without synonyms) turns the expressions of s into terms.
func AnalysedSynonyms(s *Synonyms) (map[string][]SynonymSeq, error) {
	if s.Len() == 0 {
		return nil, nil
	}
	base := bleve.NewIndexMapping()
	if err := AddAnalyzers(base, nil); err != nil {
		return nil, err
	}
	out := map[string][]SynonymSeq{}
	for _, lang := range Languages {
		a := base.AnalyzerNamed(AnalyzerFor(lang))
		if a == nil {
			return nil, fmt.Errorf("no analyzer for %s", lang)
		}
		out[lang] = s.Analysed(a)
	}
	return out, nil
}
