package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
)

// ListAffiliationRequests is a page of the pending affiliation requests.
type ListAffiliationRequests struct {
	Caller    auth.Caller
	PageSize  int32
	PageToken string
}

// AffiliationRequest is one pending request: the member as the caller
// may see them, and the affiliation asked for.
type AffiliationRequest struct {
	Member      *member.Member
	Affiliation member.Affiliation
}

// AffiliationRequestPage is one page and the token of the next.
type AffiliationRequestPage struct {
	Items         []AffiliationRequest
	NextPageToken string
}

// ListAffiliationRequestsHandler lists the members with a pending request,
// oldest member first, each pending request of a member in turn.
type ListAffiliationRequestsHandler struct{ d Deps }

// pendingHash identifies the list in page tokens.
var pendingHash = paging.FilterHash("member-pending-affiliations")

// Handle needs the administrator or the coordinator role; only
// administrators see the e-mail addresses.
func (h ListAffiliationRequestsHandler) Handle(ctx context.Context, q ListAffiliationRequests) (AffiliationRequestPage, error) {
	if err := mayListAffiliationRequests(q.Caller); err != nil {
		return AffiliationRequestPage{}, err
	}
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return AffiliationRequestPage{}, err
	}
	after, err := paging.Decode(q.PageToken, pendingHash)
	if err != nil {
		return AffiliationRequestPage{}, err
	}
	items, err := h.d.Members.ListPendingAffiliations(ctx, after, size+1)
	if err != nil {
		return AffiliationRequestPage{}, err
	}
	members, next := pageOf(items, size, pendingHash, func(m *member.Member) (string, string) { return m.SortKey(), m.ID })
	page := AffiliationRequestPage{NextPageToken: next}
	for _, m := range members {
		shown := visibleMember(q.Caller, m)
		for _, a := range m.Affiliations {
			if a.Status == member.AffiliationPending {
				page.Items = append(page.Items, AffiliationRequest{Member: shown, Affiliation: a})
			}
		}
	}
	return page, nil
}

// pageOf cuts a list read with one item more than size into the page and
// the token of the next one (empty on the last page).
func pageOf[T any](items []*T, size int, hash uint32, key func(*T) (sortKey, id string)) ([]*T, string) {
	if len(items) <= size {
		return items, ""
	}
	k, id := key(items[size-1])
	return items[:size], paging.Encode(paging.Cursor{Key: k, ID: id}, hash)
}
