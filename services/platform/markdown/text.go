package markdown

import (
	"bytes"
	"crypto/sha256"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Text is the words of src without its Markdown, as a reader of the
// rendered page reads them: emphasis, headings and list marks gone, a
// link's text kept and its address dropped, raw HTML left out as HTML
// leaves it out, escapes and entities resolved. Blocks are separated by a
// line break. Search indexes this, so that its highlighted fragments read
// as plain text; the result is text, not HTML: whoever shows it escapes it.
// It is parsed by the same goldmark as HTML, with the same extensions.
//
// Texts are kept in a small cache, as HTML is: a search that highlights its
// hits' texts at every query parses each text once.
func Text(src string) string {
	if src == "" {
		return ""
	}
	if noMarkdown(src) {
		return lines(src)
	}
	key := sha256.Sum256([]byte(src))
	if text, ok := texts.get(key); ok {
		return text
	}
	text := plainText(src)
	texts.put(key, text)
	return text
}

// texts maps the SHA-256 of a body to its text.
var texts = newLRU(cacheBytes / 4)

func plainText(src string) string {
	source := []byte(src)
	doc := markdown.Parser().Parse(text.NewReader(source))
	var b strings.Builder
	// breakLine ends the line, once: blocks and line breaks do not pile
	// up blank lines.
	breakLine := func() {
		if s := b.String(); s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *ast.Text:
			if !entering {
				return ast.WalkContinue, nil
			}
			v := n.Segment.Value(source)
			if !n.IsRaw() {
				v = plain(v)
			}
			b.Write(v)
			if n.SoftLineBreak() || n.HardLineBreak() {
				breakLine()
			}
		case *ast.String:
			if entering {
				if n.IsCode() || n.IsRaw() {
					b.Write(n.Value)
				} else {
					b.Write(plain(n.Value))
				}
			}
		case *ast.CodeSpan:
			// Code is shown as written: no escapes, no entities.
			if !entering {
				return ast.WalkContinue, nil
			}
			for c := n.FirstChild(); c != nil; c = c.NextSibling() {
				if t, ok := c.(*ast.Text); ok {
					b.Write(bytes.ReplaceAll(t.Segment.Value(source), []byte("\n"), []byte(" ")))
				}
			}
			return ast.WalkSkipChildren, nil
		case *ast.AutoLink:
			if entering {
				b.Write(n.Label(source))
			}
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML, *ast.HTMLBlock:
			// Rendered pages leave raw HTML out: so does the text.
			return ast.WalkSkipChildren, nil
		case *ast.CodeBlock, *ast.FencedCodeBlock:
			if entering {
				breakLine()
				lines := n.Lines()
				for i := 0; i < lines.Len(); i++ {
					seg := lines.At(i)
					b.Write(seg.Value(source))
				}
				breakLine()
			}
			return ast.WalkSkipChildren, nil
		default:
			if n.Type() == ast.TypeBlock {
				breakLine()
			}
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

// plain resolves what goldmark's HTML writer resolves in a text:
// backslash escapes and character references.
func plain(v []byte) []byte {
	if bytes.IndexByte(v, '\\') >= 0 {
		v = util.UnescapePunctuations(v)
	}
	if bytes.IndexByte(v, '&') >= 0 {
		v = util.ResolveEntityNames(util.ResolveNumericReferences(v))
	}
	return v
}

// noMarkdown tells a text that has nothing Markdown would change but
// blank lines: no emphasis, link, code, HTML, escape, entity or heading
// marks, and no line that opens a list, a quote, an underline or indented
// code. Most texts of a catalogue are such, and parsing costs a hundred
// times more than this look.
func noMarkdown(src string) bool {
	if strings.ContainsAny(src, "*_[]`<\\&~#|") {
		return false
	}
	for line := range strings.Lines(src) {
		if strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t") {
			return false
		}
		line = strings.TrimLeft(line, " ")
		if line == "" {
			continue
		}
		switch line[0] {
		case '-', '+', '>', '=':
			return false
		}
		digits := len(line) - len(strings.TrimLeft(line, "0123456789"))
		if digits > 0 && digits < len(line) && (line[digits] == '.' || line[digits] == ')') {
			return false
		}
	}
	return true
}

// lines is a text without Markdown as the parser gives it: each line
// trimmed, blank lines left out.
func lines(src string) string {
	var b strings.Builder
	for line := range strings.Lines(src) {
		if line = strings.TrimSpace(line); line != "" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(line)
		}
	}
	return b.String()
}
