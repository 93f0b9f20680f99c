package notifytest

import (
	"context"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/deploy/devstack/demo"
	"github.com/gemella/gemella/gateway/portal"
)

// A notification is said in the language its reader reads, not in the
// language of their e-mails: the coordinator, mentioned by the member,
// reads "… mentioned you in …" on the English portal page and through the
// API with Accept-Language: en, and the Italian sentence on the Italian
// page, with Accept-Language: it and with none (their preference, Italian
// by default, which their e-mail keeps).
func TestANotificationIsInTheLanguageOfItsReader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole devstack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, js := demoStack(ctx, t, time.Second)
	base := st.GatewayURL()
	settled(t, js)

	member := login(t, base, "member@demo.gemella.test")
	coord := login(t, base, "coordinator@demo.gemella.test")
	coord.must(http.MethodGet, "/v1/me/notification-preferences", nil) // known by their address, for the e-mail
	tosCa := member.must(http.MethodGet, "/v1/twinnings/"+demo.TosCaCode, nil)["id"].(string)
	threads := member.must(http.MethodGet, "/v1/threads?twinning_id="+tosCa, nil)["threads"].([]any)
	if len(threads) == 0 {
		t.Fatal("the Tos.Ca. twinning has no thread")
	}
	thread := threads[0].(map[string]any)
	live := coord.live(t, "", "Accept-Language", "en")
	member.must(http.MethodPost, "/v1/threads/"+thread["id"].(string)+"/posts", map[string]any{"body": "@Demo Coordinatrice ci aiuti con il calendario?"})

	title := thread["title"].(string)
	it := "Demo Iscritta ti ha menzionato in «" + title + "»"
	en := "Demo Iscritta mentioned you in “" + title + "”"
	text := func(acceptLanguage string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/me/notifications", nil)
		req.Header.Set("Authorization", "Bearer "+coord.token)
		if acceptLanguage != "" {
			req.Header.Set("Accept-Language", acceptLanguage)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		for _, want := range []string{it, en} {
			if strings.Contains(string(raw), want) {
				return want
			}
		}
		return string(raw)
	}
	deadline := time.Now().Add(waitFor)
	for text("") != it && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	for lang, want := range map[string]string{"": it, "it-IT,it;q=0.9": it, "en-GB,en;q=0.9,it;q=0.5": en, "de": it} {
		if got := text(lang); got != want {
			t.Errorf("GET /v1/me/notifications with Accept-Language %q: %q, want %q", lang, got, want)
		}
	}

	if got := live.notifications(t, 1)[0].data["text"]; got != en {
		t.Errorf("the live stream with Accept-Language: en says %q, want %q", got, en)
	}

	page := func(lang string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/notifications", nil)
		req.AddCookie(&http.Cookie{Name: portal.SessionCookie, Value: coord.token})
		req.AddCookie(&http.Cookie{Name: "gemella_lang", Value: lang})
		// The browser's own languages are not the page's.
		req.Header.Set("Accept-Language", map[string]string{"en": "it", "it": "en"}[lang])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return html.UnescapeString(string(raw))
	}
	if p := page("en"); !strings.Contains(p, en) || strings.Contains(p, it) {
		t.Errorf("the English page does not say %q:\n%s", en, p)
	}
	if p := page("it"); !strings.Contains(p, it) || strings.Contains(p, en) {
		t.Errorf("the Italian page does not say %q:\n%s", it, p)
	}

	// The e-mail is in the coordinator's language, Italian.
	box := st.Mailbox()
	deadline = time.Now().Add(waitFor)
	for len(mailTo(box, "coordinator@demo.gemella.test")) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	msgs := mailTo(box, "coordinator@demo.gemella.test")
	if len(msgs) == 0 {
		t.Fatal("the coordinator got no e-mail")
	}
	if body := string(msgs[len(msgs)-1].Raw); !strings.Contains(body, "menzionato") || strings.Contains(body, "mentioned you") {
		t.Errorf("the e-mail is not in Italian:\n%s", body)
	}
}
