package portal

import (
	"net/http"
	"slices"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// What a member's and an organisation's pages show of the work: the
// practices a member published (the catalogue's created_by filter) and
// the twinnings of the organisations they speak for; the people who speak
// for an organisation.

// memberWork is the public work of a member.
type memberWork struct {
	Practices section[[]*catalogv1.Practice]
	Twinnings section[[]*twinningv1.Twinning]
}

// verifiedOrganizations are the organisations m speaks for.
func verifiedOrganizations(m *discussionv1.Member) []string {
	var out []string
	for _, a := range m.GetAffiliations() {
		if a.GetStatus() == discussionv1.AffiliationStatus_AFFILIATION_STATUS_VERIFIED {
			out = append(out, a.GetOrganizationId())
		}
	}
	return out
}

// memberWork reads the published practices m created and the public
// twinnings of the organisations m speaks for, newest first, each once.
func (p *Portal) memberWork(r *http.Request, m *discussionv1.Member) memberWork {
	var w memberWork
	calls := []func(){func() {
		ctx, cancel := p.call(r)
		defer cancel()
		resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{
			PageSize: 50, CreatedBy: m.GetId(), Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED,
		})
		if err != nil {
			w.Practices.Down = p.sectionError(r, err)
			return
		}
		w.Practices.Items = resp.GetPractices()
	}}
	orgs := verifiedOrganizations(m)
	found := make([]section[[]*twinningv1.Twinning], len(orgs))
	for i, org := range orgs {
		calls = append(calls, func() {
			ctx, cancel := p.call(r)
			defer cancel()
			found[i] = p.publicTwinnings(ctx, r, &twinningv1.ListTwinningsRequest{OrganizationId: org}, 20)
		})
	}
	parallel(calls...)
	seen := map[string]bool{}
	for _, s := range found {
		if s.Down != "" {
			w.Twinnings.Down = s.Down
		}
		for _, tw := range s.Items {
			if !seen[tw.GetId()] {
				seen[tw.GetId()] = true
				w.Twinnings.Items = append(w.Twinnings.Items, tw)
			}
		}
	}
	slices.SortStableFunc(w.Twinnings.Items, func(a, b *twinningv1.Twinning) int {
		return b.GetCreateTime().AsTime().Compare(a.GetCreateTime().AsTime())
	})
	return w
}

// organizationPeopleMax bounds the members read to find who speaks for an
// organisation: the discussion service lists members without a filter by
// organisation, and a community of administrations has hundreds.
const organizationPeopleMax = 500

// organizationPeople are the members whose affiliation to org is verified.
func (p *Portal) organizationPeople(r *http.Request, org string) section[[]*discussionv1.Member] {
	var out section[[]*discussionv1.Member]
	req := &discussionv1.ListMembersRequest{PageSize: 100}
	for read := 0; read < organizationPeopleMax; read += 100 {
		ctx, cancel := p.call(r)
		resp, err := p.b.Discussion.ListMembers(ctx, req)
		cancel()
		if err != nil {
			out.Down = p.sectionError(r, err)
			return out
		}
		for _, m := range resp.GetMembers() {
			if slices.Contains(verifiedOrganizations(m), org) {
				out.Items = append(out.Items, m)
			}
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	return out
}
