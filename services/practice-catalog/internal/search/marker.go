package search

import psearch "github.com/gemella/gemella/services/platform/search"

// The marker of a query's words in stored text, and the highlighted
// fragments it cuts, are the platform's (services/platform/search).
type (
	marker = psearch.Marker
	span   = psearch.Span
)

func (x *Index) newMarker(words []word, expansions map[string][]string) *marker {
	return psearch.NewMarker(x.index().Mapping(), words, expansions)
}

func fragments(text string, sc *psearch.SpanScanner) []string { return psearch.Fragments(text, sc) }
