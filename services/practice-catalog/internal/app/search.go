package app

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// SearchIndex is the full-text index of published practices and open
// needs. It is derived data, kept current from the catalog's own events and
// rebuilt from the repositories; it answers without touching the database,
// and carries enough of each document to show it.
type SearchIndex interface {
	SearchPractices(ctx context.Context, q PracticeSearch) (PracticeResults, error)
	SearchNeeds(ctx context.Context, q NeedSearch) (NeedResults, error)
	// MatchPractices returns published practices whose text is like q's,
	// or that share its themes or sectors, best text first.
	MatchPractices(ctx context.Context, q MatchQuery) ([]PracticeCandidate, error)
	// MatchNeeds is MatchPractices over open needs.
	MatchNeeds(ctx context.Context, q MatchQuery) ([]NeedCandidate, error)
	// Practice returns the indexed published practice, or false.
	Practice(ctx context.Context, id string) (*practice.Practice, bool, error)
}

// Limits of a search request.
const (
	maxQueryLength = 500
	// maxSearchOffset bounds how deep pages go: nobody reads the
	// thousandth result, and deep pages cost the index more.
	maxSearchOffset = 10000
	maxFacetFilters = 20
)

// PracticeSearch is a query over published practices. Values of one
// facet filter are alternatives (OR); filters of different facets all
// apply (AND).
type PracticeSearch struct {
	Text           string
	Themes         []string
	Sectors        []string
	TerritoryCodes []string
	OwnerKinds     []string
	Offset         int
	Limit          int
}

// NeedSearch is a query over open needs.
type NeedSearch struct {
	Text           string
	Themes         []string
	Sectors        []string
	TerritoryCodes []string
	Offset         int
	Limit          int
}

// Highlight is the fragments of one field where the query matched: the
// text is HTML-escaped and every match is wrapped in <mark></mark>.
type Highlight struct {
	Field     string
	Fragments []string
}

// FacetCount is one value of a facet and how many results have it.
type FacetCount struct {
	Value string
	Count int
}

// Facet is the counts of one field: theme, sector, territory or owner_kind.
type Facet struct {
	Field  string
	Counts []FacetCount
}

// PracticeHit is one practice found.
type PracticeHit struct {
	Practice   *practice.Practice
	Score      float64
	Highlights []Highlight
}

// PracticeResults are one page of hits and the facets of all of them.
type PracticeResults struct {
	Hits   []PracticeHit
	Facets []Facet
	Total  int
}

// NeedHit is one need found.
type NeedHit struct {
	Need       *need.Need
	Score      float64
	Highlights []Highlight
}

// NeedResults are one page of hits and the facets of all of them.
type NeedResults struct {
	Hits   []NeedHit
	Facets []Facet
	Total  int
}

// MatchQuery asks the index for candidates like a text.
type MatchQuery struct {
	Text string
	// Language of the text, which decides its analysis; "it" when empty.
	Language string
	Themes   []string
	Sectors  []string
	// ExcludeOrganizationID leaves out what this organisation owns or asked.
	ExcludeOrganizationID string
	Limit                 int
}

// PracticeCandidate is a practice the index found for a match.
type PracticeCandidate struct {
	Practice *practice.Practice
	// TextScore is the index's text score; 0 when only themes or sectors brought it.
	TextScore float64
	// MatchedTerms are the words of the query found in the practice.
	MatchedTerms []string
}

// NeedCandidate is a need the index found for a match.
type NeedCandidate struct {
	Need         *need.Need
	TextScore    float64
	MatchedTerms []string
}

// SearchRequest is what a caller sends to either search.
type SearchRequest struct {
	Text           string
	PageSize       int32
	PageToken      string
	Themes         []string
	Sectors        []string
	TerritoryCodes []string
	OwnerKinds     []string
	// OrderBy is the order of practices (search_order.go); empty is relevance.
	OrderBy string
}

// hash identifies the query and its filters in page tokens.
func (r SearchRequest) hash(kind string) uint32 {
	parts := []string{kind, strings.TrimSpace(r.Text)}
	for _, list := range [][]string{r.Themes, r.Sectors, r.TerritoryCodes, r.OwnerKinds} {
		parts = append(parts, strings.Join(list, "\x01"))
	}
	if o := strings.TrimSpace(r.OrderBy); o != "" && o != orderRelevance {
		// Tokens of the default order stay what they were.
		parts = append(parts, "order", o)
	}
	return paging.FilterHash(parts...)
}

// page validates the request and returns the offset and size it asks for.
func (r SearchRequest) page(kind string) (offset, size int, err error) {
	size, err = paging.Size(r.PageSize)
	if err != nil {
		return 0, 0, err
	}
	var v apperr.Violations
	if n := utf8.RuneCountInString(r.Text); n > maxQueryLength {
		v.Addf("q", "must be at most %d characters, got %d", maxQueryLength, n)
	}
	for _, f := range []struct {
		name   string
		values []string
	}{{"theme", r.Themes}, {"sector", r.Sectors}, {"territory_code", r.TerritoryCodes}, {"owner_kind", r.OwnerKinds}} {
		if len(f.values) > maxFacetFilters {
			v.Addf(f.name, "must have at most %d values", maxFacetFilters)
		}
		for i, value := range f.values {
			if strings.TrimSpace(value) == "" {
				v.Add(validate.Index(f.name, i), "must not be blank")
			}
		}
	}
	for i, code := range r.TerritoryCodes {
		validate.TerritoryCode(&v, validate.Index("territory_code", i), code)
	}
	if err := v.Err(); err != nil {
		return 0, 0, err
	}
	cursor, err := paging.Decode(r.PageToken, r.hash(kind))
	if err != nil {
		return 0, 0, err
	}
	if cursor != nil {
		offset, err = strconv.Atoi(cursor.Key)
		if err != nil || offset < 0 || offset > maxSearchOffset {
			return 0, 0, apperr.Invalid("page_token", "is not a token this service issued")
		}
	}
	return offset, size, nil
}

// nextToken is the token of the page after [offset, offset+size), or
// empty when there is none or it would go too deep.
func (r SearchRequest) nextToken(kind string, offset, size, total int) string {
	next := offset + size
	if next >= total || next > maxSearchOffset {
		return ""
	}
	return paging.Encode(paging.Cursor{Key: strconv.Itoa(next), ID: kind}, r.hash(kind))
}

// SearchPracticesPage is one page of practices found.
type SearchPracticesPage struct {
	PracticeResults
	NextPageToken string
}

// SearchPracticesHandler searches the published practices.
type SearchPracticesHandler struct{ d Deps }

// Handle validates the request and asks the index.
func (h SearchPracticesHandler) Handle(ctx context.Context, r SearchRequest) (SearchPracticesPage, error) {
	order, sorted, err := searchOrder(r.OrderBy)
	if err != nil {
		return SearchPracticesPage{}, err
	}
	offset, size, err := r.page("practices")
	if err != nil {
		return SearchPracticesPage{}, err
	}
	if h.d.Search == nil {
		return SearchPracticesPage{}, errNoSearch
	}
	if sorted {
		return h.sorted(ctx, r, order, offset, size)
	}
	res, err := h.d.Search.SearchPractices(ctx, PracticeSearch{
		Text: strings.TrimSpace(r.Text), Themes: r.Themes, Sectors: r.Sectors, TerritoryCodes: r.TerritoryCodes, OwnerKinds: r.OwnerKinds,
		Offset: offset, Limit: size,
	})
	if err != nil {
		return SearchPracticesPage{}, err
	}
	return SearchPracticesPage{PracticeResults: res, NextPageToken: r.nextToken("practices", offset, size, res.Total)}, nil
}

// SearchNeedsPage is one page of needs found.
type SearchNeedsPage struct {
	NeedResults
	NextPageToken string
}

// SearchNeedsHandler searches the open needs.
type SearchNeedsHandler struct{ d Deps }

// Handle validates the request and asks the index.
func (h SearchNeedsHandler) Handle(ctx context.Context, r SearchRequest) (SearchNeedsPage, error) {
	r.OwnerKinds = nil
	offset, size, err := r.page("needs")
	if err != nil {
		return SearchNeedsPage{}, err
	}
	if h.d.Search == nil {
		return SearchNeedsPage{}, errNoSearch
	}
	res, err := h.d.Search.SearchNeeds(ctx, NeedSearch{
		Text: strings.TrimSpace(r.Text), Themes: r.Themes, Sectors: r.Sectors, TerritoryCodes: r.TerritoryCodes,
		Offset: offset, Limit: size,
	})
	if err != nil {
		return SearchNeedsPage{}, err
	}
	return SearchNeedsPage{NeedResults: res, NextPageToken: r.nextToken("needs", offset, size, res.Total)}, nil
}

// errNoSearch answers searches of a catalog built without an index.
var errNoSearch = apperr.Unavailable(nil, "search is not available on this catalog").WithReason(apperr.ReasonSearchUnavailable)

// ErrSearchNotReady is what an index being rebuilt answers: the replica
// serves everything else meanwhile, and another replica, or this one in
// a moment, can search.
var ErrSearchNotReady = apperr.Unavailable(nil, "the search index of this replica is being rebuilt; retry shortly").WithReason(apperr.ReasonSearchUnavailable)
