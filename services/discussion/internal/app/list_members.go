package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/paging"
)

// ListMembers is a page of the latest members.
type ListMembers struct {
	PageSize  int32
	PageToken string
}

// MemberPage is one page and the token of the next.
type MemberPage struct {
	Items         []*member.Member
	NextPageToken string
}

// ListMembersHandler lists members newest first.
type ListMembersHandler struct{ d Deps }

// Handle returns one page of public profiles: a list never shows e-mail
// addresses, whoever asks.
func (h ListMembersHandler) Handle(ctx context.Context, q ListMembers) (MemberPage, error) {
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return MemberPage{}, err
	}
	after, err := paging.Decode(q.PageToken, member.ListHash)
	if err != nil {
		return MemberPage{}, err
	}
	items, err := h.d.Members.List(ctx, after, size+1)
	if err != nil {
		return MemberPage{}, err
	}
	var page MemberPage
	for i, m := range items {
		if i == size {
			last := items[size-1]
			page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, member.ListHash)
			break
		}
		page.Items = append(page.Items, m.Public())
	}
	return page, nil
}
