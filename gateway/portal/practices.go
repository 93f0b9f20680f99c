package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

const cataloguePageSize = 10

// catalogueMax bounds the practices one catalogue view reads to count,
// sort and page them: the catalogue's APIs page in their own order only
// (newest first, or by relevance), so the portal sorts what it reads. An
// order_by on ListPractices and SearchPractices would replace it.
const catalogueMax = 500

// catalogueSorts are the orders the catalogue offers; relevance only
// when words are searched.
var catalogueSorts = []string{"relevance", "newest", "adopted", "title"}

// practiceResult is one practice of the catalogue, with the search
// snippets that matched when there was a query.
type practiceResult struct {
	Practice   *catalogv1.Practice
	Highlights []*catalogv1.Highlight
}

type catalogueData struct {
	// Form holds the search words and filters: q, theme, sector,
	// territory, owner, sort.
	Form     *form
	Results  []practiceResult
	Total    int
	Searched bool
	// Sorts are the orders offered.
	Sorts []string
	Pager pager
	// Facets are the values of theme, sector and territory with their
	// counts; empty when the search service cannot give them (the
	// filters are then free text).
	Facets map[string][]*catalogv1.FacetCount
	Owners []*catalogv1.Organization
	Orgs   orgNames
	// Territories names the territory codes of the results.
	Territories map[string]string
	// Notice says the words were not searched because search is down.
	Notice string
	Down   string
}

// TerritoryName is a territory code's name.
func (d catalogueData) TerritoryName(code string) string {
	if n, ok := d.Territories[code]; ok {
		return n
	}
	return d.Orgs.Territory(code)
}

// pager is a list's page links: the page shown, how many there are, and
// the query of any page.
type pager struct {
	Page, Pages int
	base        url.Values
	path        string
}

// URL is the address of page n.
func (p pager) URL(n int) template.URL {
	q := url.Values{}
	for k, v := range p.base {
		q[k] = v
	}
	q.Del("p")
	if n > 1 {
		q.Set("p", strconv.Itoa(n))
	}
	if len(q) == 0 {
		return template.URL(p.path) //nolint:gosec // a path of the portal
	}
	return template.URL(p.path + "?" + q.Encode()) //nolint:gosec // url.Values.Encode escapes every key and value
}

// Numbers are the pages to link: all of them, or the first, the last and
// those around the current one (0 stands for a gap).
func (p pager) Numbers() []int {
	var out []int
	for n := 1; n <= p.Pages; n++ {
		if p.Pages <= 7 || n == 1 || n == p.Pages || (n >= p.Page-1 && n <= p.Page+1) {
			out = append(out, n)
		} else if len(out) > 0 && out[len(out)-1] != 0 {
			out = append(out, 0)
		}
	}
	return out
}

// newPager pages total items, size a page, showing page (1-based; out of
// range goes to the nearest page); links keep the query q.
func newPager(path string, q url.Values, page, total, size int) pager {
	pages := max(1, (total+size-1)/size)
	return pager{Page: min(max(1, page), pages), Pages: pages, base: q, path: path}
}

// catalogue lists the published practices with a search box, the filters
// theme, sector, territory and owner, an order, the number found and
// numbered pages.
func (p *Portal) catalogue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := newForm(url.Values{})
	for _, k := range []string{"q", "theme", "sector", "territory", "owner", "sort"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			f.Values.Set(k, v)
		}
	}
	words := f.Val("q")
	d := catalogueData{Form: f, Facets: map[string][]*catalogv1.FacetCount{}, Territories: map[string]string{}}
	for _, s := range catalogueSorts {
		if s != "relevance" || words != "" {
			d.Sorts = append(d.Sorts, s)
		}
	}
	if !slices.Contains(d.Sorts, f.Val("sort")) {
		f.Values.Set("sort", d.Sorts[0])
	}
	owner := f.Val("owner")

	list := func() {
		req := &catalogv1.ListPracticesRequest{
			PageSize: 100, Theme: f.Val("theme"), Sector: f.Val("sector"), TerritoryCode: f.Val("territory"),
			OwnerOrganizationId: owner, Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED,
			// A list has no relevance: without search it is newest first.
			OrderBy: strings.TrimPrefix(serviceOrder[f.Val("sort")], "relevance"),
		}
		for len(d.Results) < catalogueMax {
			ctx, cancel := p.call(r)
			resp, err := p.b.Catalog.ListPractices(ctx, req)
			cancel()
			if err != nil {
				d.Down = p.sectionError(r, err)
				return
			}
			for _, pr := range resp.GetPractices() {
				d.Results = append(d.Results, practiceResult{Practice: pr})
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
	}
	searched := func() bool {
		req := &catalogv1.SearchPracticesRequest{
			Q: words, PageSize: 100,
			Theme: nonEmpty(f.Val("theme")), Sector: nonEmpty(f.Val("sector")), TerritoryCode: nonEmpty(f.Val("territory")),
			OrderBy: serviceOrder[f.Val("sort")],
		}
		for len(d.Results) < catalogueMax {
			ctx, cancel := p.call(r)
			resp, err := p.b.Catalog.SearchPractices(ctx, req)
			cancel()
			if c := status.Code(err); c == codes.Unimplemented || c == codes.Unavailable {
				// Search is the newest part of the catalogue; without it
				// the filters still work.
				d.Results = nil
				return false
			}
			if err != nil {
				d.Down = p.sectionError(r, err)
				return true
			}
			if len(d.Facets) == 0 {
				for _, fc := range resp.GetFacets() {
					d.Facets[fc.GetField()] = fc.GetCounts()
				}
			}
			for _, h := range resp.GetHits() {
				// Search filters by owner kind, not by organisation.
				if owner != "" && !slices.Contains(h.GetPractice().GetOwnerOrganizationIds(), owner) {
					continue
				}
				d.Results = append(d.Results, practiceResult{Practice: h.GetPractice(), Highlights: h.GetHighlights()})
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		d.Searched = words != ""
		return true
	}
	parallel(
		func() {
			if !searched() {
				if words != "" {
					d.Notice = visitOf(r).L.T("catalogue.search_down")
				}
				list()
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
	for _, res := range d.Results {
		if t := res.Practice.GetTerritory(); t.GetCode() != "" && t.GetName() != "" {
			d.Territories[t.GetCode()] = t.GetName()
		}
	}
	sortPractices(visitOf(r).L, d.Results, f.Val("sort"))
	d.Total = len(d.Results)
	d.Pager = newPager("/practices", f.Values, atoiOr(q.Get("p"), 1), d.Total, cataloguePageSize)
	from := (d.Pager.Page - 1) * cataloguePageSize
	d.Results = d.Results[min(from, len(d.Results)):min(from+cataloguePageSize, len(d.Results))]
	p.render(w, r, http.StatusOK, "catalogue", "catalogue.title", d)
}

// serviceOrder is the catalogue's order_by for each of the page's sorts:
// the catalogue hands over its first catalogueMax in that order, which
// sortPractices then orders as the page's language does (titles by its
// alphabet).
var serviceOrder = map[string]string{"relevance": "relevance", "newest": "newest", "adopted": "most_adopted", "title": "title"}

// sortPractices orders results: by relevance as search gave them, newest
// published first, most adopted first, or by title in the language's
// alphabetical order.
func sortPractices(l *locale, results []practiceResult, by string) {
	switch by {
	case "newest":
		slices.SortStableFunc(results, func(a, b practiceResult) int {
			return published(b.Practice).Compare(published(a.Practice))
		})
	case "adopted":
		slices.SortStableFunc(results, func(a, b practiceResult) int {
			return adoptionScore(b.Practice) - adoptionScore(a.Practice)
		})
	case "title":
		c := collate.New(language.Make(string(l.Lang)), collate.IgnoreCase)
		slices.SortStableFunc(results, func(a, b practiceResult) int {
			return c.CompareString(a.Practice.GetTitle(), b.Practice.GetTitle())
		})
	}
}

func published(p *catalogv1.Practice) time.Time {
	if t := p.GetPublishTime(); t != nil {
		return t.AsTime()
	}
	return p.GetCreateTime().AsTime()
}

// adoptionScore ranks how far a practice has travelled: twinnings, then
// models adopted in full or in part.
func adoptionScore(p *catalogv1.Practice) int {
	a := p.GetAdoption()
	return int(a.GetTwinnings())*100 + int(a.GetAdopted())*10 + int(a.GetPartiallyAdopted())
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
	// Following: the member follows the practice.
	Following bool
	// Lineage is the lineage and travels section (lineage.go).
	Lineage template.HTML
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
	if st := pr.GetStatus(); st == catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT || st == catalogv1.PracticeStatus_PRACTICE_STATUS_SUBMITTED {
		// Not public yet: the catalogue shows it only to its editors and
		// coordinators, and their page for it is the desk's, not a public
		// page with discussions and stories.
		http.Redirect(w, r, "/manage/practices/"+url.PathEscape(pr.GetId()), http.StatusSeeOther)
		return
	}
	d := practiceData{Practice: pr, Form: f}
	var lineage section[*catalogv1.PracticeLineage]
	parallel(
		func() { d.Orgs = p.orgNames(r) },
		func() { lineage = p.getLineage(r, pr.GetId()) },
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
			d.Twinnings = p.twinningsWhere(ctx, r, &twinningv1.ListTwinningsRequest{PracticeId: pr.GetId()}, 10, notDraft)
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
	d.Lineage = p.lineageSection(r, pr, lineage, d.Orgs, d.Twinnings.Items)
	d.Following = p.following(r, "practice", pr.GetId())
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
