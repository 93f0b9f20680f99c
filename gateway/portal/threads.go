package portal

import (
	"net/http"
	"net/url"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

const threadPageSize = 50

type threadData struct {
	Thread *discussionv1.Thread
	Posts  []*discussionv1.Post
	// ByID finds the post a reply answers, for its "in reply to" line.
	ByID map[string]*discussionv1.Post
	Next string
	// ScopeTitle and ScopeURL lead back to the twinning or practice.
	ScopeTitle string
	ScopeURL   string
	// Form is the reply form; ReplyTo the post it answers, if any.
	Form    *form
	ReplyTo *discussionv1.Post
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
	id := r.PathValue("id")
	ctx, cancel := p.call(r)
	defer cancel()
	th, err := p.b.Discussion.GetThread(ctx, &discussionv1.GetThreadRequest{Id: id})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := threadData{Thread: th, Form: f, ByID: map[string]*discussionv1.Post{}}
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
	for _, post := range d.Posts {
		d.ByID[post.GetId()] = post
	}
	if parent := f.Val("parent_id"); parent != "" {
		d.ReplyTo = d.ByID[parent]
	}
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

// reportPost reports a post to the moderators, once per member.
func (p *Portal) reportPost(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r))
	back := "/threads/" + url.PathEscape(f.Val("thread_id"))
	if f.Val("thread_id") == "" {
		back = "/"
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.ReportPost(ctx, &discussionv1.ReportPostRequest{Id: r.PathValue("id"), Reason: f.Val("reason")})
	switch status.Code(err) {
	case codes.OK:
		p.redirect(w, r, back, "flash.reported")
	case codes.AlreadyExists:
		p.redirect(w, r, back, "flash.already_reported")
	default:
		p.fail(w, r, err)
	}
}
