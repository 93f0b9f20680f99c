package apitest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gemella/gemella/deploy/devstack/demo"
	gateway "github.com/gemella/gemella/gateway/server"
)

// Following is only of what exists: the notification service asks the
// owning service, with the member's token, before it stores a follow. A
// twinning, practice, thread or organisation that is not there answers
// 404 naming it, in the caller's language too, and stores nothing; a
// twinning named by its code is followed by its id.
func TestOnlyWhatExistsCanBeFollowed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services")
	}
	a := startAPI(t)
	auth := "Bearer " + a.memberToken(t)
	for _, c := range []struct{ path, reason, it, en string }{
		{"twinning/nonexistent", "TWINNING_NOT_FOUND", "nessun gemellaggio", "no twinning"},
		{"organization/%C3%A9%F0%9F%98%80", "ORGANIZATION_NOT_FOUND", "nessuna organizzazione", "no organisation"},
		{"practice/nonexistent", "PRACTICE_NOT_FOUND", "nessuna buona pratica", "no practice"},
		{"thread/nonexistent", "THREAD_NOT_FOUND", "nessuna discussione", "no discussion"},
	} {
		for lang, words := range map[string]string{"it": c.it, "en": c.en} {
			r := a.send(t, http.MethodPut, "/v1/me/follows/"+c.path, "{}", map[string]string{"Authorization": auth, "Accept-Language": lang})
			body := string(r.body)
			if r.status != http.StatusNotFound || !strings.Contains(body, c.reason) || !strings.Contains(body, words) ||
				!strings.Contains(body, "nothing to follow") {
				t.Errorf("PUT %s (%s): %d %s, want 404 %s saying %q", c.path, lang, r.status, body, c.reason, words)
			}
		}
	}
	for _, kind := range []string{"practice", "thread", "organization"} {
		if r := a.send(t, http.MethodPut, "/v1/me/follows/"+kind+"/"+a.ids[kind], "{}", map[string]string{"Authorization": auth}); r.status != http.StatusOK {
			t.Errorf("follow the %s %s: %d %s", kind, a.ids[kind], r.status, r.body)
		}
	}
	r := a.send(t, http.MethodPut, "/v1/me/follows/twinning/"+demo.TosCaCode, "{}", map[string]string{"Authorization": auth})
	var f struct {
		TargetID string `json:"target_id"`
	}
	if err := json.Unmarshal(r.body, &f); r.status != http.StatusOK || err != nil || f.TargetID != a.ids["twinning"] {
		t.Errorf("follow Tos.Ca. by its code: %d %s, want its id %s", r.status, r.body, a.ids["twinning"])
	}

	r = a.send(t, http.MethodGet, "/v1/me/follows?page_size=100", "", map[string]string{"Authorization": auth})
	var list struct {
		Follows []struct {
			Kind     string `json:"kind"`
			TargetID string `json:"target_id"`
		} `json:"follows"`
	}
	if err := json.Unmarshal(r.body, &list); r.status != http.StatusOK || err != nil {
		t.Fatalf("list follows: %d %s", r.status, r.body)
	}
	got := map[string]bool{}
	for _, f := range list.Follows {
		got[f.TargetID] = true
	}
	for _, kind := range []string{"twinning", "practice", "thread", "organization"} {
		if !got[a.ids[kind]] {
			t.Errorf("the follows do not list the %s %s: %s", kind, a.ids[kind], r.body)
		}
	}
	if got["nonexistent"] || got["é😀"] || got[demo.TosCaCode] || len(list.Follows) != 4 {
		t.Errorf("the follows list what does not exist: %s", r.body)
	}
	// By its code, as PUT took it, the follow is read and ended too.
	byCode := "/v1/me/follows/twinning/" + demo.TosCaCode
	if r := a.send(t, http.MethodGet, byCode, "", map[string]string{"Authorization": auth}); r.status != http.StatusOK || !strings.Contains(string(r.body), a.ids["twinning"]) {
		t.Errorf("GET the follow by the code: %d %s, want the follow of %s", r.status, r.body, a.ids["twinning"])
	}
	if r := a.send(t, http.MethodDelete, byCode, "", map[string]string{"Authorization": auth}); r.status != http.StatusOK {
		t.Errorf("DELETE the follow by the code: %d %s", r.status, r.body)
	}
	if r := a.send(t, http.MethodGet, "/v1/me/follows/twinning/"+a.ids["twinning"], "", map[string]string{"Authorization": auth}); r.status != http.StatusNotFound {
		t.Errorf("after DELETE by the code the follow is still there: %d %s", r.status, r.body)
	}
	// Unfollowing what does not exist stays no error.
	if r := a.send(t, http.MethodDelete, "/v1/me/follows/twinning/nonexistent", "", map[string]string{"Authorization": auth}); r.status != http.StatusOK {
		t.Errorf("unfollow what does not exist: %d %s", r.status, r.body)
	}
}

// When the owning service does not answer, a follow is neither stored nor
// refused as unknown: 503, to retry.
func TestAFollowWhileTheOwningServiceIsDownIsA503(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services")
	}
	a := startAPI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	_ = ln.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gcfg := gateway.DefaultConfig()
	gcfg.HTTPAddr = "127.0.0.1:0"
	gcfg.CatalogAddr, gcfg.TwinningAddr, gcfg.DiscussionAddr = a.addrs["catalog"], down, a.addrs["discussion"]
	gcfg.NotificationAddr = startNotification(t, a.pub, a.addrs["catalog"], down, a.addrs["discussion"], quiet)
	gcfg.NATSURL = gateway.BackendDisabled
	base := serveGateway(t, gcfg, quiet)

	b := &api{base: base}
	auth := map[string]string{"Authorization": "Bearer " + a.memberToken(t)}
	r := b.send(t, http.MethodPut, "/v1/me/follows/twinning/"+a.ids["twinning"], "{}", auth)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "UNAVAILABLE") {
		t.Errorf("follow with the twinning service down: %d %s, want 503 UNAVAILABLE", r.status, r.body)
	}
	if r := b.send(t, http.MethodGet, "/v1/me/follows/twinning/"+a.ids["twinning"], "", auth); r.status != http.StatusNotFound {
		t.Errorf("the follow refused for now was stored: %d %s", r.status, r.body)
	}
	// What the services that answer own can still be followed.
	if r := b.send(t, http.MethodPut, "/v1/me/follows/practice/"+a.ids["practice"], "{}", auth); r.status != http.StatusOK {
		t.Errorf("follow a practice with the catalog up: %d %s", r.status, r.body)
	}
}
