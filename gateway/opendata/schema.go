package opendata

// Text is a string in Italian and English, the portal's two languages.
type Text struct{ IT, EN string }

// In is the text in lang; Italian unless lang is "en".
func (t Text) In(lang string) string {
	if lang == "en" {
		return t.EN
	}
	return t.IT
}

// Column is one column of a table: its name is the CSV header and the JSON
// key, and never changes meaning (a new meaning gets a new name).
type Column struct {
	Name        string
	Kind        Kind
	Description Text
	// References is "table.column" when the column holds ids of another
	// table's rows.
	References string
}

// TableInfo describes one table; every table is published as CSV and as
// JSON Lines with the same columns.
type TableInfo struct {
	// Name is the file name without extension: /opendata/<Name>.csv.
	Name        string
	Title       Text
	Description Text
	// Key names the columns that identify a row.
	Key     []string
	Columns []Column
	// Themes are codes of the EU data-theme vocabulary
	// (http://publications.europa.eu/resource/authority/data-theme).
	Themes []string
	// Keywords, in Italian, for the catalogue.
	Keywords []string
	// Order says in which order the rows come.
	Order Text
}

// FileName is the name a download is saved under.
func (t *TableInfo) FileName(f Format) string { return "gemella-" + t.Name + "." + string(f) }

// Path is where the table is downloaded in format f.
func (t *TableInfo) Path(f Format) string { return "/opendata/" + t.Name + "." + string(f) }

// ColumnNames are the header of the CSV file.
func (t *TableInfo) ColumnNames() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// column helpers keep the table definitions in tables.go readable.
func col(name string, k Kind, it, en string) Column {
	return Column{Name: name, Kind: k, Description: Text{IT: it, EN: en}}
}

func ref(name string, k Kind, references, it, en string) Column {
	return Column{Name: name, Kind: k, Description: Text{IT: it, EN: en}, References: references}
}
