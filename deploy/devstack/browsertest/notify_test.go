package browsertest

import (
	"strconv"
	"testing"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// The header's bell counts the member's unread notifications and changes
// as they come, without reloading the page: the demo member writes in the
// Tos.Ca. discussion (from the API), another member replies, and the
// count on the open page goes up.
func TestTheBellCountsNewNotificationsLive(t *testing.T) {
	tb := newTab(t)
	logInAs(tb, "member@demo.gemella.test", demo.AccountPassword)
	tb.visit("/twinnings/" + demo.TosCaCode)
	tb.waitFor("the bell's first count", `document.querySelector("[data-testid=bell]").hasAttribute("data-unread")`)
	before := eval[string](tb, `document.querySelector("[data-testid=bell]").getAttribute("data-unread")`)
	n, err := strconv.Atoi(before)
	if err != nil {
		tb.fatalf("the bell's count %q is not a number", before)
	}
	eval[bool](tb, `(window.notReloaded = true)`)

	a := apiLogIn(t, "member@demo.gemella.test", demo.AccountPassword)
	b := apiLogIn(t, "editor.calabria@demo.gemella.test", demo.AccountPassword)
	thread := tosCaThread(tb).ID
	var post struct {
		ID string `json:"id"`
	}
	api(t, "POST", "/v1/threads/"+thread+"/posts", a.Token, map[string]any{"body": "Da noi il bilancio delle competenze ha funzionato."}, &post)
	api(t, "POST", "/v1/threads/"+thread+"/posts", b.Token, map[string]any{"body": "Anche da noi: come lo avete organizzato?", "parent_id": post.ID}, nil)

	tb.waitFor("the bell to count the reply", `Number(document.querySelector("[data-testid=bell]").getAttribute("data-unread")) > `+strconv.Itoa(n))
	if !eval[bool](tb, `window.notReloaded === true`) {
		tb.fatalf("the page was reloaded")
	}
	if got := tb.text("[data-testid=bell-count]"); got == "" || got == "0" {
		tb.errorf("the bell shows %q", got)
	}
	tb.screenshot("bell")
	tb.visit("/notifications")
	tb.waitText("[data-testid=notifications]", "Demo Redattrice Calabria")
	tb.checkAccessibility("notifications")
}
