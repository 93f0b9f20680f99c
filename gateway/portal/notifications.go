package portal

import (
	"net/http"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
)

// The member's notifications, their preferences and the follow buttons.
// The header's bell links to /notifications; portal.js keeps its count
// live from the gateway's stream /v1/me/notifications/live.

type notificationsData struct {
	Notifications section[[]*notificationv1.Notification]
	Unread        int32
	Next          string
	Prefs         *notificationv1.Preferences
	Frequencies   []string
	Languages     []string
}

// frequencyNames are the e-mail choices, as the form sends them.
var frequencyNames = map[string]notificationv1.EmailFrequency{
	"immediate": notificationv1.EmailFrequency_EMAIL_FREQUENCY_IMMEDIATE,
	"daily":     notificationv1.EmailFrequency_EMAIL_FREQUENCY_DAILY,
	"weekly":    notificationv1.EmailFrequency_EMAIL_FREQUENCY_WEEKLY,
	"never":     notificationv1.EmailFrequency_EMAIL_FREQUENCY_NEVER,
}

var frequencyOrder = []string{"immediate", "daily", "weekly", "never"}

// FrequencyOf is the form's name of a frequency.
func (d notificationsData) FrequencyOf() string {
	for name, f := range frequencyNames {
		if d.Prefs != nil && d.Prefs.GetEmail() == f {
			return name
		}
	}
	return "immediate"
}

// notifications is the member's list, unread first, with the preferences.
func (p *Portal) notifications(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	d := notificationsData{Frequencies: frequencyOrder, Languages: []string{"it", "en"}}
	var prefsErr error
	parallel(
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			res, err := p.b.Notification.ListNotifications(ctx, &notificationv1.ListNotificationsRequest{PageSize: 50, PageToken: r.URL.Query().Get("page")})
			if err != nil {
				d.Notifications.Down = p.sectionError(r, err)
				return
			}
			d.Notifications.Items, d.Unread, d.Next = res.GetNotifications(), res.GetUnreadCount(), res.GetNextPageToken()
		},
		func() {
			ctx, cancel := p.call(r)
			defer cancel()
			d.Prefs, prefsErr = p.b.Notification.GetPreferences(ctx, &notificationv1.GetPreferencesRequest{})
		},
	)
	if status.Code(prefsErr) == codes.Unauthenticated {
		p.fail(w, r, prefsErr)
		return
	}
	p.render(w, r, http.StatusOK, "notifications", "notifications.title", d)
}

// markRead marks one notification (id) or all of them read.
func (p *Portal) markRead(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	v := formValues(r)
	req := &notificationv1.MarkReadRequest{All: v.Get("id") == ""}
	if id := v.Get("id"); id != "" {
		req.Ids = []string{id}
	}
	ctx, cancel := p.call(r)
	defer cancel()
	if _, err := p.b.Notification.MarkRead(ctx, req); err != nil && status.Code(err) != codes.NotFound {
		p.fail(w, r, err)
		return
	}
	to := "/notifications"
	if next := v.Get("next"); next != "" {
		to = localPath(next, to) // a notification's own page, once read
	}
	p.redirect(w, r, to, "")
}

// savePreferences sets what is e-mailed and in which language.
func (p *Portal) savePreferences(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	v := formValues(r)
	freq, ok := frequencyNames[v.Get("email")]
	if !ok || !slices.Contains([]string{"it", "en"}, v.Get("language")) {
		p.renderError(w, r, http.StatusBadRequest, "form.fix_fields")
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	if _, err := p.b.Notification.UpdatePreferences(ctx, &notificationv1.UpdatePreferencesRequest{
		Preferences: &notificationv1.Preferences{Email: freq, Language: v.Get("language")},
	}); err != nil {
		p.fail(w, r, err)
		return
	}
	p.redirect(w, r, "/notifications#preferences", "flash.preferences_saved")
}

// followKinds are what a member may follow, as the pages name them.
var followKinds = []string{"twinning", "practice", "thread", "organization"}

// following reports whether the visitor follows kind/id; false for a
// visitor without a session or when the service does not answer.
func (p *Portal) following(r *http.Request, kind, id string) bool {
	if visitOf(r).User == nil {
		return false
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Notification.GetFollow(ctx, &notificationv1.GetFollowRequest{Kind: kind, Id: id})
	return err == nil
}

// follow follows or unfollows (action=unfollow) and goes back.
func (p *Portal) follow(w http.ResponseWriter, r *http.Request) {
	if !p.requireUser(w, r) {
		return
	}
	v := formValues(r)
	kind, id := v.Get("kind"), v.Get("id")
	back := localPath(v.Get("return"), "/")
	if !slices.Contains(followKinds, kind) || id == "" {
		p.renderError(w, r, http.StatusBadRequest, "form.fix_fields")
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	var err error
	flash := "flash.followed"
	if v.Get("action") == "unfollow" {
		_, err = p.b.Notification.DeleteFollow(ctx, &notificationv1.DeleteFollowRequest{Kind: kind, Id: id})
		flash = "flash.unfollowed"
	} else {
		_, err = p.b.Notification.PutFollow(ctx, &notificationv1.PutFollowRequest{Kind: kind, Id: id})
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.redirect(w, r, back, flash)
}
