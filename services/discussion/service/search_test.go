package service_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/auth"
)

// searchUntil polls a search of the gateway until its total is want, for
// at most ten seconds: the index follows the stream, it is not written
// with the post (503: the gateway reconnects to a restarted service).
func searchUntil(t *testing.T, c rest, path, q string, want int) reply {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := c.do("GET", path+"?q="+url.QueryEscape(q), nil)
		if r.status != 200 && r.status != 503 {
			t.Fatalf("GET %s?q=%s: %s", path, q, r.raw)
		}
		if r.status == 200 && int(r.num("total")) == want && len(r.list("hits")) == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s?q=%s: still %s, want %d hits", path, q, r.raw, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bodyFragment is the first highlighted fragment of the body of a page's
// first hit.
func bodyFragment(r reply) string {
	hits := r.list("hits")
	if len(hits) == 0 {
		return ""
	}
	hl, _ := hits[0]["highlights"].([]any)
	for _, h := range hl {
		h, _ := h.(map[string]any)
		if frags, _ := h["fragments"].([]any); h["field"] == "body" && len(frags) > 0 {
			f, _ := frags[0].(string)
			return f
		}
	}
	return ""
}

func TestAPostIsFoundOncePublishedAndLeavesTheIndexWhenHidden(t *testing.T) {
	e := start(t)
	e.cfg.Search.Dir = filepath.Join(t.TempDir(), "search")
	e.stopService()
	e.startService(t)
	base := e.startGateway(t)
	anon := rest{t: t, base: base}
	for _, p := range people[:2] {
		anon.must(200, "POST", "/v1/members", map[string]any{
			"member":   map[string]any{"display_name": p.name, "email": p.email, "organization_name": p.org, "role_title": p.role},
			"password": password, "privacy_consent": true,
		})
	}
	if err := e.svc.GrantRoles(context.Background(), people[1].email, auth.RoleModerator); err != nil {
		t.Fatal(err)
	}
	logIn := func(email string) rest {
		r := anon.must(200, "POST", "/v1/sessions", map[string]any{"email": email, "password": password})
		return rest{t: t, base: base, token: r.str("token")}
	}
	author, moderator := logIn(people[0].email), logIn(people[1].email)

	th := author.must(200, "POST", "/v1/threads", map[string]any{"scope": "SCOPE_GENERAL", "title": "Libretto formativo del cittadino", "body": `Come lo **usate**, \*questo\*?`})
	post := author.must(200, "POST", "/v1/threads/"+th.str("id")+"/posts", map[string]any{"body": "Le **competenze certificate** in [Calabria](http://example.org/bando): il <b>modello B</b> funziona se 2 < 3."})

	// Italian stems (competenza finds competenze), the thread's title
	// with the post, the words marked in escaped plain text: the
	// Markdown is gone (no asterisks, no link address), as is the raw
	// HTML the page leaves out, and what is left is escaped.
	r := searchUntil(t, anon, "/v1/search/posts", "competenza certificata", 1)
	hit := r.list("hits")[0]
	if p, _ := hit["post"].(map[string]any); p["id"] != post.str("id") || hit["thread_title"] != "Libretto formativo del cittadino" {
		t.Fatalf("post hit: %s", r.raw)
	}
	hl, _ := hit["highlights"].([]any)
	if len(hl) != 1 {
		t.Fatalf("highlights: %s", r.raw)
	}
	frags, _ := hl[0].(map[string]any)["fragments"].([]any)
	if frag, _ := frags[0].(string); frag != "Le <mark>competenze</mark> <mark>certificate</mark> in Calabria: il modello B funziona se 2 &lt; 3." {
		t.Fatalf("highlight, marked, plain and escaped: %q", frag)
	}
	searchUntil(t, anon, "/v1/search/threads", "libretto", 1)
	if got := bodyFragment(searchUntil(t, anon, "/v1/search/threads", "usate", 1)); got != "Come lo <mark>usate</mark>, *questo*?" {
		t.Fatalf("a thread's highlight, without its Markdown: %q", got)
	}
	if r := anon.do("GET", "/v1/search/posts?page_token=zz", nil); r.status != 400 || !strings.Contains(r.raw, "page_token") {
		t.Fatalf("a bad page token: %s", r.raw)
	}

	// Hidden by a moderator: gone from search, for everyone.
	moderator.must(200, "POST", "/v1/posts/"+post.str("id")+":hide", map[string]any{"reason": "prova"})
	searchUntil(t, anon, "/v1/search/posts", "competenze", 0)
	searchUntil(t, moderator, "/v1/search/posts", "competenze", 0)

	// Restored, then deleted by its author.
	moderator.must(200, "POST", "/v1/posts/"+post.str("id")+":restore", map[string]any{"reason": "va bene"})
	searchUntil(t, anon, "/v1/search/posts", "competenze", 1)
	author.must(200, "DELETE", "/v1/posts/"+post.str("id"), nil)
	searchUntil(t, anon, "/v1/search/posts", "competenze", 0)

	// A story is found only once published.
	story := author.must(200, "POST", "/v1/stories", map[string]any{"title": "Il nostro sportello unico", "body": "Abbiamo aperto lo _sportello_ ([orari](https://example.org/orari)).", "twinning_id": "tw-1"})
	time.Sleep(300 * time.Millisecond)
	if r := anon.must(200, "GET", "/v1/search/stories?q=sportello", nil); r.num("total") != 0 {
		t.Fatalf("a pending story is found: %s", r.raw)
	}
	moderator.must(200, "POST", "/v1/stories/"+story.str("id")+":publish", map[string]any{})
	if got := bodyFragment(searchUntil(t, anon, "/v1/search/stories", "orari", 1)); got != "Abbiamo aperto lo sportello (<mark>orari</mark>)." {
		t.Fatalf("a story's highlight, without its Markdown: %q", got)
	}

	// A restart reopens the index from its folder and goes on from where
	// it was: what it had is there at once, what came meanwhile follows.
	e.cfg.GRPC.Addr = e.svc.Addr() // where the gateway calls
	e.stopService()
	e.startService(t)
	searchUntil(t, anon, "/v1/search/stories", "sportello", 1)
	searchUntil(t, anon, "/v1/search/threads", "libretto", 1)
}
