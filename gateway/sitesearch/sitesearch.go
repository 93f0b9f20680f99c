// Package sitesearch is the gateway's search of everything: it asks each
// service's own search (practices and needs in the catalogue, twinnings,
// threads, posts and stories) in parallel, within a deadline, and merges
// what they answer kind by kind, with each kind's count. A kind whose
// service is down or slow is reported unavailable; the others are shown.
// The REST endpoint GET /v1/search and the portal's results page share it.
package sitesearch

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
)

// Kinds, in the order results show them.
const (
	KindPractice = "practice"
	KindTwinning = "twinning"
	KindThread   = "thread"
	KindPost     = "post"
	KindStory    = "story"
	KindNeed     = "need"
	// KindOrganization: the catalogue's organisations.
	KindOrganization = "organization"
)

// Kinds lists every kind, in order.
var Kinds = []string{KindPractice, KindTwinning, KindThread, KindPost, KindStory, KindNeed, KindOrganization}

// territorial are the kinds that have a territory, themed those that
// have themes: a search filtered by either leaves the others out.
var (
	territorial = map[string]bool{KindPractice: true, KindTwinning: true, KindNeed: true, KindOrganization: true}
	themed      = map[string]bool{KindPractice: true, KindTwinning: true, KindNeed: true}
)

// Statuses of a kind in the results.
const (
	StatusOK = "ok"
	// StatusUnavailable: its service did not answer in time, or is down.
	StatusUnavailable = "unavailable"
	// StatusSkipped: the kind was not asked for, or cannot be filtered
	// by territory or theme.
	StatusSkipped = "skipped"
)

// Backends are the services searched.
type Backends struct {
	Catalog    catalogv1.CatalogServiceClient
	Twinning   twinningv1.TwinningServiceClient
	Discussion discussionv1.DiscussionServiceClient
}

// Query is a search of everything.
type Query struct {
	Q string
	// Kinds asked for; none is all.
	Kinds     []string
	Territory string
	Theme     string
	// PerKind is how many hits of each kind; 5 when 0.
	PerKind int
}

// MaxQueryLength bounds Q, in characters, as the services do.
const MaxQueryLength = 500

// Validate reports bad input, each field named.
func (q Query) Validate() error {
	var v apperr.Violations
	if utf8.RuneCountInString(q.Q) > MaxQueryLength {
		v.AddReason("q", apperr.ReasonFieldTooLong, "must be at most 500 characters")
	}
	for _, k := range q.Kinds {
		if !slices.Contains(Kinds, k) {
			v.Add("kind", "must be one of "+strings.Join(Kinds, ", "))
			break
		}
	}
	if len(q.Territory) > 64 {
		v.AddReason("territory", apperr.ReasonFieldTooLong, "must be at most 64 characters")
	}
	if len(q.Theme) > 100 {
		v.AddReason("theme", apperr.ReasonFieldTooLong, "must be at most 100 characters")
	}
	if q.PerKind < 0 || q.PerKind > 50 {
		v.Add("page_size", "must be between 1 and 50")
	}
	return v.Err()
}

// Highlight is the marked fragments of one field: HTML whose only
// markup is <mark>, the rest escaped by the service.
type Highlight struct {
	Field     string   `json:"field"`
	Fragments []string `json:"fragments"`
}

// Hit is one result, whatever its kind.
type Hit struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Title string `json:"title"`
	// Context says where it is: the thread of a post, the code of a twinning.
	Context    string      `json:"context,omitempty"`
	Link       string      `json:"link"`
	Score      float64     `json:"score"`
	Highlights []Highlight `json:"highlights"`
}

// Snippets are at most n of the hit's fragments, leaving out those of
// its title, which a page shows anyway.
func (h Hit) Snippets(n int) []string {
	var out []string
	for _, hl := range h.Highlights {
		if hl.Field == "title" {
			continue
		}
		for _, f := range hl.Fragments {
			if len(out) == n {
				return out
			}
			out = append(out, f)
		}
	}
	return out
}

// KindResult is one kind's part of the results.
type KindResult struct {
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Total  int    `json:"total"`
	Hits   []Hit  `json:"hits"`
}

// Results are the kinds, in order, each with its count and first hits.
type Results struct {
	Q     string         `json:"q"`
	Kinds []KindResult   `json:"kinds"`
	Total int            `json:"total"`
	Count map[string]int `json:"counts"`
	// Unavailable lists the kinds whose service did not answer.
	Unavailable []string `json:"unavailable"`
}

// Timeout bounds the whole search: a kind that has not answered by then
// is reported unavailable.
const Timeout = 2 * time.Second

// Search asks every service in parallel and merges what they answer.
func Search(ctx context.Context, b Backends, q Query) Results {
	if q.PerKind == 0 {
		q.PerKind = 5
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	out := Results{Q: q.Q, Count: map[string]int{}, Unavailable: []string{}}
	results := make([]KindResult, len(Kinds))
	var wg sync.WaitGroup
	for i, kind := range Kinds {
		results[i] = KindResult{Kind: kind, Status: StatusSkipped, Hits: []Hit{}}
		if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, kind) {
			continue
		}
		if q.Territory != "" && !territorial[kind] || q.Theme != "" && !themed[kind] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				// A kind that fails, however it fails, is that kind
				// unavailable, not the whole search.
				if recover() != nil {
					results[i] = KindResult{Kind: kind, Status: StatusUnavailable, Hits: []Hit{}}
				}
			}()
			total, hits, err := searchKind(ctx, b, kind, q)
			switch {
			case err == nil:
				if hits == nil {
					hits = []Hit{} // an array, as the document says, never null
				}
				results[i] = KindResult{Kind: kind, Status: StatusOK, Total: total, Hits: hits}
			default:
				results[i].Status, results[i].Hits = StatusUnavailable, []Hit{}
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		out.Kinds = append(out.Kinds, r)
		out.Count[r.Kind] = r.Total
		out.Total += r.Total
		if r.Status == StatusUnavailable {
			out.Unavailable = append(out.Unavailable, r.Kind)
		}
	}
	return out
}

// IsInvalid tells a service's INVALID_ARGUMENT, which is the caller's
// fault and not an outage.
func IsInvalid(err error) bool { return status.Code(err) == codes.InvalidArgument }

func list(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func searchKind(ctx context.Context, b Backends, kind string, q Query) (int, []Hit, error) {
	size := int32(q.PerKind)
	var hits []Hit
	switch kind {
	case KindPractice:
		if b.Catalog == nil {
			return 0, nil, errNoBackend
		}
		r, err := b.Catalog.SearchPractices(ctx, &catalogv1.SearchPracticesRequest{Q: q.Q, PageSize: size, Theme: list(q.Theme), TerritoryCode: list(q.Territory)})
		if err != nil {
			return 0, nil, err
		}
		for _, h := range r.GetHits() {
			p := h.GetPractice()
			id := p.GetSlug()
			if id == "" {
				id = p.GetId()
			}
			hits = append(hits, Hit{Kind: kind, ID: p.GetId(), Title: p.GetTitle(), Context: p.GetTerritory().GetName(),
				Link: "/practices/" + url.PathEscape(id), Score: h.GetScore(), Highlights: catalogHighlights(h.GetHighlights())})
		}
		return int(r.GetTotal()), hits, nil
	case KindNeed:
		if b.Catalog == nil {
			return 0, nil, errNoBackend
		}
		r, err := b.Catalog.SearchNeeds(ctx, &catalogv1.SearchNeedsRequest{Q: q.Q, PageSize: size, Theme: list(q.Theme), TerritoryCode: list(q.Territory)})
		if err != nil {
			return 0, nil, err
		}
		for _, h := range r.GetHits() {
			n := h.GetNeed()
			hits = append(hits, Hit{Kind: kind, ID: n.GetId(), Title: n.GetTitle(), Context: n.GetTerritory().GetName(),
				Link: "/needs/" + url.PathEscape(n.GetId()), Score: h.GetScore(), Highlights: catalogHighlights(h.GetHighlights())})
		}
		return int(r.GetTotal()), hits, nil
	case KindOrganization:
		if b.Catalog == nil {
			return 0, nil, errNoBackend
		}
		r, err := b.Catalog.SearchOrganizations(ctx, &catalogv1.SearchOrganizationsRequest{Q: q.Q, PageSize: size, TerritoryCode: list(q.Territory)})
		if err != nil {
			return 0, nil, err
		}
		for _, h := range r.GetHits() {
			o := h.GetOrganization()
			hits = append(hits, Hit{Kind: kind, ID: o.GetId(), Title: o.GetName(), Context: o.GetTerritory().GetName(),
				Link: "/organizations/" + url.PathEscape(o.GetId()), Score: h.GetScore(), Highlights: catalogHighlights(h.GetHighlights())})
		}
		return int(r.GetTotal()), hits, nil
	case KindTwinning:
		if b.Twinning == nil {
			return 0, nil, errNoBackend
		}
		r, err := b.Twinning.SearchTwinnings(ctx, &twinningv1.SearchTwinningsRequest{Q: q.Q, PageSize: size, Theme: list(q.Theme), TerritoryCode: list(q.Territory)})
		if err != nil {
			return 0, nil, err
		}
		for _, h := range r.GetHits() {
			t := h.GetTwinning()
			var hl []Highlight
			for _, x := range h.GetHighlights() {
				hl = append(hl, Highlight{Field: x.GetField(), Fragments: x.GetFragments()})
			}
			hits = append(hits, Hit{Kind: kind, ID: t.GetId(), Title: t.GetTitle(), Context: t.GetCode(),
				Link: "/twinnings/" + url.PathEscape(t.GetId()), Score: h.GetScore(), Highlights: nonNil(hl)})
		}
		return int(r.GetTotal()), hits, nil
	}
	if b.Discussion == nil {
		return 0, nil, errNoBackend
	}
	req := &discussionv1.SearchDiscussionRequest{Q: q.Q, PageSize: size}
	switch kind {
	case KindThread:
		r, err := b.Discussion.SearchThreads(ctx, req)
		if err != nil {
			return 0, nil, err
		}
		for _, h := range r.GetHits() {
			t := h.GetThread()
			hits = append(hits, Hit{Kind: kind, ID: t.GetId(), Title: t.GetTitle(), Context: t.GetAuthorName(),
				Link: "/threads/" + url.PathEscape(t.GetId()), Score: h.GetScore(), Highlights: discussionHighlights(h.GetHighlights())})
		}
		return int(r.GetTotal()), hits, nil
	case KindPost:
		r, err := b.Discussion.SearchPosts(ctx, req)
		if err != nil {
			return 0, nil, err
		}
		for _, h := range r.GetHits() {
			p := h.GetPost()
			hits = append(hits, Hit{Kind: kind, ID: p.GetId(), Title: h.GetThreadTitle(), Context: p.GetAuthorName(),
				Link: "/threads/" + url.PathEscape(p.GetThreadId()) + "#post-" + url.PathEscape(p.GetId()), Score: h.GetScore(),
				Highlights: discussionHighlights(h.GetHighlights())})
		}
		return int(r.GetTotal()), hits, nil
	case KindStory:
		r, err := b.Discussion.SearchStories(ctx, req)
		if err != nil {
			return 0, nil, err
		}
		for _, h := range r.GetHits() {
			s := h.GetStory()
			link := "/twinnings/" + url.PathEscape(s.GetTwinningId())
			if s.GetTwinningId() == "" {
				link = "/practices/" + url.PathEscape(s.GetPracticeId())
			}
			hits = append(hits, Hit{Kind: kind, ID: s.GetId(), Title: s.GetTitle(), Context: s.GetAuthorName(),
				Link: link, Score: h.GetScore(), Highlights: discussionHighlights(h.GetHighlights())})
		}
		return int(r.GetTotal()), hits, nil
	}
	return 0, nil, errNoBackend
}

var errNoBackend = status.Error(codes.Unavailable, "no backend")

func catalogHighlights(in []*catalogv1.Highlight) []Highlight {
	var out []Highlight
	for _, x := range in {
		out = append(out, Highlight{Field: x.GetField(), Fragments: x.GetFragments()})
	}
	return nonNil(out)
}

func discussionHighlights(in []*discussionv1.Highlight) []Highlight {
	var out []Highlight
	for _, x := range in {
		out = append(out, Highlight{Field: x.GetField(), Fragments: x.GetFragments()})
	}
	return nonNil(out)
}

func nonNil(h []Highlight) []Highlight {
	if h == nil {
		return []Highlight{}
	}
	return h
}
