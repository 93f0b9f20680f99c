package portal

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// Moderation: members report posts with a reason; a post reported by
// enough members is hidden pending review; a moderator hides or restores
// it, with a reason, from the queue or from the thread, and decides the
// stories waiting to be published.

// hiddenScanThreads bounds the discussions the queue reads for hidden
// posts: the community service lists the posts reported since the last
// decision, not those a moderator has hidden, so the queue reads the
// posts of the most recently active discussions. A ListPosts filter by
// state (or a moderation log) would replace it.
const hiddenScanThreads = 20

type moderationData struct {
	Reported section[[]*discussionv1.Post]
	// Hidden are the hidden posts of the latest discussions that are not
	// in Reported.
	Hidden  section[[]*discussionv1.Post]
	Stories section[[]*discussionv1.Story]
	// Failed is the form that went wrong, keyed by the post or story id.
	Failed map[string]*form
}

// Form is the moderation form of a post or story: the failed one as sent,
// an empty one otherwise.
func (d moderationData) Form(id string) *form {
	if f, ok := d.Failed[id]; ok {
		return f
	}
	return newForm(nil).withLabels(moderationLabels)
}

// moderation lists, for moderators, the reported and hidden posts and
// the stories waiting for a decision.
func (p *Portal) moderation(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanModerate) {
		return
	}
	p.showModeration(w, r, http.StatusOK, "", nil)
}

func (p *Portal) showModeration(w http.ResponseWriter, r *http.Request, code int, failedID string, failed *form) {
	d := moderationData{Failed: map[string]*form{}}
	if failed != nil {
		d.Failed[failedID] = failed
	}
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListReportedPosts(ctx, &discussionv1.ListReportedPostsRequest{PageSize: 50})
			if err != nil {
				d.Reported.Down = p.sectionError(r, err)
				return
			}
			d.Reported.Items = resp.GetPosts()
		},
		func() { d.Hidden = p.hiddenPosts(r) },
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListStories(ctx, &discussionv1.ListStoriesRequest{PageSize: 50, Status: discussionv1.StoryStatus_STORY_STATUS_PENDING})
			if err != nil {
				d.Stories.Down = p.sectionError(r, err)
				return
			}
			d.Stories.Items = resp.GetStories()
		},
	)
	var rest []*discussionv1.Post
	for _, h := range d.Hidden.Items {
		if !slices.ContainsFunc(d.Reported.Items, func(x *discussionv1.Post) bool { return x.GetId() == h.GetId() }) {
			rest = append(rest, h)
		}
	}
	d.Hidden.Items = rest
	p.render(w, r, code, "moderation", "moderation.title", d)
}

// hiddenPosts reads the hidden posts of the most recently active
// discussions, newest first.
func (p *Portal) hiddenPosts(r *http.Request) section[[]*discussionv1.Post] {
	var out section[[]*discussionv1.Post]
	ctx, cancel := p.call(r)
	resp, err := p.b.Discussion.ListThreads(ctx, &discussionv1.ListThreadsRequest{PageSize: hiddenScanThreads})
	cancel()
	if err != nil {
		out.Down = p.sectionError(r, err)
		return out
	}
	var mu sync.Mutex
	var calls []func()
	for _, th := range resp.GetThreads() {
		calls = append(calls, func() {
			ctx, cancel := p.call(r)
			defer cancel()
			posts, err := p.b.Discussion.ListPosts(ctx, &discussionv1.ListPostsRequest{ThreadId: th.GetId(), PageSize: 100})
			if err != nil {
				p.logBackend(r, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, post := range posts.GetPosts() {
				if post.GetState() == discussionv1.PostState_POST_STATE_HIDDEN {
					out.Items = append(out.Items, post)
				}
			}
		})
	}
	parallel(calls...)
	slices.SortFunc(out.Items, func(a, b *discussionv1.Post) int {
		return b.GetCreateTime().AsTime().Compare(a.GetCreateTime().AsTime())
	})
	return out
}

// moderatePost hides or restores a post, with a reason, and goes back to
// the queue or to the thread it was decided from.
func (p *Portal) moderatePost(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanModerate) {
		return
	}
	l := visitOf(r).L
	f := newForm(formValues(r)).withLabels(moderationLabels)
	id := r.PathValue("id")
	req := &discussionv1.ModeratePostRequest{Id: id, Reason: f.Val("reason")}
	flash := "flash.post_hidden"
	switch f.Val("action") {
	case "hide", "restore":
	default:
		p.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if f.Val("action") == "restore" {
		flash = "flash.post_restored"
	}
	back := "/moderation"
	if thread := f.Val("thread_id"); f.Val("back") == "thread" && thread != "" {
		back = "/threads/" + url.PathEscape(thread) + "#post-" + url.PathEscape(id)
	}
	if !f.require(l, "reason") {
		p.moderationFailed(w, r, id, f, nil)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	var err error
	if f.Val("action") == "hide" {
		_, err = p.b.Discussion.HidePost(ctx, req)
	} else {
		_, err = p.b.Discussion.RestorePost(ctx, req)
	}
	if err != nil {
		p.moderationFailed(w, r, id, f, err)
		return
	}
	p.redirect(w, r, back, flash)
}

// decideStory publishes or rejects a pending story.
func (p *Portal) decideStory(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanModerate) {
		return
	}
	f := newForm(formValues(r)).withLabels(moderationLabels)
	id := r.PathValue("id")
	req := &discussionv1.DecideStoryRequest{Id: id, Reason: f.Val("reason")}
	ctx, cancel := p.call(r)
	defer cancel()
	var err error
	flash := "flash.story_published"
	switch f.Val("action") {
	case "publish":
		_, err = p.b.Discussion.PublishStory(ctx, req)
	case "reject":
		if !f.require(visitOf(r).L, "reason") {
			p.moderationFailed(w, r, id, f, nil)
			return
		}
		_, err = p.b.Discussion.RejectStory(ctx, req)
		flash = "flash.story_rejected"
	default:
		p.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if err != nil {
		p.moderationFailed(w, r, id, f, err)
		return
	}
	p.redirect(w, r, "/moderation", flash)
}

// moderationFailed shows the failed form again where it was sent from.
func (p *Portal) moderationFailed(w http.ResponseWriter, r *http.Request, id string, f *form, err error) {
	fl := failure{status: http.StatusBadRequest}
	if err != nil {
		fl = p.explain(r, f, err)
	}
	if fl.mustLogIn {
		p.fail(w, r, err)
		return
	}
	if f.Val("back") == "thread" && f.Val("thread_id") != "" {
		r.SetPathValue("id", f.Val("thread_id"))
		tf := newForm(nil).withLabels(postLabels)
		p.showThreadWith(w, r, fl.status, tf, map[string]*form{id: f})
		return
	}
	p.showModeration(w, r, fl.status, id, f)
}

// hiddenByReports reads the discussion service's note on a post that
// reports hid ("hidden pending review: reported by 3 members").
var hiddenByReports = regexp.MustCompile(`^hidden pending review: reported by (\d+) members?$`)

// HiddenNote says why a post is hidden, in the page's language: by
// reports, waiting for a moderator, or by a moderator with their reason.
func (l *locale) HiddenNote(post *discussionv1.Post) string {
	if m := hiddenByReports.FindStringSubmatch(post.GetModerationReason()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return l.N("post.hidden_by_reports", n)
	}
	if reason := post.GetModerationReason(); reason != "" {
		return l.T("post.hidden_by_moderator", reason)
	}
	return l.T("post.hidden")
}

// RestoredNote says that a moderator restored a post after reports.
func (l *locale) RestoredNote(post *discussionv1.Post) string {
	if post.GetState() != discussionv1.PostState_POST_STATE_VISIBLE || post.GetModerationReason() == "" ||
		hiddenByReports.MatchString(post.GetModerationReason()) {
		return ""
	}
	return l.T("post.restored", post.GetModerationReason())
}
