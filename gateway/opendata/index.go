package opendata

import (
	"bytes"
	_ "embed"
	"html/template"
	"log/slog"
	"net/http"

	"google.golang.org/grpc/codes"
)

//go:embed index.html
var indexHTML string

var indexTemplate = template.Must(template.New("index").Parse(indexHTML))

// langCookie is the portal's language cookie (gateway/portal): the index
// page speaks the language the visitor chose there.
const langCookie = "gemella_lang"

// indexTexts are the page's words in each language.
type indexTexts struct {
	Title, Intro, Licence, Attribution, Formats, Catalogue, Tables, Download, Key, Order string
	ColumnsOf, Column, Type, Meaning, JoinsTo, OtherLang                                 string
}

var indexWords = map[string]indexTexts{
	"it": {
		Title:       "Dati aperti",
		Intro:       "Tutto ciò che è pubblico su Gemella si può scaricare in blocco: le organizzazioni, le buone pratiche pubblicate e i loro modelli, i gemellaggi con i trasferimenti e i loro esiti, i dati di adozione, le richieste e le offerte di supporto aperte, le storie pubblicate. Un file per tabella; le tabelle si collegano tra loro con gli identificativi stabili indicati qui sotto. Le bozze non compaiono mai, né i dati personali (nomi e contatti delle persone).",
		Licence:     "I dati sono pubblicati con licenza",
		Attribution: "Citare come fonte «Gemella».",
		Formats:     "Ogni tabella è disponibile in CSV (UTF-8 senza BOM, separatore virgola, righe terminate da CRLF, una riga di intestazione con i nomi delle colonne) e in JSON Lines (un oggetto JSON per riga, con gli stessi nomi). Gli elenchi, in CSV, sono separati da |; date e ore sono in UTC. Ogni file ha ETag e Last-Modified: uno scaricamento condizionato (If-None-Match) costa poco.",
		Catalogue:   "Il catalogo dei dataset secondo il profilo nazionale DCAT-AP_IT è in",
		Tables:      "Le tabelle",
		Download:    "Scarica",
		Key:         "Identificano una riga",
		Order:       "Ordine",
		ColumnsOf:   "Colonne della tabella",
		Column:      "Colonna",
		Type:        "Tipo",
		Meaning:     "Significato",
		JoinsTo:     "Si collega a",
		OtherLang:   "English",
	},
	"en": {
		Title:       "Open data",
		Intro:       "Everything public on Gemella can be downloaded in bulk: the organisations, the published good practices and their models, the twinnings with their transfers and outcomes, the adoption figures, the open requests and offers of support, the published stories. One file per table; the tables join on the stable ids listed below. Drafts never appear, nor does personal data (people's names and contacts).",
		Licence:     "The data is published under the licence",
		Attribution: "Credit \"Gemella\" as the source.",
		Formats:     "Each table comes as CSV (UTF-8 without BOM, comma-separated, CRLF line ends, a header row of the column names) and as JSON Lines (one JSON object per line, with the same names). Lists are separated by | in CSV; dates and times are in UTC. Every file has an ETag and a Last-Modified: a conditional download (If-None-Match) is cheap.",
		Catalogue:   "The catalogue of the datasets, in the Italian DCAT-AP_IT profile, is at",
		Tables:      "The tables",
		Download:    "Download",
		Key:         "A row is identified by",
		Order:       "Order",
		ColumnsOf:   "Columns of the table",
		Column:      "Column",
		Type:        "Type",
		Meaning:     "Meaning",
		JoinsTo:     "Joins to",
		OtherLang:   "Italiano",
	},
}

type indexColumn struct{ Name, Kind, Description, References string }

type indexDownload struct{ Href, FileName, Label string }

type indexTable struct {
	Name, Title, Description, Order string
	Key                             []string
	Columns                         []indexColumn
	Downloads                       []indexDownload
}

type indexPage struct {
	Lang, OtherLang, OtherLangHref string
	T                              indexTexts
	CatalogPath, LicenseURL        string
	Tables                         []indexTable
}

// pageLang is ?lang= when given, else the portal's language cookie, else
// Italian.
func pageLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "it" || l == "en" {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "it" || c.Value == "en") {
		return c.Value
	}
	return "it"
}

func buildIndex(lang string) indexPage {
	other := "en"
	if lang == "en" {
		other = "it"
	}
	p := indexPage{Lang: lang, OtherLang: other, OtherLangHref: Prefix + "?lang=" + other, T: indexWords[lang], CatalogPath: CatalogPath, LicenseURL: LicenseURL}
	for _, t := range tables {
		info := t.Info()
		it := indexTable{Name: info.Name, Title: info.Title.In(lang), Description: info.Description.In(lang), Order: info.Order.In(lang), Key: info.Key}
		for _, c := range info.Columns {
			it.Columns = append(it.Columns, indexColumn{Name: c.Name, Kind: c.Kind.Describe(lang), Description: c.Description.In(lang), References: c.References})
		}
		for _, f := range Formats {
			label := "CSV"
			if f == JSONL {
				label = "JSON Lines"
			}
			it.Downloads = append(it.Downloads, indexDownload{Href: info.Path(f), FileName: info.FileName(f), Label: label})
		}
		p.Tables = append(p.Tables, it)
	}
	return p
}

func (s *Service) serveIndex(w http.ResponseWriter, r *http.Request) {
	lang := pageLang(r)
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, buildIndex(lang)); err != nil {
		s.logger.ErrorContext(r.Context(), "open data index page", slog.Any("err", err))
		s.writeError(w, r, http.StatusInternalServerError, codes.Internal, "the open data page could not be written")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", lang)
	h.Set("Vary", "Cookie")
	h.Set("Link", licenseLink)
	h.Set("X-Content-Type-Options", "nosniff")
	// No scripts; the page's own styles, and the portal's.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(buf.Bytes())
}
