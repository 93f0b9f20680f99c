package search

import (
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
)

// schemaVersion changes whenever the mapping or the documents change; an
// index written with another one is rebuilt at start. The synonym list in
// use is part of the schema too (Synonyms.schema). 11: Markdown texts are
// indexed as their words (markdown.Text).
const schemaVersion = "gemella-search-11"

// Document kinds, the value of fieldKind.
const (
	kindPractice = "practice"
	kindNeed     = "need"
	// kindRemoved is the tombstone of a practice or need no longer shown.
	kindRemoved = "removed"
)

// Fields of an index document. The text is indexed twice per language:
// the lead (title, summary, the models' titles), short and telling, and
// the whole text; a document fills the fields of its own language, and a
// query asks both languages, each analysed its own way. The text itself is
// not stored twice: highlights are marked on the stored document.
const (
	fieldKind      = "kind"
	fieldThemes    = "themes"
	fieldSectors   = "sectors"
	fieldTerritory = "territory_code"
	fieldOwnerIDs  = "owner_ids"
	fieldOwnerKind = "owner_kinds"
	// fieldFacets holds every facet value of a document as
	// "<facet>\x1f<value>" (theme, sector, territory, owner_kind): the
	// facets of a search are counted from this one field's postings.
	fieldFacets = "facets"
	// fieldThemeKeys and fieldSectorKeys hold the labels folded (case,
	// accents), as matchmaking compares them.
	fieldThemeKeys  = "theme_keys"
	fieldSectorKeys = "sector_keys"
	fieldSortTime   = "sort_time"
	// fieldVersion is the version of the aggregate the document was built from.
	fieldVersion = "version"
	// fieldSource holds the document as the catalogue shows it, so a hit
	// is rendered, and highlighted, without a database query.
	fieldSource = "_src"
)

// The indexed text fields and how much a match in each counts. Practices
// and needs have fields of their own names, so a text query finds one kind
// without a filter on the kind, which every hit would pay for.
const (
	fieldLead = "lead"
	fieldText = "text"
	leadBoost = 2.0
	textBoost = 1.0
)

var textFields = []string{fieldLead, fieldText, kindNeed + "_" + fieldLead, kindNeed + "_" + fieldText}

// textFieldOf is a text field of a kind of document: lead_it, need_lead_it.
func textFieldOf(kind, name, lang string) string {
	if kind == kindNeed {
		name = kindNeed + "_" + name
	}
	return textField(name, lang)
}

func textField(name, lang string) string { return name + "_" + lang }

// documentMapping declares what is indexed of a document and how; the
// analysis (with the synonyms), the scoring and the rest of the mapping
// are the platform's store's.
func documentMapping() *mapping.DocumentMapping {
	doc := bleve.NewDocumentStaticMapping()
	for _, lang := range languages {
		for _, f := range textFields {
			fm := bleve.NewTextFieldMapping()
			fm.Analyzer = analyzerFor(lang)
			fm.Store = false
			fm.IncludeTermVectors = false
			fm.IncludeInAll = false
			fm.DocValues = false
			doc.AddFieldMappingsAt(textField(f, lang), fm)
		}
	}
	for _, name := range []string{fieldKind, fieldThemes, fieldSectors, fieldTerritory, fieldOwnerIDs, fieldOwnerKind, fieldThemeKeys, fieldSectorKeys, fieldFacets} {
		fm := bleve.NewKeywordFieldMapping()
		fm.Store = false
		fm.IncludeInAll = false
		fm.IncludeTermVectors = false
		// Facets are counted from the postings (execute.go), not from
		// doc values, which would cost a quarter of the index.
		fm.DocValues = false
		doc.AddFieldMappingsAt(name, fm)
	}
	sortTime := bleve.NewNumericFieldMapping()
	sortTime.Store = false
	sortTime.IncludeInAll = false
	sortTime.DocValues = true
	doc.AddFieldMappingsAt(fieldSortTime, sortTime)

	version := bleve.NewNumericFieldMapping()
	version.Index = false
	version.Store = true
	version.IncludeInAll = false
	version.DocValues = false
	doc.AddFieldMappingsAt(fieldVersion, version)

	source := bleve.NewTextFieldMapping()
	source.Index = false
	source.Store = true
	source.IncludeInAll = false
	source.IncludeTermVectors = false
	source.DocValues = false
	doc.AddFieldMappingsAt(fieldSource, source)

	return doc
}
