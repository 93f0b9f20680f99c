package portal

import (
	"net/http"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

type moderationData struct {
	Posts   section[[]*discussionv1.Post]
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
	return newForm(nil)
}

// moderation lists, for moderators, the reported posts and the stories
// waiting for a decision.
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
				d.Posts.Down = p.sectionError(r, err)
				return
			}
			d.Posts.Items = resp.GetPosts()
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

// moderatePost hides or restores a post, with a reason.
func (p *Portal) moderatePost(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanModerate) {
		return
	}
	f := newForm(formValues(r))
	id := r.PathValue("id")
	req := &discussionv1.ModeratePostRequest{Id: id, Reason: f.Val("reason")}
	ctx, cancel := p.call(r)
	defer cancel()
	var err error
	flash := "flash.post_hidden"
	switch f.Val("action") {
	case "hide":
		_, err = p.b.Discussion.HidePost(ctx, req)
	case "restore":
		_, err = p.b.Discussion.RestorePost(ctx, req)
		flash = "flash.post_restored"
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

// decideStory publishes or rejects a pending story.
func (p *Portal) decideStory(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanModerate) {
		return
	}
	f := newForm(formValues(r))
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

func (p *Portal) moderationFailed(w http.ResponseWriter, r *http.Request, id string, f *form, err error) {
	fl := p.explain(r, f, err)
	if fl.mustLogIn {
		p.fail(w, r, err)
		return
	}
	p.showModeration(w, r, fl.status, id, f)
}
