package portal

import (
	"net/http"
	"net/url"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

const threadPageSize = 50

type threadData struct {
	Thread *discussionv1.Thread
	// Following: the member follows the thread.
	Following bool
	Posts     []*discussionv1.Post
	// ByID finds the post a reply answers, for its "in reply to" line.
	ByID map[string]*discussionv1.Post
	Next string
	// ScopeTitle and ScopeURL lead back to the twinning or practice.
	ScopeTitle string
	ScopeURL   string
	// Form is the reply form; ReplyTo the post it answers, if any.
	Form    *form
	ReplyTo *discussionv1.Post
	// Editing is the post whose edit form is open, and Edit that form.
	Editing string
	Edit    *form
	// Failed are the failed report and moderation forms, by post id.
	Failed map[string]*form
	// ReportReasons are the reasons a report may give.
	ReportReasons []string
	// editable says which posts the member may still edit or delete.
	editable map[string]bool
}

// MayChange reports whether the member may edit or delete the post: its
// author, while it is visible and within the edit window.
func (d threadData) MayChange(post *discussionv1.Post) bool { return d.editable[post.GetId()] }

// FormFor is the failed form of a post, or an empty one.
func (d threadData) FormFor(id string) *form {
	if f, ok := d.Failed[id]; ok {
		return f
	}
	return newForm(nil).withLabels(postLabels)
}

// reportReasons are the kinds of report (message ids report.reason.<kind>).
var reportReasons = []string{"spam", "offensive", "off_topic", "personal_data", "other"}

type threadsData struct {
	Threads section[[]*discussionv1.Thread]
	Scope   string
	Scopes  []string
	Next    string
	First   bool
	Form    *form
}

// threadScopes are the kinds of discussion the index filters by.
var threadScopes = map[string]discussionv1.Scope{
	"general": discussionv1.Scope_SCOPE_GENERAL, "twinning": discussionv1.Scope_SCOPE_TWINNING, "practice": discussionv1.Scope_SCOPE_PRACTICE,
}

// threads is the index of discussions, most recently active first, by
// kind if asked, with the form to open a general discussion.
func (p *Portal) threads(w http.ResponseWriter, r *http.Request) {
	p.showThreads(w, r, http.StatusOK, newForm(nil).withLabels(threadLabels))
}

func (p *Portal) showThreads(w http.ResponseWriter, r *http.Request, code int, f *form) {
	q := r.URL.Query()
	d := threadsData{Scope: q.Get("scope"), Scopes: []string{"general", "twinning", "practice"}, First: q.Get("page") == "", Form: f}
	ctx, cancel := p.call(r)
	defer cancel()
	resp, err := p.b.Discussion.ListThreads(ctx, &discussionv1.ListThreadsRequest{PageSize: 20, PageToken: q.Get("page"), Scope: threadScopes[d.Scope]})
	if err != nil {
		d.Threads.Down = p.sectionError(r, err)
	} else {
		d.Threads.Items, d.Next = resp.GetThreads(), resp.GetNextPageToken()
	}
	p.render(w, r, code, "threads", "threads.title", d)
}

// openGeneralThread opens a discussion on the general board.
func (p *Portal) openGeneralThread(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(threadLabels)
	if !f.require(visitOf(r).L, "title", "body") {
		p.showThreads(w, r, http.StatusBadRequest, f)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	th, err := p.b.Discussion.CreateThread(ctx, &discussionv1.CreateThreadRequest{
		Thread:    &discussionv1.Thread{Scope: discussionv1.Scope_SCOPE_GENERAL, Title: f.Val("title"), Body: f.Val("body")},
		RequestId: f.Val("request_id"),
	})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.unexpected {
			p.fail(w, r, err)
			return
		}
		p.showThreads(w, r, fl.status, f)
		return
	}
	p.redirect(w, r, "/threads/"+url.PathEscape(th.GetId()), "flash.thread_opened")
}

// thread shows a discussion with its posts, the report buttons and the
// reply form.
func (p *Portal) thread(w http.ResponseWriter, r *http.Request) {
	f := newForm(url.Values{})
	if to := r.URL.Query().Get("reply_to"); to != "" {
		f.Values.Set("parent_id", to)
	}
	p.showThread(w, r, http.StatusOK, f)
}

func (p *Portal) showThread(w http.ResponseWriter, r *http.Request, code int, f *form) {
	p.showThreadWith(w, r, code, f, nil)
}

// showThreadWith draws the thread with failed report, edit or moderation
// forms by post id ("edit" for the open edit form).
func (p *Portal) showThreadWith(w http.ResponseWriter, r *http.Request, code int, f *form, failed map[string]*form) {
	id := r.PathValue("id")
	ctx, cancel := p.call(r)
	defer cancel()
	th, err := p.b.Discussion.GetThread(ctx, &discussionv1.GetThreadRequest{Id: id})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := threadData{Thread: th, Form: f, ByID: map[string]*discussionv1.Post{}, Failed: failed, ReportReasons: reportReasons, editable: map[string]bool{}}
	var postsErr error
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListPosts(ctx, &discussionv1.ListPostsRequest{ThreadId: th.GetId(), PageSize: threadPageSize, PageToken: r.URL.Query().Get("page")})
			if err != nil {
				postsErr = err
				return
			}
			d.Posts, d.Next = resp.GetPosts(), resp.GetNextPageToken()
		},
		func() { d.ScopeTitle, d.ScopeURL = p.threadScope(r, th) },
	)
	if postsErr != nil {
		p.fail(w, r, postsErr)
		return
	}
	u := visitOf(r).User
	for _, post := range d.Posts {
		d.ByID[post.GetId()] = post
		if u != nil && post.GetAuthorId() == u.ID && post.GetState() == discussionv1.PostState_POST_STATE_VISIBLE &&
			p.now().Sub(post.GetCreateTime().AsTime()) < p.cfg.EditWindow {
			d.editable[post.GetId()] = true
		}
	}
	if e := r.URL.Query().Get("edit"); e != "" && d.editable[e] {
		d.Editing, d.Edit = e, newForm(url.Values{"body": {d.ByID[e].GetBody()}}).withLabels(postLabels)
	}
	if ef, ok := failed["edit"]; ok {
		d.Editing, d.Edit = ef.Val("post_id"), ef
	}
	if parent := f.Val("parent_id"); parent != "" {
		d.ReplyTo = d.ByID[parent]
	}
	d.Following = p.following(r, "thread", th.GetId())
	p.renderTitled(w, r, code, "thread", th.GetTitle(), d)
}

// threadScope names the twinning or practice a thread belongs to.
func (p *Portal) threadScope(r *http.Request, th *discussionv1.Thread) (string, string) {
	ctx, cancel := p.call(r)
	defer cancel()
	switch th.GetScope() {
	case discussionv1.Scope_SCOPE_TWINNING:
		tw, err := p.b.Twinning.GetTwinning(ctx, &twinningv1.GetTwinningRequest{Id: th.GetScopeId()})
		if err != nil {
			return "", "/twinnings/" + url.PathEscape(th.GetScopeId())
		}
		return tw.GetTitle(), "/twinnings/" + url.PathEscape(tw.GetId())
	case discussionv1.Scope_SCOPE_PRACTICE:
		pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: th.GetScopeId()})
		if err != nil {
			return "", "/practices/" + url.PathEscape(th.GetScopeId())
		}
		return pr.GetTitle(), "/practices/" + url.PathEscape(pr.GetSlug())
	}
	return "", ""
}

// reply adds a post (or a reply to one) to the thread.
func (p *Portal) reply(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(postLabels)
	if !f.require(visitOf(r).L, "body") {
		p.showThread(w, r, http.StatusBadRequest, f)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	post, err := p.b.Discussion.AddPost(ctx, &discussionv1.AddPostRequest{
		ThreadId:  r.PathValue("id"),
		Post:      &discussionv1.Post{ParentId: f.Val("parent_id"), Body: f.Val("body")},
		RequestId: f.Val("request_id"),
	})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.notFound {
			p.fail(w, r, err)
			return
		}
		p.showThread(w, r, fl.status, f)
		return
	}
	p.redirect(w, r, "/threads/"+url.PathEscape(r.PathValue("id"))+"#post-"+url.PathEscape(post.GetId()), "flash.posted")
}

// reportPost reports a post to the moderators, once per member, with the
// kind of problem and a note.
func (p *Portal) reportPost(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	l := visitOf(r).L
	f := newForm(formValues(r)).withLabels(postLabels)
	id, thread := r.PathValue("id"), f.Val("thread_id")
	back := "/threads/" + url.PathEscape(thread) + "#post-" + url.PathEscape(id)
	if thread == "" {
		back = "/"
	}
	kind := f.Val("kind")
	if !slices.Contains(reportReasons, kind) {
		f.fieldError(l, "reason", l.T("report.choose"))
		f.Message = l.T("form.fix_fields")
		p.reportFailed(w, r, id, f, nil)
		return
	}
	// The moderators read the reason as the member gave it, in the
	// member's language: the kind's label, then the note.
	reason := l.T("report.reason." + kind)
	if note := f.Val("note"); note != "" {
		reason += ": " + note
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.ReportPost(ctx, &discussionv1.ReportPostRequest{Id: id, Reason: reason})
	switch status.Code(err) {
	case codes.OK:
		p.redirect(w, r, back, "flash.reported")
	case codes.AlreadyExists:
		p.redirect(w, r, back, "flash.already_reported")
	default:
		p.reportFailed(w, r, id, f, err)
	}
}

func (p *Portal) reportFailed(w http.ResponseWriter, r *http.Request, id string, f *form, err error) {
	fl := failure{status: http.StatusBadRequest}
	if err != nil {
		fl = p.explain(r, f, err)
	}
	if fl.mustLogIn || fl.unexpected || f.Val("thread_id") == "" {
		p.fail(w, r, err)
		return
	}
	r.SetPathValue("id", f.Val("thread_id"))
	p.showThreadWith(w, r, fl.status, newForm(nil).withLabels(postLabels), map[string]*form{id: f})
}

// editPost changes the body of the member's own post, within the edit
// window.
func (p *Portal) editPost(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(postLabels)
	id, thread := r.PathValue("id"), f.Val("thread_id")
	f.Values.Set("post_id", id)
	if !f.require(visitOf(r).L, "body") {
		p.editFailed(w, r, f, nil)
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	if _, err := p.b.Discussion.EditPost(ctx, &discussionv1.EditPostRequest{Id: id, Body: f.Val("body")}); err != nil {
		p.editFailed(w, r, f, err)
		return
	}
	p.redirect(w, r, "/threads/"+url.PathEscape(thread)+"#post-"+url.PathEscape(id), "flash.post_edited")
}

func (p *Portal) editFailed(w http.ResponseWriter, r *http.Request, f *form, err error) {
	fl := failure{status: http.StatusBadRequest}
	if err != nil {
		fl = p.explain(r, f, err)
	}
	if fl.mustLogIn || fl.unexpected || f.Val("thread_id") == "" {
		p.fail(w, r, err)
		return
	}
	r.SetPathValue("id", f.Val("thread_id"))
	p.showThreadWith(w, r, fl.status, newForm(nil).withLabels(postLabels), map[string]*form{"edit": f})
}

// deletePost deletes the member's own post: it stays in the thread,
// marked deleted.
func (p *Portal) deletePost(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(postLabels)
	id, thread := r.PathValue("id"), f.Val("thread_id")
	ctx, cancel := p.call(r)
	defer cancel()
	if _, err := p.b.Discussion.DeletePost(ctx, &discussionv1.DeletePostRequest{Id: id}); err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn || fl.unexpected || thread == "" {
			p.fail(w, r, err)
			return
		}
		r.SetPathValue("id", thread)
		p.showThreadWith(w, r, fl.status, newForm(nil).withLabels(postLabels), map[string]*form{id: f})
		return
	}
	p.redirect(w, r, "/threads/"+url.PathEscape(thread)+"#post-"+url.PathEscape(id), "flash.post_deleted")
}
