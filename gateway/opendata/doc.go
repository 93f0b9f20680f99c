// Package opendata publishes everything public on the platform as open
// data: one file per table, as CSV and as JSON Lines, under /opendata/, with
// an index page that documents every column and a DCAT-AP_IT catalogue
// (JSON-LD) at /opendata/catalog.jsonld. The licence is CC BY 4.0.
//
// The data comes from the services' public gRPC list APIs, called as an
// anonymous caller, so a draft can never reach a file; each item is checked
// again here (a practice published or archived, a twinning past its draft,
// an open need or offer, a published story) so that a change in a service's
// rules cannot leak one either. Personal data is left out: no member names
// or ids, no contact persons.
//
// A download is streamed. The lists are newest first, the files oldest
// first (so that a new download differs from the last one by rows at the
// end, and the first practice registered is the first row), so an export
// makes two passes over a list: a scan that computes the ETag and
// Last-Modified and notes each page's token, then the writing pass, which
// reads the pages again from the last to the first and writes each one
// backwards. Memory holds at most the first page and the page being
// written, plus one page token per page (about one byte per row), never
// the rows of the file: see export.go.
package opendata
