package search

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"golang.org/x/text/unicode/norm"
)

// A marker finds, in a document's stored text, the words a query matched:
// for the highlighted fragments of a page of hits, and for the words a
// match has in common with a need. It analyses only the words that could
// match (those that begin like one of the query's stems), so it costs
// little more than reading the text: the index need not store every field
// a second time with its term positions.
type marker struct {
	analyzers map[string]analysis.Analyzer
	// seen caches, per language, the query word a token matched (-1: none).
	seen map[string]map[string]int
	// stems maps, per language, each analysed term the query matches to
	// the query word it came from.
	stems map[string]map[string]int
	// heads are the first runes (up to headLen) of every stem, folded.
	heads map[string]bool
}

const headLen = 5

func (x *Index) newMarker(words []word, expansions map[string][]string) *marker {
	m := &marker{analyzers: map[string]analysis.Analyzer{}, stems: map[string]map[string]int{}, heads: map[string]bool{}, seen: map[string]map[string]int{}}
	mapping := x.index().Mapping()
	for _, l := range languages {
		m.analyzers[l] = mapping.AnalyzerNamed(analyzerFor(l))
		m.stems[l] = map[string]int{}
		m.seen[l] = map[string]int{}
	}
	add := func(lang, stem string, i int) {
		if _, ok := m.stems[lang][stem]; !ok {
			m.stems[lang][stem] = i
		}
		m.heads[stemHead(stem)] = true
	}
	for i, w := range words {
		for l, t := range w.terms {
			add(l, t, i)
			for _, e := range expansions[l+"\x00"+t] {
				add(l, e, i)
			}
		}
	}
	return m
}

// head is the folded start of a word, as stems and words are compared:
// lower case, without accents, at most headLen runes.
func head(s string) string {
	ascii := true
	for i := 0; i < len(s) && i < headLen; i++ {
		ascii = ascii && s[i] < utf8.RuneSelf
	}
	if ascii {
		if len(s) > headLen {
			s = s[:headLen]
		}
		return strings.ToLower(s)
	}
	var b strings.Builder
	n := 0
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
		if n++; n == headLen {
			break
		}
	}
	return b.String()
}

// stemHead is the part of a stem a word that stems to it surely begins
// with: all but its last letter, which stemmers may change (city, citi).
func stemHead(stem string) string {
	runes := []rune(head(stem))
	if len(runes) > 1 && utf8.RuneCountInString(stem) <= headLen {
		runes = runes[:len(runes)-1]
	}
	return string(runes)
}

// span is a matched word: its bytes in the text and the query word.
type span struct {
	start, end int
	word       int
}

// spans finds the matched words of text, written in lang.
func (m *marker) spans(text, lang string) []span {
	lang = languageOf(lang)
	stems := m.stems[lang]
	if len(stems) == 0 {
		return nil
	}
	var out []span
	for start := 0; start < len(text); {
		r, size := utf8.DecodeRuneInString(text[start:])
		if !isWordRune(r) {
			start += size
			continue
		}
		end := start + size
		for end < len(text) {
			r, size := utf8.DecodeRuneInString(text[end:])
			if !isWordRune(r) {
				break
			}
			end += size
		}
		if i := m.match(text[start:end], lang); i >= 0 {
			out = append(out, span{start, end, i})
		}
		start = end
	}
	return out
}

// match is the query word tok matches in lang, or -1. A marker serves one
// request, so the cache needs no lock.
func (m *marker) match(tok, lang string) int {
	if !m.couldMatch(tok) {
		return -1
	}
	if i, ok := m.seen[lang][tok]; ok {
		return i
	}
	i := -1
	for _, t := range m.analyzers[lang].Analyze([]byte(tok)) {
		if w, ok := m.stems[lang][string(t.Term)]; ok {
			i = w
			break
		}
	}
	m.seen[lang][tok] = i
	return i
}

// couldMatch is true when the token begins like a stem: only those are
// analysed. ASCII tokens, nearly all of them, are checked without
// allocating.
func (m *marker) couldMatch(tok string) bool {
	var buf [headLen]byte
	n := 0
	for ; n < len(tok) && n < headLen; n++ {
		c := tok[n]
		if c >= utf8.RuneSelf {
			return m.couldMatchFolded(tok)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
	}
	for ; n > 0; n-- {
		if m.heads[string(buf[:n])] {
			return true
		}
	}
	return false
}

func (m *marker) couldMatchFolded(tok string) bool {
	h := []rune(head(tok))
	for n := len(h); n > 0; n-- {
		if m.heads[string(h[:n])] {
			return true
		}
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Fragment sizes of a highlight.
const (
	wholeFieldUpTo = 300 // a field this short is shown whole
	fragmentSize   = 200
	fragmentLead   = 60 // how much text comes before the first match
	maxFragments   = 3
)

// fragments cuts text around its spans into HTML: the text escaped, the
// matches wrapped in <mark></mark>.
func fragments(text string, spans []span) []string {
	if len(spans) == 0 {
		return nil
	}
	if len(text) <= wholeFieldUpTo {
		return []string{markup(text, 0, len(text), spans)}
	}
	var out []string
	for i := 0; i < len(spans) && len(out) < maxFragments; {
		start := wordStart(text, max(0, spans[i].start-fragmentLead))
		end := wordEnd(text, min(len(text), start+fragmentSize))
		if end < spans[i].end {
			end = spans[i].end
		}
		var in []span
		for i < len(spans) && spans[i].end <= end {
			in = append(in, spans[i])
			i++
		}
		out = append(out, markup(text, start, end, in))
	}
	return out
}

// markup escapes text[start:end] and marks the spans in it.
func markup(text string, start, end int, spans []span) string {
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	at := start
	for _, s := range spans {
		if s.start < at || s.end > end {
			continue
		}
		b.WriteString(html.EscapeString(text[at:s.start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[s.start:s.end]))
		b.WriteString("</mark>")
		at = s.end
	}
	b.WriteString(html.EscapeString(text[at:end]))
	if end < len(text) {
		b.WriteString("…")
	}
	return b.String()
}

// wordStart moves i back to the start of the word it falls in.
func wordStart(text string, i int) int {
	for i > 0 && !utf8.RuneStart(text[i]) {
		i--
	}
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:i])
		if !isWordRune(r) {
			break
		}
		i -= size
	}
	return i
}

// wordEnd moves i forward to the end of the word it falls in.
func wordEnd(text string, i int) int {
	for i < len(text) && !utf8.RuneStart(text[i]) {
		i++
	}
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			break
		}
		i += size
	}
	return i
}
