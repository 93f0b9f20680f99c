// Package render turns a report into the documents people download: HTML
// (the sections' Markdown through the platform's goldmark and bluemonday)
// and PDF (go-pdf/fpdf with its core fonts and the cp1252 translator, which
// has every letter Italian needs: à è é ì ò ù, ’ “ ” – …).
//
// Reports are drafted and written in Italian, and the PDF, the document a
// twinning files, is Italian throughout. The HTML is what a reader of the
// portal downloads: its title, headings and dates are in the reader's
// language (Italian or English), the sections' text as it was written.
package render

import (
	"bytes"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/gemella/gemella/services/platform/markdown"
	"github.com/gemella/gemella/services/twinning/internal/domain/report"
)

// Language is a language a report's HTML is titled in.
type Language string

const (
	Italian Language = "it"
	English Language = "en"
)

// ParseLanguage accepts "it", "en" and "" (Italian).
func ParseLanguage(s string) (Language, bool) {
	switch Language(s) {
	case "", Italian:
		return Italian, true
	case English:
		return English, true
	}
	return "", false
}

// words are what a rendering says around the report's own text.
type words struct {
	quarterly, final string // titles: %s the quarter and the twinning's title; %s the twinning's title
	subtitle         string // %s the code, the first and last day, the state
	day              func(string) string
	states           map[report.State]string
	sections         map[string]string
	filename, period string // the file's name begins with filename; period names the final report
}

var vocabulary = map[Language]words{
	Italian: {
		quarterly: "Rapporto trimestrale %s – %s", final: "Rapporto finale – %s",
		subtitle: "Gemellaggio %s · periodo dal %s al %s · stato: %s",
		day:      day("02/01/2006"),
		states:   map[report.State]string{report.Draft: "bozza", report.Submitted: "inviato", report.Approved: "approvato"},
		sections: report.SectionTitles,
		filename: "rapporto-", period: "finale",
	},
	English: {
		quarterly: "Quarterly report %s – %s", final: "Final report – %s",
		subtitle: "Twinning %s · period from %s to %s · state: %s",
		day:      day("2 January 2006"),
		states:   map[report.State]string{report.Draft: "draft", report.Submitted: "submitted", report.Approved: "approved"},
		sections: map[string]string{
			report.SectionSummary:    "Summary of the period",
			report.SectionActivities: "Activities carried out",
			report.SectionMilestones: "Milestones: done, due, overdue",
			report.SectionTransfers:  "Transfers: status changes and notes",
			report.SectionAdoption:   "Adoption outcomes",
			report.SectionDiscussion: "Discussion in the period",
			report.SectionObjectives: "Objectives and expected results next to what happened",
		},
		filename: "report-", period: "final",
	},
}

func day(layout string) func(string) string {
	return func(d string) string {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			return d
		}
		return t.Format(layout)
	}
}

func (w words) title(r *report.Report) string {
	if r.Kind == report.Final {
		return fmt.Sprintf(w.final, r.TwinningTitle)
	}
	return fmt.Sprintf(w.quarterly, r.Quarter, r.TwinningTitle)
}

func (w words) subtitleOf(r *report.Report) string {
	return fmt.Sprintf(w.subtitle, r.TwinningCode, w.day(r.PeriodStart), w.day(r.PeriodEnd), w.states[r.State])
}

// Filename is the download's name: the twinning's code and the period.
func Filename(r *report.Report, ext string) string { return FilenameIn(Italian, r, ext) }

// FilenameIn is the download's name in a language.
func FilenameIn(lang Language, r *report.Report, ext string) string {
	w := vocabulary[lang]
	period := r.Quarter
	if r.Kind == report.Final {
		period = w.period
	}
	name := regexp.MustCompile(`[^A-Za-z0-9.-]+`).ReplaceAllString(r.TwinningCode+"-"+period, "-")
	return w.filename + name + "." + ext
}

func subtitle(r *report.Report) string { return vocabulary[Italian].subtitleOf(r) }

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body{font-family:"Titillium Web",Geneva,Tahoma,sans-serif;max-width:50em;margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.5}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.meta{color:#444}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p class="meta">{{.Subtitle}}</p>
{{range .Sections}}<section>
<h2>{{.Title}}</h2>
{{if ne $.Lang "it"}}<div lang="it">
{{.HTML}}
</div>{{else}}{{.HTML}}{{end}}
</section>
{{end}}</main>
</body>
</html>
`))

// HTML is the report as a standalone page, titled in Italian.
func HTML(r *report.Report) ([]byte, error) { return HTMLIn(Italian, r) }

// HTMLIn is the report as a standalone page whose title, headings and
// dates are in lang; the sections' text, written in Italian, is marked so.
func HTMLIn(lang Language, r *report.Report) ([]byte, error) {
	w, ok := vocabulary[lang]
	if !ok {
		lang, w = Italian, vocabulary[Italian]
	}
	type section struct {
		Title string
		HTML  template.HTML
	}
	data := struct {
		Lang            Language
		Title, Subtitle string
		Sections        []section
	}{Lang: lang, Title: w.title(r), Subtitle: w.subtitleOf(r)}
	for _, s := range r.Sections {
		// markdown.HTML sanitises with bluemonday: safe to put in the page.
		data.Sections = append(data.Sections, section{Title: w.sections[s.Key], HTML: template.HTML(markdown.HTML(s.Markdown))}) //nolint:gosec
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var (
	escapes   = regexp.MustCompile(`\\([\\` + "`" + `*_\[\]<>#|~])`)
	emphasis  = regexp.MustCompile(`\*\*|__`)
	italics   = regexp.MustCompile(`(^|[\s(])_([^_]+)_`)
	listItem  = regexp.MustCompile(`^\s*[-*+]\s+`)
	orderItem = regexp.MustCompile(`^\s*\d+[.)]\s+`)
	heading   = regexp.MustCompile(`^#{1,6}\s+`)
)

// plain is a line of Markdown as text: no markers, escapes undone.
func plain(s string) string {
	s = emphasis.ReplaceAllString(s, "")
	s = italics.ReplaceAllString(s, "$1$2")
	return escapes.ReplaceAllString(s, "$1")
}

// PDF is the report as a PDF document (A4).
func PDF(r *report.Report, now time.Time) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	pdf.SetTitle(r.Title(), true)
	pdf.SetSubject(subtitle(r), true)
	pdf.SetCreator("Gemella", true)
	pdf.SetLang("it-IT")
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	pdf.SetMargins(18, 18, 18)
	pdf.SetAutoPageBreak(true, 18)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.CellFormat(0, 6, tr(fmt.Sprintf("%s – pagina %d", r.TwinningCode, pdf.PageNo())), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.MultiCell(0, 8, tr(r.Title()), "", "L", false)
	pdf.Ln(2)
	pdf.SetFont("Helvetica", "", 9)
	pdf.MultiCell(0, 5, tr(subtitle(r)), "", "L", false)
	for _, s := range r.Sections {
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "B", 13)
		pdf.MultiCell(0, 7, tr(report.SectionTitles[s.Key]), "", "L", false)
		pdf.Ln(1)
		for _, line := range strings.Split(s.Markdown, "\n") {
			line = strings.TrimRight(line, " ")
			switch {
			case strings.TrimSpace(line) == "":
				pdf.Ln(2)
			case heading.MatchString(line):
				pdf.SetFont("Helvetica", "B", 11)
				pdf.MultiCell(0, 6, tr(plain(heading.ReplaceAllString(line, ""))), "", "L", false)
			case listItem.MatchString(line) || orderItem.MatchString(line):
				pdf.SetFont("Helvetica", "", 10)
				text := listItem.ReplaceAllString(line, "")
				bullet := "•"
				if orderItem.MatchString(line) {
					bullet = strings.TrimSpace(orderItem.FindString(line))
					text = orderItem.ReplaceAllString(line, "")
				}
				x := pdf.GetX()
				pdf.CellFormat(6, 5, tr(bullet), "", 0, "L", false, 0, "")
				pdf.SetLeftMargin(x + 6)
				pdf.MultiCell(0, 5, tr(plain(text)), "", "L", false)
				pdf.SetLeftMargin(x)
			default:
				pdf.SetFont("Helvetica", "", 10)
				pdf.MultiCell(0, 5, tr(plain(line)), "", "L", false)
			}
		}
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render the report as PDF: %w", err)
	}
	return buf.Bytes(), nil
}
