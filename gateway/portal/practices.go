package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

const cataloguePageSize = 10

// practiceResult is one practice of the catalogue, with the search
// snippets that matched when there was a query.
type practiceResult struct {
	Practice   *catalogv1.Practice
	Highlights []*catalogv1.Highlight
}

type catalogueData struct {
	// Form holds the search words and filters: q, theme, sector,
	// territory, owner.
	Form     *form
	Results  []practiceResult
	Total    int32
	Searched bool
	// Next is the page token of the next page, "" on the last.
	Next string
	// NextQuery is the query string of the next page, encoded.
	NextQuery template.URL
	First     bool
	// Facets are the values of theme, sector and territory with their
	// counts; empty when the search service cannot give them (the
	// filters are then free text).
	Facets map[string][]*catalogv1.FacetCount
	Owners []*catalogv1.Organization
	Orgs   orgNames
	// Notice says the words were not searched because search is down.
	Notice string
	Down   string
}

// catalogue lists the published practices with a search box, the filters
// theme, sector, territory and owner, and pages.
func (p *Portal) catalogue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := newForm(url.Values{})
	for _, k := range []string{"q", "theme", "sector", "territory", "owner"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			f.Values.Set(k, v)
		}
	}
	pageToken := q.Get("page")
	d := catalogueData{Form: f, First: pageToken == "", Facets: map[string][]*catalogv1.FacetCount{}}
	words := f.Val("q")

	search := func(query string, size int32, token string) (*catalogv1.SearchPracticesResponse, error) {
		ctx, cancel := p.call(r)
		defer cancel()
		return p.b.Catalog.SearchPractices(ctx, &catalogv1.SearchPracticesRequest{
			Q: query, PageSize: size, PageToken: token,
			Theme: nonEmpty(f.Val("theme")), Sector: nonEmpty(f.Val("sector")), TerritoryCode: nonEmpty(f.Val("territory")),
		})
	}
	list := func() {
		ctx, cancel := p.call(r)
		defer cancel()
		resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{
			PageSize: cataloguePageSize, PageToken: pageToken,
			Theme: f.Val("theme"), Sector: f.Val("sector"), TerritoryCode: f.Val("territory"), OwnerOrganizationId: f.Val("owner"),
			Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED,
		})
		if err != nil {
			d.Down = p.sectionError(r, err)
			return
		}
		for _, pr := range resp.GetPractices() {
			d.Results = append(d.Results, practiceResult{Practice: pr})
		}
		d.Next = resp.GetNextPageToken()
	}
	facets := func(resp *catalogv1.SearchPracticesResponse) {
		for _, fc := range resp.GetFacets() {
			d.Facets[fc.GetField()] = fc.GetCounts()
		}
	}

	parallel(
		func() {
			if words == "" {
				list()
				return
			}
			resp, err := search(words, cataloguePageSize, pageToken)
			if c := status.Code(err); c == codes.Unimplemented || c == codes.Unavailable {
				// Search is the newest part of the catalogue; without it the
				// filters still work.
				d.Notice = visitOf(r).L.T("catalogue.search_down")
				list()
				return
			}
			if err != nil {
				d.Down = p.sectionError(r, err)
				return
			}
			d.Searched, d.Total, d.Next = true, resp.GetTotal(), resp.GetNextPageToken()
			facets(resp)
			owner := f.Val("owner")
			for _, h := range resp.GetHits() {
				// Search filters by owner kind, not by organisation: the
				// owner filter narrows the page it returns.
				if owner != "" && !slices.Contains(h.GetPractice().GetOwnerOrganizationIds(), owner) {
					continue
				}
				d.Results = append(d.Results, practiceResult{Practice: h.GetPractice(), Highlights: h.GetHighlights()})
			}
		},
		func() {
			if words != "" {
				return
			}
			if resp, err := search("", 1, ""); err == nil {
				facets(resp)
			}
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			ordered, byID, err := p.orgs.all(ctx)
			if err == nil {
				d.Owners, d.Orgs = ordered, orgNames(byID)
			}
		},
	)
	if d.Next != "" {
		next := url.Values{}
		for k, v := range f.Values {
			next[k] = v
		}
		next.Set("page", d.Next)
		d.NextQuery = template.URL(next.Encode()) //nolint:gosec // url.Values.Encode escapes every key and value
	}
	p.render(w, r, http.StatusOK, "catalogue", "catalogue.title", d)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

type practiceData struct {
	Practice  *catalogv1.Practice
	Orgs      orgNames
	Threads   section[[]*discussionv1.Thread]
	Twinnings section[[]*twinningv1.Twinning]
	Stories   section[[]*discussionv1.Story]
	// Form is the form to open a thread on the practice.
	Form *form
}

// practice shows one practice: its value, models, results, evidence,
// resources, adoption, the twinnings that transfer it, its discussions
// and stories.
func (p *Portal) practice(w http.ResponseWriter, r *http.Request) {
	p.showPractice(w, r, http.StatusOK, newForm(nil))
}

func (p *Portal) showPractice(w http.ResponseWriter, r *http.Request, code int, f *form) {
	ctx, cancel := p.call(r)
	defer cancel()
	pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := practiceData{Practice: pr, Form: f}
	parallel(
		func() { d.Orgs = p.orgNames(r) },
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListThreads(ctx, &discussionv1.ListThreadsRequest{PageSize: 10, Scope: discussionv1.Scope_SCOPE_PRACTICE, PracticeId: pr.GetId()})
			if err != nil {
				d.Threads.Down = p.sectionError(r, err)
				return
			}
			d.Threads.Items = resp.GetThreads()
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			d.Twinnings = p.publicTwinnings(ctx, r, &twinningv1.ListTwinningsRequest{PracticeId: pr.GetId()}, 10)
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListStories(ctx, &discussionv1.ListStoriesRequest{PageSize: 5, PracticeId: pr.GetId()})
			if err != nil {
				d.Stories.Down = p.sectionError(r, err)
				return
			}
			d.Stories.Items = resp.GetStories()
		},
	)
	p.renderTitled(w, r, code, "practice", pr.GetTitle(), d)
}

// openPracticeThread opens a discussion on a practice.
func (p *Portal) openPracticeThread(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(threadLabels)
	if !f.require(visitOf(r).L, "title", "body") {
		p.showPractice(w, r, http.StatusBadRequest, f)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	th, err := p.b.Discussion.CreateThread(ctx, &discussionv1.CreateThreadRequest{
		Thread:    &discussionv1.Thread{Scope: discussionv1.Scope_SCOPE_PRACTICE, ScopeId: pr.GetId(), Title: f.Val("title"), Body: f.Val("body")},
		RequestId: f.Val("request_id"),
	})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn {
			p.fail(w, r, err)
			return
		}
		p.showPractice(w, r, fl.status, f)
		return
	}
	p.redirect(w, r, "/threads/"+url.PathEscape(th.GetId()), "flash.thread_opened")
}

// formValues is the posted form, trimmed; the CSRF token is left out.
func formValues(r *http.Request) url.Values {
	_ = r.ParseForm()
	out := url.Values{}
	for k, vs := range r.PostForm {
		if k == csrfField {
			continue
		}
		for _, v := range vs {
			out.Add(k, strings.TrimSpace(v))
		}
	}
	return out
}
