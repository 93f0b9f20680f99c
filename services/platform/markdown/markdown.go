// Package markdown turns the Markdown that people write into HTML that is
// safe to put in a page: members' posts, threads and stories (the
// discussion service) and the texts of practices (the portal), with one
// policy. Texts are stored as written and rendered when shown, so that a
// stricter policy applies at once to everything stored.
//
// Two layers, so that one mistake is not enough: goldmark renders without
// raw HTML (a <script> or <iframe> typed into a post is dropped, not passed
// through) and refuses dangerous link targets; bluemonday's policy for
// user-generated content then keeps only a list of harmless elements and
// attributes (no scripts, styles, frames or forms; no on* event handlers;
// links and images only to http, https and mailto URLs).
//
// GFM tables are left out on purpose: a table's rows take as many cells as
// its header, so a 20 KB body can ask for millions of cells (measured: 26 KB
// of Markdown became 100 MB of HTML in 18 s). Rendered bodies are kept in a
// small cache, so a body that is slow to render costs that time once, not
// at every page view.
package markdown

import (
	"bytes"
	"crypto/sha256"
	"html/template"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

var (
	markdown = goldmark.New(
		goldmark.WithExtensions(extension.Strikethrough, extension.Linkify),
		// People write line breaks where they want them shown.
		goldmark.WithRendererOptions(html.WithHardWraps()),
	)
	policy = newPolicy()
)

func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoFollowOnLinks(true)
	// Links to other sites open in a new tab with rel="noopener", so the
	// opened page cannot reach back into the portal.
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// HTML renders src to sanitised HTML. It never fails: input goldmark
// cannot convert (it has no such input today) is shown as escaped text.
func HTML(src string) string {
	if src == "" {
		return ""
	}
	key := sha256.Sum256([]byte(src))
	if html, ok := rendered.get(key); ok {
		return html
	}
	html := convert(src)
	rendered.put(key, html)
	return html
}

func convert(src string) string {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return policy.Sanitize("<p>" + template.HTMLEscapeString(src) + "</p>")
	}
	return policy.SanitizeReader(&buf).String()
}
