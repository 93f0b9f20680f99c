package portal

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// Moderation: members report posts with a reason; a post reported by
// enough members is hidden pending review; a moderator hides or restores
// it, or dismisses its reports, with a reason, from the queue or from the
// thread, reads the moderation log, and decides the stories waiting to be
// published.

type moderationData struct {
	// Reported are the posts of the queue that wait for a decision:
	// reported since the last one, or hidden by the reports.
	Reported section[[]*discussionv1.Post]
	// Hidden are the posts of the queue a moderator hid, until restored.
	Hidden  section[[]*discussionv1.Post]
	Stories section[[]*discussionv1.Story]
	// Log is the newest page of the moderation log; NextLog the token of
	// the next one.
	Log     section[[]*discussionv1.ModerationEntry]
	NextLog string
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

// moderation lists, for moderators, the reported and hidden posts, the
// moderation log and the stories waiting for a decision.
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
			resp, err := p.b.Discussion.ListReportedPosts(ctx, &discussionv1.ListReportedPostsRequest{PageSize: 100})
			if err != nil {
				d.Reported.Down = p.sectionError(r, err)
				d.Hidden.Down = d.Reported.Down
				return
			}
			for _, post := range resp.GetPosts() {
				if hiddenByModerator(post) {
					d.Hidden.Items = append(d.Hidden.Items, post)
				} else {
					d.Reported.Items = append(d.Reported.Items, post)
				}
			}
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListModerationLog(ctx, &discussionv1.ListModerationLogRequest{PageSize: 20, PageToken: r.URL.Query().Get("log")})
			if err != nil {
				d.Log.Down = p.sectionError(r, err)
				return
			}
			d.Log.Items, d.NextLog = resp.GetEntries(), resp.GetNextPageToken()
		},
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
	p.render(w, r, code, "moderation", "moderation.title", d)
}

// hiddenByModerator reports a post a moderator hid (not the reports) and
// that waits for no decision.
func hiddenByModerator(post *discussionv1.Post) bool {
	return post.GetState() == discussionv1.PostState_POST_STATE_HIDDEN && !isHiddenByReports(post) && !post.GetNeedsReview()
}

// moderationActions are the forms' actions and the flash of each.
var moderationActions = map[string]string{"hide": "flash.post_hidden", "restore": "flash.post_restored", "dismiss": "flash.reports_dismissed"}

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
	flash, known := moderationActions[f.Val("action")]
	if !known {
		p.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
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
	switch f.Val("action") {
	case "hide":
		_, err = p.b.Discussion.HidePost(ctx, req)
	case "restore":
		_, err = p.b.Discussion.RestorePost(ctx, req)
	default:
		_, err = p.b.Discussion.DismissReports(ctx, req)
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

// movedByReports is the moderated_by of a post that the members' reports
// hid.
const movedByReports = "reports"

// isHiddenByReports reports a hidden post that reports hid, with no
// moderator's decision since.
func isHiddenByReports(p *discussionv1.Post) bool {
	return p.GetState() == discussionv1.PostState_POST_STATE_HIDDEN &&
		(p.GetModeratedBy() == movedByReports || hiddenByReports.MatchString(p.GetModerationReason()))
}

// EntryText is an entry of the moderation log in words: what was decided,
// by whom, when and why.
func (l *locale) EntryText(e *discussionv1.ModerationEntry) string {
	what := l.T("moderation.action." + strings.ToLower(strings.TrimPrefix(e.GetAction().String(), "MODERATION_ACTION_")))
	if e.GetAction() == discussionv1.ModerationAction_MODERATION_ACTION_HIDDEN_BY_REPORTS || e.GetModeratorName() == "" {
		return l.T("moderation.entry_reports", what, l.DateTime(e.GetCreateTime()))
	}
	s := l.T("moderation.entry", what, e.GetModeratorName(), l.DateTime(e.GetCreateTime()))
	if e.GetReason() != "" {
		s += " (" + l.T("admin.because", e.GetReason()) + ")"
	}
	return s
}

// HiddenNote says why a post is hidden, in the page's language: by
// reports, waiting for a moderator, or by a moderator with their reason.
func (l *locale) HiddenNote(post *discussionv1.Post) string {
	if m := hiddenByReports.FindStringSubmatch(post.GetModerationReason()); m != nil || post.GetModeratedBy() == movedByReports {
		if m == nil {
			return l.N("post.hidden_by_reports", int(post.GetReportCount()))
		}
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
