package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/twinning/internal/domain/report"
)

func sample() *report.Report {
	return &report.Report{
		ID: "r-1", TwinningCode: "TOSCA", TwinningTitle: "Tos.Ca. – Valorizzare le competenze <dei> cittadini", Kind: report.Quarterly, Quarter: "2015-Q2",
		PeriodStart: "2015-04-01", PeriodEnd: "2015-06-30", State: report.Approved,
		Sections: []report.Section{
			{Key: report.SectionSummary, Markdown: "Un trimestre **di attività** a Città di Castello.\n\n<script>alert(1)</script>"},
			{Key: report.SectionActivities, Markdown: "- **22/04/2015** – Visita di studio\n- 16/05/2015 – Diretta"},
		},
	}
}

func TestHTMLIsAWholePageWithSanitisedSections(t *testing.T) {
	page, err := HTML(sample())
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{`<html lang="it">`, "<h1>Rapporto trimestrale 2015-Q2 – Tos.Ca. – Valorizzare le competenze &lt;dei&gt; cittadini</h1>",
		"<h2>Attività svolte</h2>", "<strong>di attività</strong>", "<li><strong>22/04/2015</strong> – Visita di studio</li>"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page has no %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "<script>") {
		t.Errorf("a script in a section reached the page:\n%s", s)
	}
}

// The HTML a reader of the English portal downloads is titled in English;
// the sections' text, written in Italian, is marked as Italian.
func TestHTMLInEnglishHasEnglishHeadings(t *testing.T) {
	page, err := HTMLIn(English, sample())
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{`<html lang="en">`, "<h1>Quarterly report 2015-Q2 – Tos.Ca. – Valorizzare le competenze &lt;dei&gt; cittadini</h1>",
		"Twinning TOSCA · period from 1 April 2015 to 30 June 2015 · state: approved",
		"<h2>Summary of the period</h2>", "<h2>Activities carried out</h2>", `<div lang="it">`, "<strong>di attività</strong>"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page has no %q:\n%s", want, s)
		}
	}
	for _, italian := range []string{"Rapporto", "Sintesi del periodo", "Attività svolte", "Gemellaggio", "approvato"} {
		if strings.Contains(s, italian) {
			t.Errorf("the English page says %q:\n%s", italian, s)
		}
	}
	final := sample()
	final.Kind, final.Quarter = report.Final, ""
	if page, _ := HTMLIn(English, final); !strings.Contains(string(page), "<h1>Final report – Tos.Ca.") {
		t.Errorf("the final report's English title:\n%s", page)
	}
	if got := FilenameIn(English, final, "html"); got != "report-TOSCA-final.html" {
		t.Errorf("English file name %q", got)
	}
	for _, s := range []string{"", "it", "en"} {
		if _, ok := ParseLanguage(s); !ok {
			t.Errorf("ParseLanguage(%q) refused", s)
		}
	}
	if _, ok := ParseLanguage("de"); ok {
		t.Error("ParseLanguage accepts de")
	}
}

func TestPDFIsAWholeDocumentNamedForTheTwinning(t *testing.T) {
	doc, err := PDF(sample(), time.Date(2015, 7, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(doc, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(doc), []byte("%%EOF")) {
		t.Fatalf("not a whole PDF: %q … %q", doc[:8], doc[len(doc)-8:])
	}
	if got := Filename(sample(), "pdf"); got != "rapporto-TOSCA-2015-Q2.pdf" {
		t.Errorf("file name %q", got)
	}
	final := sample()
	final.Kind, final.Quarter = report.Final, ""
	if got := Filename(final, "html"); got != "rapporto-TOSCA-finale.html" {
		t.Errorf("file name %q", got)
	}
}

func TestPlainUndoesMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"**svolta** il 26/02/2015": "svolta il 26/02/2015",
		`Modello A \(B\) e \*C\*`:  `Modello A \(B\) e *C*`,
		"_Nessuna attività._":      "Nessuna attività.",
		`a\_b`:                     "a_b",
	} {
		if got := plain(in); got != want {
			t.Errorf("plain(%q) = %q, want %q", in, got, want)
		}
	}
}

// Letters cp1252 does not have (a Greek beta, an emoji) do not stop the PDF.
func TestPDFTakesAnyText(t *testing.T) {
	r := sample()
	r.Sections = append(r.Sections, report.Section{Key: report.SectionDiscussion, Markdown: "Costi in € ≥ β 😀 «citazione» — fine…"})
	doc, err := PDF(r, time.Date(2015, 7, 1, 9, 0, 0, 0, time.UTC))
	if err != nil || !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("PDF: %v", err)
	}
}
