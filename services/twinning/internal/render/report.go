// Package render turns a report into the documents people download: HTML
// (the sections' Markdown through the platform's goldmark and bluemonday)
// and PDF (go-pdf/fpdf with its core fonts and the cp1252 translator, which
// has every letter Italian needs: à è é ì ò ù, ’ “ ” – …).
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

var stateWords = map[report.State]string{report.Draft: "bozza", report.Submitted: "inviato", report.Approved: "approvato"}

// Filename is the download's name: the twinning's code and the period.
func Filename(r *report.Report, ext string) string {
	period := r.Quarter
	if r.Kind == report.Final {
		period = "finale"
	}
	name := regexp.MustCompile(`[^A-Za-z0-9.-]+`).ReplaceAllString(r.TwinningCode+"-"+period, "-")
	return "rapporto-" + name + "." + ext
}

func dayIT(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.Format("02/01/2006")
}

func subtitle(r *report.Report) string {
	return fmt.Sprintf("Gemellaggio %s · periodo dal %s al %s · stato: %s", r.TwinningCode, dayIT(r.PeriodStart), dayIT(r.PeriodEnd), stateWords[r.State])
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="it">
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
{{.HTML}}
</section>
{{end}}</main>
</body>
</html>
`))

// HTML is the report as a standalone page.
func HTML(r *report.Report) ([]byte, error) {
	type section struct {
		Title string
		HTML  template.HTML
	}
	data := struct {
		Title, Subtitle string
		Sections        []section
	}{Title: r.Title(), Subtitle: subtitle(r)}
	for _, s := range r.Sections {
		// markdown.HTML sanitises with bluemonday: safe to put in the page.
		data.Sections = append(data.Sections, section{Title: report.SectionTitles[s.Key], HTML: template.HTML(markdown.HTML(s.Markdown))}) //nolint:gosec
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
