package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// ListTwinnings is a page of twinnings.
type ListTwinnings struct {
	Filter    twinning.Filter
	PageSize  int32
	PageToken string
}

// TwinningPage is one page and the token of the next.
type TwinningPage struct {
	Items         []*twinning.Twinning
	NextPageToken string
}

// ListTwinningsHandler lists twinnings newest first: the first page
// without filters is "the latest twinnings".
type ListTwinningsHandler struct{ d Deps }

// Handle returns one page of the twinnings the caller in ctx may see:
// drafts only of the organisations they edit, all of them for coordinators.
func (h ListTwinningsHandler) Handle(ctx context.Context, q ListTwinnings) (TwinningPage, error) {
	q.Filter.Drafts = draftsVisibleTo(auth.CallerFrom(ctx))
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return TwinningPage{}, err
	}
	var v apperr.Violations
	validate.TerritoryCode(&v, "territory_code", q.Filter.TerritoryCode)
	validate.Text(&v, "programme", q.Filter.Programme, false, 200)
	if q.Filter.OrganizationID != "" {
		validate.ID(&v, "organization_id", q.Filter.OrganizationID)
	}
	if q.Filter.PracticeID != "" {
		validate.ID(&v, "practice_id", q.Filter.PracticeID)
	}
	if err := v.Err(); err != nil {
		return TwinningPage{}, err
	}
	after, err := paging.Decode(q.PageToken, q.Filter.Hash())
	if err != nil {
		return TwinningPage{}, err
	}
	items, err := h.d.Twinnings.List(ctx, q.Filter, after, size+1)
	if err != nil {
		return TwinningPage{}, err
	}
	page := TwinningPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, q.Filter.Hash())
	}
	return page, nil
}
