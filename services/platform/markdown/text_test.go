package markdown

import (
	"strings"
	"testing"
)

// What search indexes and highlights: the words as the page shows them,
// none of the Markdown that people typed around them.
func TestTextKeepsTheWordsAndDropsTheMarkdown(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"emphasis", "Il **Libretto formativo** è _utile_ e ~~vecchio~~", "Il Libretto formativo è utile e vecchio"},
		{"a link's text, not its address", "vedi [il bando](https://www.regione.toscana.it/bando \"titolo\")", "vedi il bando"},
		{"bare links stay as written", "vedi https://www.regione.toscana.it e <mailto:a@b.it>", "vedi https://www.regione.toscana.it e mailto:a@b.it"},
		{"an image's description", "![la sede di Prato](https://x.it/p.png)", "la sede di Prato"},
		{"headings, lists and quotes", "# Titolo\n\n- modello A\n- modello B\n\n> citato", "Titolo\nmodello A\nmodello B\ncitato"},
		{"line breaks", "prima riga\nseconda riga  \nterza", "prima riga\nseconda riga\nterza"},
		{"code as written", "`**non** enfasi` e\n\n```\nx := *y*\n```", "**non** enfasi e\nx := *y*"},
		{"escapes and entities resolved", `2 \* 3 &amp; &#233; &lt;b&gt;`, "2 * 3 & é <b>"},
		{"raw HTML left out as the page leaves it", "il <b>modello</b> <script>alert(1)</script>\n\n<div>\nblocco\n</div>\n\nfine", "il modello alert(1)\nfine"},
		{"plain text unchanged", "L’“Istituto degli Innocenti” & l'asilo < 3", "L’“Istituto degli Innocenti” & l'asilo < 3"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.src); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

// A table-like body stays as long as it was.
func TestTextCannotBlowUp(t *testing.T) {
	src := strings.Repeat("|a", 2000) + "\n" + strings.Repeat("|-", 2000) + "\n" + strings.Repeat("|b\n", 1000)
	if got := Text(src); len(got) > len(src) {
		t.Fatalf("%d bytes of Markdown became %d bytes of text", len(src), len(got))
	}
}

// Texts without Markdown skip the parser; what they give must be what the
// parser would have given.
func TestTextWithoutMarkdownIsWhatTheParserGives(t *testing.T) {
	for _, src := range []string{
		"Il sistema regionale delle competenze.", "prima riga\nseconda riga  \n\n\n  terza, dopo: l'altra (sì) -- fine!",
		"L’“Istituto degli Innocenti” e l'asilo > 3 = vero", "vedi https://www.regione.toscana.it per i dettagli", "  rientrata\n\tcodice",
		"1999 fu l'anno", "a\r\nb",
	} {
		if got, want := Text(src), plainText(src); got != want {
			t.Errorf("Text(%q) = %q, the parser gives %q", src, got, want)
		}
	}
	for _, src := range []string{"- lista", "1. primo", "2) secondo", "> citato", "titolo\n===", "    codice", "\tcodice", "**x**", "a & b", "[x](y)", "a\\b"} {
		if noMarkdown(src) {
			t.Errorf("noMarkdown(%q) is true", src)
		}
	}
}
