package browsertest

import (
	"strings"
	"testing"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// The home page's live feed says what became of a transfer, in words and
// in the reader's language: which model, and its new status. Calabria's
// editor starts the planned model C of Tos.Ca. from the API while the
// page is open.
func TestTheLiveFeedSaysWhatBecameOfATransfer(t *testing.T) {
	tb := openLiveFeed(t)

	editor := apiLogIn(t, "editor.calabria@demo.gemella.test", demo.AccountPassword)
	var tw struct {
		ID        string `json:"id"`
		Transfers []struct {
			ID        string `json:"id"`
			ModelCode string `json:"model_code"`
			Status    string `json:"status"`
		} `json:"transfers"`
	}
	api(t, "GET", "/v1/twinnings/"+demo.TosCaCode, "", nil, &tw)
	var transfer string
	for _, tr := range tw.Transfers {
		if tr.ModelCode == "C" && tr.Status == "TRANSFER_STATUS_PLANNED" {
			transfer = tr.ID
		}
	}
	if transfer == "" {
		tb.fatalf("Tos.Ca. has no planned model C: %+v", tw.Transfers)
	}
	api(t, "PATCH", "/v1/twinnings/"+tw.ID+"/transfers/"+transfer, editor.Token,
		map[string]any{"transfer": map[string]any{"status": "TRANSFER_STATUS_IN_PROGRESS"}, "note": "Avviato dopo il comitato."}, nil)

	tb.waitFor("the transfer in the live feed", `(document.getElementById("live-events").textContent || "").includes("modello C: in corso")`)
	line := tb.text("#live-events li")
	if !strings.Contains(line, "Trasferimento") || strings.Contains(line, "in_progress") || strings.Contains(line, "TRANSFER_STATUS") {
		tb.errorf("the live line reads %q", line)
	}
	tb.screenshot("live-transfer")
}

// A post's line in the live feed names its author and links the thread it
// was written in by the thread's title, not the author's name.
func TestTheLiveFeedNamesThePostsThread(t *testing.T) {
	tb := openLiveFeed(t)
	member := apiLogIn(t, "member@demo.gemella.test", demo.AccountPassword)
	thread := tosCaThread(tb)
	api(t, "POST", "/v1/threads/"+thread.ID+"/posts", member.Token, map[string]any{"body": "Una domanda sul modello B."}, nil)

	tb.waitFor("the post in the live feed", `(document.getElementById("live-events").textContent || "").includes("nella discussione")`)
	line := tb.text("#live-events li")
	if !strings.Contains(line, "Nuovo messaggio di") || !strings.Contains(line, "nella discussione "+thread.Title) {
		tb.errorf("the live line reads %q, want the author and the thread %q", line, thread.Title)
	}
	link := eval[string](tb, `(document.querySelector("#live-events li a") || {}).textContent || ""`)
	if link != thread.Title {
		tb.errorf("the line links %q, want the thread's title %q", link, thread.Title)
	}
	tb.screenshot("live-post")
}

// openLiveFeed opens the home page and waits until its live feed is
// connected.
func openLiveFeed(t *testing.T) *tab {
	tb := newTab(t)
	tb.visit("/")
	tb.waitFor("the live feed to connect", `document.getElementById("live-feed").getAttribute("data-live") === "open"`)
	return tb
}

// discussion is a thread as the API lists it.
type discussion struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// tosCaThread is the first discussion of the Tos.Ca. twinning.
func tosCaThread(tb *tab) discussion {
	var tw struct {
		ID string `json:"id"`
	}
	api(tb.t, "GET", "/v1/twinnings/"+demo.TosCaCode, "", nil, &tw)
	var threads struct {
		Threads []discussion `json:"threads"`
	}
	api(tb.t, "GET", "/v1/threads?twinning_id="+tw.ID, "", nil, &threads)
	if len(threads.Threads) == 0 || threads.Threads[0].Title == "" {
		tb.fatalf("the Tos.Ca. twinning has no titled discussion: %+v", threads.Threads)
	}
	return threads.Threads[0]
}
