package app

import (
	"context"
	"sort"
	"strings"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// The orders of SearchPractices: relevance is the index's own (best text
// first; newest first when there are no words). The others sort the best
// maxSortedHits hits by the practices' fields: the index keeps no title
// or adoption figures to sort on, and a catalogue of good practices has
// hundreds, not millions, so sorting them in the handler is cheap.
const (
	orderRelevance = "relevance"
	maxSortedHits  = 1000
)

// searchOrder reads order_by: the practice order, and whether the
// handler sorts (false for relevance).
func searchOrder(s string) (practice.Order, bool, error) {
	switch strings.TrimSpace(s) {
	case "", orderRelevance:
		return practice.OrderNewest, false, nil
	case "newest", "most_adopted", "title":
		o, err := practice.ParseOrder("order_by", s)
		return o, true, err
	}
	return practice.Order{}, false, apperr.Invalid("order_by", "must be relevance, newest, most_adopted or title")
}

// sorted is Handle in an order other than relevance: the best hits
// sorted by o, then the page [offset, offset+size) of them.
func (h SearchPracticesHandler) sorted(ctx context.Context, r SearchRequest, o practice.Order, offset, size int) (SearchPracticesPage, error) {
	res, err := h.d.Search.SearchPractices(ctx, PracticeSearch{
		Text: strings.TrimSpace(r.Text), Themes: r.Themes, Sectors: r.Sectors, TerritoryCodes: r.TerritoryCodes, OwnerKinds: r.OwnerKinds,
		Offset: 0, Limit: maxSortedHits,
	})
	if err != nil {
		return SearchPracticesPage{}, err
	}
	hits := res.Hits
	sort.SliceStable(hits, func(i, j int) bool { return o.Less(hits[i].Practice, hits[j].Practice) })
	start, end := min(offset, len(hits)), min(offset+size, len(hits))
	res.Hits = hits[start:end]
	return SearchPracticesPage{PracticeResults: res, NextPageToken: r.nextToken("practices", offset, size, min(res.Total, len(hits)))}, nil
}
