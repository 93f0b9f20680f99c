package search

import (
	"strconv"
	"unicode/utf8"

	"github.com/gemella/gemella/services/platform/apperr"
)

// MaxQueryLength bounds the text of a search, in characters.
const MaxQueryLength = 500

// maxOffset bounds how deep a search pages.
const maxOffset = 10000

// Request is what a search RPC reads: the query's text and the page.
type Request struct {
	Q         string
	PageSize  int32
	PageToken string
}

// Query checks a request and turns it into the query of a page; the page
// token is the offset of the page. Bad input is INVALID_ARGUMENT naming
// the field.
func (r Request) Query() (Query, error) {
	var v apperr.Violations
	if utf8.RuneCountInString(r.Q) > MaxQueryLength {
		v.AddReason("q", apperr.ReasonFieldTooLong, "must be at most 500 characters")
	}
	if r.PageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	offset := 0
	if r.PageToken != "" {
		n, err := strconv.Atoi(r.PageToken)
		if err != nil || n < 0 || n > maxOffset {
			v.AddReason("page_token", apperr.ReasonPageTokenInvalid, "is not a page token of this search")
		}
		offset = n
	}
	if err := v.Err(); err != nil {
		return Query{}, err
	}
	limit := int(r.PageSize)
	switch {
	case limit == 0:
		limit = 20
	case limit > MaxLimit:
		limit = MaxLimit
	}
	return Query{Text: r.Q, Offset: offset, Limit: limit}, nil
}

// NextPageToken is the token of the page after q's, or "" after the last.
func NextPageToken(q Query, got, total int) string {
	if got == 0 || q.Offset+got >= total || q.Offset+got > maxOffset {
		return ""
	}
	return strconv.Itoa(q.Offset + got)
}

// Unavailable is what a search RPC answers while its index is rebuilt.
var Unavailable = apperr.Unavailable(ErrNotReady, "the search index of this replica is being rebuilt; retry shortly").WithReason(apperr.ReasonSearchUnavailable)
