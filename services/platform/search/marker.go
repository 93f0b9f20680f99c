package search

import (
	"html"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/mapping"
	"golang.org/x/text/unicode/norm"
)

// A Marker finds, in a document's stored text, the words a query matched:
// for the highlighted fragments of a page of hits, and for the words a
// match has in common with a need. It analyses only the words that could
// match (those that begin like one of the query's stems), so it costs
// little more than reading the text: the index need not store every field
// a second time with its term positions.
type Marker = marker

type marker struct {
	analyzers map[string]analysis.Analyzer
	// seen caches, per language, the query word a token matched (-1: none).
	seen map[string]map[string]int
	// stems maps, per language, each analysed term the query matches to
	// the query word it came from.
	stems map[string]map[string]int
	// heads are the first runes (up to headLen) of every stem, folded.
	heads map[string]bool
	// firsts are the first bytes of the heads, and lengths the lengths
	// (in bytes) they come in: most words of a text are turned down on
	// their first letter, the others with a lookup or two.
	firsts  [256]bool
	lengths []int
}

const headLen = 5

// NewMarker marks the words of a query in the texts analysed by m's
// analyzers; expansions, keyed "lang\x00term", are other terms that
// stand for a word (spellings near a typo, a synonym's terms).
func NewMarker(m mapping.IndexMapping, words []Word, expansions map[string][]string) *Marker {
	return newMarker(m, words, expansions)
}

func newMarker(mp mapping.IndexMapping, words []Word, expansions map[string][]string) *marker {
	m := &marker{analyzers: map[string]analysis.Analyzer{}, stems: map[string]map[string]int{}, heads: map[string]bool{}, seen: map[string]map[string]int{}}
	for _, l := range Languages {
		m.analyzers[l] = mp.AnalyzerNamed(AnalyzerFor(l))
		m.stems[l] = map[string]int{}
		m.seen[l] = map[string]int{}
	}
	add := func(lang, stem string, i int) {
		if _, ok := m.stems[lang][stem]; !ok {
			m.stems[lang][stem] = i
		}
		h := stemHead(stem)
		if h == "" || m.heads[h] {
			return
		}
		m.heads[h] = true
		m.firsts[h[0]] = true
		for _, n := range m.lengths {
			if n == len(h) {
				return
			}
		}
		m.lengths = append(m.lengths, len(h))
		sort.Sort(sort.Reverse(sort.IntSlice(m.lengths)))
	}
	for i, w := range words {
		for l, t := range w.Terms {
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

// Span is a matched word: its bytes in the text and the query word.
type Span = span

type span struct {
	start, end int
	word       int
}

// Start, End and Word are where the matched word is and which query word it matched.
func (s span) Start() int { return s.start }
func (s span) End() int   { return s.end }
func (s span) Word() int  { return s.word }

// scan reads the matched words of text, written in lang, one at a time:
// a highlight stops reading once it has its fragments.
func (m *marker) scan(text, lang string) *spanScanner {
	lang = LanguageOf(lang)
	return &spanScanner{m: m, text: text, lang: lang, done: len(m.stems[lang]) == 0}
}

type spanScanner struct {
	m          *marker
	text, lang string
	pos        int
	done       bool
}

// next is the next matched word, or false at the end of the text.
func (s *spanScanner) next() (span, bool) {
	text := s.text
	for !s.done && s.pos < len(text) {
		start := s.pos
		if c := text[start]; c < utf8.RuneSelf {
			if !asciiWord[c] {
				s.pos++
				continue
			}
		} else if r, size := utf8.DecodeRuneInString(text[start:]); !isWordRune(r) {
			s.pos += size
			continue
		}
		end := wordEndAt(text, start)
		s.pos = end
		if i := s.m.match(text[start:end], s.lang); i >= 0 {
			return span{start, end, i}, true
		}
	}
	s.done = true
	return span{}, false
}

// wordEndAt is where the word that starts at i ends.
func wordEndAt(text string, i int) int {
	for i < len(text) {
		if c := text[i]; c < utf8.RuneSelf {
			if !asciiWord[c] {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			return i
		}
		i += size
	}
	return i
}

// asciiWord tells the ASCII letters and digits.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	return t
}()

// spans finds all the matched words of text, written in lang.
func (m *marker) spans(text, lang string) []span {
	var out []span
	sc := m.scan(text, lang)
	for sp, ok := sc.next(); ok; sp, ok = sc.next() {
		out = append(out, sp)
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
	if c := tok[0]; c < utf8.RuneSelf && !m.firsts[lower(c)] {
		return false
	}
	var buf [headLen]byte
	n := 0
	for ; n < len(tok) && n < headLen; n++ {
		c := tok[n]
		if c >= utf8.RuneSelf {
			return m.couldMatchFolded(tok)
		}
		buf[n] = lower(c)
	}
	for _, l := range m.lengths {
		if l <= n && m.heads[string(buf[:l])] {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
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

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiWord[r]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Fragment sizes of a highlight.
const (
	wholeFieldUpTo = 300 // a field this short is shown whole
	fragmentSize   = 200
	fragmentLead   = 60 // how much text comes before the first match
	maxFragments   = 3
)

// fragments cuts text around its matched words into HTML: the text
// escaped, the matches wrapped in <mark></mark>.
func fragments(text string, sc *spanScanner) []string {
	cur, ok := sc.next()
	if !ok {
		return nil
	}
	if len(text) <= wholeFieldUpTo {
		spans := []span{cur}
		for sp, ok := sc.next(); ok; sp, ok = sc.next() {
			spans = append(spans, sp)
		}
		return []string{markup(text, 0, len(text), spans)}
	}
	var out []string
	for more := true; more && len(out) < maxFragments; {
		start := wordStart(text, max(0, cur.start-fragmentLead))
		end := wordEnd(text, min(len(text), start+fragmentSize))
		if end < cur.end {
			end = cur.end
		}
		in := []span{cur}
		more = false
		for sp, ok := sc.next(); ok; sp, ok = sc.next() {
			if sp.end <= end {
				in = append(in, sp)
				continue
			}
			cur, more = sp, true
			break
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

// Scan reads the matched words of text, written in lang, one at a time.
func (m *marker) Scan(text, lang string) *SpanScanner { return m.scan(text, lang) }

// SpanScanner reads matched words one at a time.
type SpanScanner = spanScanner

// Next is the next matched word, or false at the end of the text.
func (s *spanScanner) Next() (Span, bool) { return s.next() }

// Spans finds all the matched words of text, written in lang.
func (m *marker) Spans(text, lang string) []Span { return m.spans(text, lang) }

// Fragments cuts text around its matched words into HTML: the text
// escaped, the matches wrapped in <mark></mark>; at most three fragments
// of about 200 bytes, or the whole text when it is short.
func Fragments(text string, sc *SpanScanner) []string { return fragments(text, sc) }

// Highlight is the marked fragments of one field.
type Highlight struct {
	Field     string
	Fragments []string
}

// NamedText is a text of a document and the field it comes from.
type NamedText struct{ Field, Text string }

// Highlights marks the query's words in each text of a hit; a nil marker
// (a search without words) marks nothing.
func (m *marker) Highlights(texts []NamedText, lang string) []Highlight {
	if m == nil {
		return nil
	}
	var out []Highlight
	for _, t := range texts {
		if frags := fragments(t.Text, m.scan(t.Text, lang)); len(frags) > 0 {
			out = append(out, Highlight{Field: t.Field, Fragments: frags})
		}
	}
	return out
}
