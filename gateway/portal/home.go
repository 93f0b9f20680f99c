package portal

import (
	"net/http"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// How much of each list the home page shows.
const (
	homeTwinnings = 3
	homeMembers   = 3
	homePractices = 3
	feedThreads   = 5
)

type homeData struct {
	Twinnings section[[]*twinningv1.Twinning]
	Members   section[[]*discussionv1.Member]
	Practices section[[]*catalogv1.Practice]
	Feed      section[[]*discussionv1.Thread]
}

// home is the seed page's frame: the latest twinnings, the latest members
// with organisation, role, joined and last log-in, the community's live
// feed, and the ways in (catalogue, seek/offer, story, sign-up).
func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	var d homeData
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			d.Twinnings = p.publicTwinnings(ctx, r, &twinningv1.ListTwinningsRequest{}, homeTwinnings)
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Discussion.ListMembers(ctx, &discussionv1.ListMembersRequest{PageSize: homeMembers})
			if err != nil {
				d.Members.Down = p.sectionError(r, err)
				return
			}
			d.Members.Items = resp.GetMembers()
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			resp, err := p.b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: homePractices, Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED})
			if err != nil {
				d.Practices.Down = p.sectionError(r, err)
				return
			}
			d.Practices.Items = resp.GetPractices()
		},
		func() { d.Feed = p.loadFeed(r) },
	)
	p.render(w, r, http.StatusOK, "home", "home.title", d)
}

func (p *Portal) loadFeed(r *http.Request) section[[]*discussionv1.Thread] {
	ctx, cancel := p.call(r)
	defer cancel()
	resp, err := p.b.Discussion.ListThreads(ctx, &discussionv1.ListThreadsRequest{PageSize: feedThreads})
	if err != nil {
		return section[[]*discussionv1.Thread]{Down: p.sectionError(r, err)}
	}
	return section[[]*discussionv1.Thread]{Items: resp.GetThreads()}
}

// feed is the live feed alone, which portal.js fetches every little while
// to refresh the home page's feed without reloading it.
func (p *Portal) feed(w http.ResponseWriter, r *http.Request) {
	v := visitOf(r)
	p.write(w, r, http.StatusOK, "home", "feed", page{visit: v, Data: homeData{Feed: p.loadFeed(r)}})
}

// switchLanguage remembers the chosen language for a year and goes back.
func (p *Portal) switchLanguage(w http.ResponseWriter, r *http.Request) {
	lang, ok := parseLang(r.PostFormValue("lang"))
	if !ok {
		lang = DefaultLang
	}
	http.SetCookie(w, &http.Cookie{
		Name: langCookie, Value: string(lang), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, localPath(r.PostFormValue("return"), "/"), http.StatusSeeOther)
}

type membersData struct {
	Members []*discussionv1.Member
	Next    string
}

// members lists the community, newest first.
func (p *Portal) members(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := p.call(r)
	defer cancel()
	resp, err := p.b.Discussion.ListMembers(ctx, &discussionv1.ListMembersRequest{PageSize: 20, PageToken: r.URL.Query().Get("page")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "members", "members.title", membersData{Members: resp.GetMembers(), Next: resp.GetNextPageToken()})
}

// orgNames is the organisation directory for a page; empty when the
// catalogue cannot be reached (ids are shown instead).
func (p *Portal) orgNames(r *http.Request) orgNames {
	ctx, cancel := p.call(r)
	defer cancel()
	_, byID, err := p.orgs.all(ctx)
	if err != nil {
		p.logBackend(r, err)
	}
	return orgNames(byID)
}
