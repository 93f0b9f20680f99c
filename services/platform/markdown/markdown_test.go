package markdown

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/html"
)

func TestMarkdownKeepsWhatPeopleWrite(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"emphasis and lists", "Il **Libretto formativo** è _utile_:\n\n- modello A\n- modello B", []string{"<strong>Libretto formativo</strong>", "<em>utile</em>", "<li>modello A</li>"}},
		{"line breaks are kept", "prima riga\nseconda riga", []string{"prima riga<br>", "seconda riga"}},
		{"links to other sites open safely", "[Trio](https://www.progettotrio.it)", []string{`href="https://www.progettotrio.it"`, `rel="nofollow noopener"`, `target="_blank"`}},
		{"bare links become links", "vedi https://www.regione.toscana.it per i dettagli", []string{`<a href="https://www.regione.toscana.it"`}},
		{"code is escaped", "`<script>` non viene eseguito", []string{"<code>&lt;script&gt;</code>"}},
		{"accents and quotes", "L’“Istituto degli Innocenti” & l'asilo", []string{"L’“Istituto degli Innocenti” &amp; l&#39;asilo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HTML(tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("HTML(%q) = %q\nwant it to contain %q", tt.src, got, w)
				}
			}
			if err := unsafeContent(got); err != nil {
				t.Error(err)
			}
		})
	}
	if HTML("") != "" {
		t.Error("an empty body renders to something")
	}
}

// A table header asks every row for as many cells as it has: with tables a
// short body could become megabytes of HTML. Tables stay text.
func TestBodiesCannotBlowUp(t *testing.T) {
	src := strings.Repeat("|a", 2000) + "\n" + strings.Repeat("|-", 2000) + "\n" + strings.Repeat("|b\n", 1000)
	if got := HTML(src); len(got) > 4*len(src) || strings.Contains(got, "<table") {
		t.Fatalf("%d bytes of Markdown became %d bytes of HTML", len(src), len(got))
	}
}

func TestCacheIsBoundedAndServesRepeats(t *testing.T) {
	c := newLRU(100)
	for i := 0; i < 20; i++ {
		c.put([32]byte{byte(i)}, "0123456789")
	}
	if c.size > 100 || len(c.items) != 10 {
		t.Fatalf("cache holds %d bytes in %d items", c.size, len(c.items))
	}
	if _, ok := c.get([32]byte{0}); ok {
		t.Error("the oldest entry survived")
	}
	if html, ok := c.get([32]byte{19}); !ok || html != "0123456789" {
		t.Error("the newest entry is gone")
	}
	c.put([32]byte{99}, strings.Repeat("x", 50))
	if _, ok := c.get([32]byte{99}); ok {
		t.Error("an entry larger than an eighth of the cache was kept")
	}
	first := HTML("**ciao**")
	if again := HTML("**ciao**"); again != first || first != "<p><strong>ciao</strong></p>\n" {
		t.Fatalf("cached render differs: %q %q", first, again)
	}
}

// attacks are bodies that try to get script into the page; they seed the
// fuzz target too.
var attacks = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=https://evil.example/x.js></SCRIPT>`,
	`<img src=x onerror=alert(1)>`,
	`<img src="x" onerror="alert(document.cookie)">`,
	`![x](x" onerror="alert(1))`,
	`[clic](javascript:alert(1))`,
	`[clic](JaVaScRiPt:alert(1))`,
	`[clic]( javascript:alert(1))`,
	`[clic](java&#x73;cript:alert(1))`,
	`[clic](&#106;avascript:alert(1))`,
	`[clic](javascript&colon;alert(1))`,
	"[clic](java\tscript:alert(1))",
	`[clic](vbscript:msgbox(1))`,
	`[clic](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`![img](javascript:alert(1))`,
	"[ref]\n\n[ref]: javascript:alert(1)",
	`<javascript:alert(1)>`,
	`javascript:alert(1)`,
	`<a href="javascript:alert(1)">clic</a>`,
	`<iframe src="https://evil.example"></iframe>`,
	`<iframe srcdoc="<script>alert(1)</script>">`,
	`<svg onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<details open ontoggle=alert(1)>`,
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`<object data="javascript:alert(1)"></object>`,
	`<embed src="javascript:alert(1)">`,
	`<form action="javascript:alert(1)"><button>x</button></form>`,
	`<base href="javascript:alert(1)//">`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<!--<script>alert(1)</script>-->`,
	"```html\n<script>alert(1)</script>\n```",
	"| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x onerror=alert(1)> |",
	`**<img src=x onerror=alert(1)>**`,
	"<a href=\"\x00javascript:alert(1)\">x</a>",
	`[x](https://example.org/" onmouseover="alert(1))`,
	`"><script>alert(1)</script>`,
	"Normale testo con onerror= e javascript: scritti in chiaro.",
}

func TestMarkdownDropsActiveContent(t *testing.T) {
	for _, src := range attacks {
		got := HTML(src)
		if err := unsafeContent(got); err != nil {
			t.Errorf("HTML(%q) = %q: %v", src, got, err)
		}
	}
	// The classic three, as markup, leave no trace at all in the HTML.
	got := HTML("<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[clic](javascript:alert(3))")
	for _, bad := range []string{"<script", "onerror", "javascript:", "alert"} {
		if strings.Contains(strings.ToLower(got), bad) {
			t.Errorf("%q survived in %q", bad, got)
		}
	}
	if !strings.Contains(got, "clic") {
		t.Errorf("the link text was lost: %q", got)
	}
}

// FuzzRender looks for bodies that crash the renderer or get active
// content through it. `go test` runs the seeds; `go test -fuzz=FuzzRender
// ./internal/render` searches further.
func FuzzRender(f *testing.F) {
	for _, s := range attacks {
		f.Add(s)
	}
	f.Add("# Titolo\n\n> citazione\n\n1. uno\n2. due\n\n---\n\n~~barrato~~ `code` [link](https://example.org \"t\")")
	f.Add(strings.Repeat("[", 200) + strings.Repeat("]", 200))
	f.Add(strings.Repeat("> ", 300) + "x")
	f.Fuzz(func(t *testing.T, src string) {
		got := HTML(src)
		if err := unsafeContent(got); err != nil {
			t.Fatalf("HTML(%q) = %q: %v", src, got, err)
		}
	})
}

// forbiddenElements may never appear in rendered HTML.
var forbiddenElements = map[string]bool{
	"script": true, "style": true, "iframe": true, "frame": true, "frameset": true, "object": true,
	"embed": true, "applet": true, "form": true, "input": true, "button": true, "textarea": true,
	"select": true, "base": true, "link": true, "meta": true, "svg": true, "math": true, "template": true,
}

// urlAttributes hold URLs a browser may follow or load.
var urlAttributes = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "data": true, "cite": true,
	"background": true, "poster": true, "srcset": true, "xlink:href": true, "ping": true,
}

// unsafeContent parses HTML as a browser would and reports the first
// element, attribute or URL that could run script or load a frame.
func unsafeContent(s string) error {
	if strings.Contains(strings.ToLower(s), "<script") || strings.Contains(strings.ToLower(s), "<iframe") {
		return fmt.Errorf("raw script or iframe tag in output")
	}
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return nil
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			if forbiddenElements[strings.ToLower(tok.Data)] {
				return fmt.Errorf("element <%s> survived", tok.Data)
			}
			for _, a := range tok.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(key, "on"):
					return fmt.Errorf("event handler %s=%q survived", a.Key, a.Val)
				case key == "style" || key == "srcdoc":
					return fmt.Errorf("attribute %s survived", a.Key)
				case urlAttributes[key]:
					if err := checkURL(a.Val); err != nil {
						return fmt.Errorf("attribute %s=%q: %w", a.Key, a.Val, err)
					}
				}
			}
		}
	}
}

// checkURL accepts relative URLs and http, https and mailto ones, after
// dropping what browsers ignore (whitespace and control characters).
func checkURL(raw string) error {
	cleaned := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return -1
		}
		return r
	}, raw)
	u, err := url.Parse(cleaned)
	if err != nil {
		return fmt.Errorf("unparseable URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "", "http", "https", "mailto":
		// A colon before any '/', '?' or '#' would make a browser read a scheme.
		if head, _, _ := strings.Cut(strings.SplitN(strings.SplitN(cleaned, "#", 2)[0], "?", 2)[0], "/"); u.Scheme == "" && strings.Contains(head, ":") {
			return fmt.Errorf("scheme-like prefix in a relative URL")
		}
		return nil
	}
	return fmt.Errorf("scheme %q", u.Scheme)
}
