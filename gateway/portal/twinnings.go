package portal

import (
	"context"
	"net/http"
	"slices"
	"sync"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

type twinningsData struct {
	Twinnings []*twinningv1.Twinning
	Orgs      orgNames
	Next      string
	Status    string
	Statuses  []twinningv1.TwinningStatus
}

// twinnings lists every twinning, newest first, by status if asked.
func (p *Portal) twinnings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	st := twinningv1.TwinningStatus(twinningv1.TwinningStatus_value[q.Get("status")])
	d := twinningsData{Status: q.Get("status")}
	for n := range twinningv1.TwinningStatus_name {
		if tw := (&twinningv1.Twinning{Status: twinningv1.TwinningStatus(n)}); n != 0 && isPublic(tw) {
			d.Statuses = append(d.Statuses, twinningv1.TwinningStatus(n))
		}
	}
	slices.Sort(d.Statuses)
	if !isPublic(&twinningv1.Twinning{Status: st}) {
		st = twinningv1.TwinningStatus_TWINNING_STATUS_UNSPECIFIED
		d.Status = ""
	}
	var err error
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			var resp *twinningv1.ListTwinningsResponse
			resp, err = p.b.Twinning.ListTwinnings(ctx, &twinningv1.ListTwinningsRequest{PageSize: 20, PageToken: q.Get("page"), Status: st})
			for _, tw := range resp.GetTwinnings() {
				if isPublic(tw) {
					d.Twinnings = append(d.Twinnings, tw)
				}
			}
			d.Next = resp.GetNextPageToken()
		},
		func() { d.Orgs = p.orgNames(r) },
	)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "twinnings", "twinnings.title", d)
}

type twinningData struct {
	Twinning *twinningv1.Twinning
	// Following: the member follows the twinning.
	Following bool
	Orgs      orgNames
	// Practices are the practices the twinning transfers, for their value.
	Practices []*catalogv1.Practice
	// General is the twinning's general discussion; nil until it is opened.
	General *discussionv1.Thread
	// Threads are the other discussions on the twinning.
	Threads    section[[]*discussionv1.Thread]
	Stories    section[[]*discussionv1.Story]
	Activities []*twinningv1.Activity
	Milestones []*twinningv1.Activity
	// LiveStreams are the live-stream activities, for the live slot.
	LiveStreams []*twinningv1.Activity
}

// twinning is the seed page: title, the practice's value, the models
// table (model → from whom → to whom → status), objectives, results,
// programme and priorities, activities and milestones, the live-stream
// slot, and the general discussion with its participants and a link.
func (p *Portal) twinning(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := p.call(r)
	defer cancel()
	tw, err := p.b.Twinning.GetTwinning(ctx, &twinningv1.GetTwinningRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := twinningData{Twinning: tw}
	for _, a := range tw.GetActivities() {
		if a.GetMilestone() {
			d.Milestones = append(d.Milestones, a)
		} else {
			d.Activities = append(d.Activities, a)
		}
		if a.GetKind() == twinningv1.ActivityKind_ACTIVITY_KIND_LIVE_STREAM {
			d.LiveStreams = append(d.LiveStreams, a)
		}
	}
	var practiceIDs []string
	for _, t := range tw.GetTransfers() {
		if !slices.Contains(practiceIDs, t.GetPracticeId()) {
			practiceIDs = append(practiceIDs, t.GetPracticeId())
		}
	}
	practices := make([]*catalogv1.Practice, len(practiceIDs))
	var mu sync.Mutex
	calls := []func(){
		func() { d.Orgs = p.orgNames(r) },
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListThreads(ctx, &discussionv1.ListThreadsRequest{PageSize: 20, Scope: discussionv1.Scope_SCOPE_TWINNING, TwinningId: tw.GetId()})
			if err != nil {
				d.Threads.Down = p.sectionError(r, err)
				return
			}
			d.General, d.Threads.Items = generalThread(resp.GetThreads())
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListStories(ctx, &discussionv1.ListStoriesRequest{PageSize: 5, TwinningId: tw.GetId()})
			if err != nil {
				d.Stories.Down = p.sectionError(r, err)
				return
			}
			d.Stories.Items = resp.GetStories()
		},
	}
	for i, id := range practiceIDs {
		calls = append(calls, func() {
			ctx, cancel := p.call(r)
			defer cancel()
			pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: id})
			if err != nil {
				p.logBackend(r, err)
				return
			}
			mu.Lock()
			practices[i] = pr
			mu.Unlock()
		})
	}
	parallel(calls...)
	for _, pr := range practices {
		if pr != nil {
			d.Practices = append(d.Practices, pr)
		}
	}
	d.Following = p.following(r, "twinning", tw.GetId())
	p.renderTitled(w, r, http.StatusOK, "twinning", tw.GetTitle(), d)
}

// generalThread picks the twinning's general discussion, the one opened
// with the twinning (the oldest), from the others.
func generalThread(threads []*discussionv1.Thread) (*discussionv1.Thread, []*discussionv1.Thread) {
	if len(threads) == 0 {
		return nil, nil
	}
	oldest := 0
	for i, t := range threads {
		if t.GetCreateTime().AsTime().Before(threads[oldest].GetCreateTime().AsTime()) {
			oldest = i
		}
	}
	rest := slices.Delete(slices.Clone(threads), oldest, oldest+1)
	return threads[oldest], rest
}

// isPublic reports a twinning public pages show: not a draft (its parties
// see it on their desk) and not cancelled.
func isPublic(tw *twinningv1.Twinning) bool {
	st := tw.GetStatus()
	return st != twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT && st != twinningv1.TwinningStatus_TWINNING_STATUS_CANCELLED
}

// publicTwinningsPages bounds how many pages a public list reads to fill
// itself while it leaves drafts and cancelled twinnings out.
const publicTwinningsPages = 3

// publicTwinnings lists up to n twinnings that public pages show, newest
// first, with the request's filters.
func (p *Portal) publicTwinnings(ctx context.Context, r *http.Request, req *twinningv1.ListTwinningsRequest, n int) section[[]*twinningv1.Twinning] {
	return p.twinningsWhere(ctx, r, req, n, isPublic)
}

// notDraft keeps every twinning but drafts: a practice's page lists its
// cancelled twinnings too (with their status), as its adoption figures
// count them (their transfers count as dropped).
func notDraft(tw *twinningv1.Twinning) bool {
	return tw.GetStatus() != twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT
}

// twinningsWhere reads up to n twinnings of req that keep keeps.
func (p *Portal) twinningsWhere(ctx context.Context, r *http.Request, req *twinningv1.ListTwinningsRequest, n int, keep func(*twinningv1.Twinning) bool) section[[]*twinningv1.Twinning] {
	var out section[[]*twinningv1.Twinning]
	req.PageSize = int32(min(max(n, 20), 100))
	for range publicTwinningsPages {
		resp, err := p.b.Twinning.ListTwinnings(ctx, req)
		if err != nil {
			out.Down = p.sectionError(r, err)
			return out
		}
		for _, tw := range resp.GetTwinnings() {
			if keep(tw) && len(out.Items) < n {
				out.Items = append(out.Items, tw)
			}
		}
		if len(out.Items) >= n || resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	return out
}
