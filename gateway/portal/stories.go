package portal

import (
	"net/http"
	"net/url"
	"strings"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

type storyData struct {
	Form      *form
	Twinnings []*twinningv1.Twinning
	Practices []*catalogv1.Practice
}

// storyForm lets a member tell how a transfer went; "about" is
// "twinning:<id>" or "practice:<id>", preset from ?twinning= or ?practice=.
func (p *Portal) storyForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(url.Values{})
	q := r.URL.Query()
	switch {
	case q.Get("twinning") != "":
		f.Values.Set("about", "twinning:"+q.Get("twinning"))
	case q.Get("practice") != "":
		f.Values.Set("about", "practice:"+q.Get("practice"))
	}
	p.showStoryForm(w, r, http.StatusOK, f)
}

func (p *Portal) showStoryForm(w http.ResponseWriter, r *http.Request, code int, f *form) {
	d := storyData{Form: f}
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			d.Twinnings = p.publicTwinnings(ctx, r, &twinningv1.ListTwinningsRequest{}, 100).Items
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			if resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: 100, Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED}); err == nil {
				d.Practices = resp.GetPractices()
			}
		},
	)
	p.render(w, r, code, "story", "story.title", d)
}

// submitStory sends the story to the moderators.
func (p *Portal) submitStory(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	f := newForm(formValues(r)).withLabels(storyLabels)
	if !f.require(visitOf(r).L, "about", "title", "body") {
		p.showStoryForm(w, r, http.StatusBadRequest, f)
		return
	}
	story := &discussionv1.Story{Title: f.Val("title"), Body: f.Val("body")}
	kind, id, _ := strings.Cut(f.Val("about"), ":")
	switch kind {
	case "twinning":
		story.TwinningId = id
	case "practice":
		story.PracticeId = id
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.SubmitStory(ctx, &discussionv1.SubmitStoryRequest{Story: story, RequestId: f.Val("request_id")})
	if err != nil {
		fl := p.explain(r, f, err)
		if fl.mustLogIn {
			p.fail(w, r, err)
			return
		}
		// The story names its subject in two fields; the form in one.
		f.rename("twinning_id", "about")
		f.rename("practice_id", "about")
		p.showStoryForm(w, r, fl.status, f)
		return
	}
	back := "/"
	switch kind {
	case "twinning":
		back = "/twinnings/" + url.PathEscape(id)
	case "practice":
		back = "/practices/" + url.PathEscape(id)
	}
	p.redirect(w, r, back, "flash.story_submitted")
}
