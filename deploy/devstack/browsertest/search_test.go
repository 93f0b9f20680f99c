package browsertest

import (
	"strings"
	"testing"
	"time"
)

// searchResults is the part of GET /v1/search the tests read.
type searchResults struct {
	Counts      map[string]int `json:"counts"`
	Unavailable []string       `json:"unavailable"`
}

// waitForSearch waits until every service's index has the demo data: they
// are built in the background at the first start.
func waitForSearch(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r searchResults
		api(t, "GET", "/v1/search?q=competenze", "", nil, &r)
		if r.Counts["practice"] > 0 && r.Counts["twinning"] > 0 && r.Counts["thread"] > 0 && len(r.Unavailable) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo data is not searchable: %+v", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The search box of the header, on every page, finds the Tos.Ca.
// practice, twinning and general discussion, grouped by kind, the words
// marked; the kind filter narrows it; the page passes axe in both
// languages.
func TestHeaderSearchFindsEveryKind(t *testing.T) {
	tb := newTab(t)
	waitForSearch(t)
	tb.visit("/twinnings")
	tb.fill(map[string]string{"#site-search": "competenze"})
	tb.click(`form[data-testid=site-search] button[type=submit]`)
	tb.waitFor("the results page", `location.pathname === "/search"`)
	for _, kind := range []string{"practice", "twinning", "thread"} {
		got := tb.text("[data-testid=results-" + kind + "]")
		if !strings.Contains(got, "Tos.Ca.") {
			tb.errorf("the %s results do not name Tos.Ca.: %q", kind, got)
		}
	}
	if n := eval[int](tb, `document.querySelectorAll("[data-testid=results-twinning] mark").length`); n == 0 {
		tb.errorf("no word is marked in the twinning results")
	}
	if got := tb.text("[data-testid=results-thread]"); !strings.Contains(got, "Discussione generale") {
		tb.errorf("the general discussion is not among the threads: %q", got)
	}
	tb.screenshot("search")
	tb.checkAccessibility("search")

	tb.choose("#s-kind", "Gemellaggi")
	tb.click(`form[data-testid=search-form] button[type=submit]`)
	tb.waitFor("the twinnings only", `location.search.includes("kind=twinning")`)
	if n := eval[int](tb, `document.querySelectorAll("[data-testid^=results-]").length`); n != 1 {
		tb.errorf("filtered by kind, %d kinds are listed, want 1", n)
	}

	tb.click("[data-testid=language-switch]")
	tb.waitFor("the English page", `document.documentElement.lang === "en"`)
	if got := tb.text("main"); !strings.Contains(got, "Twinnings") || !strings.Contains(got, "result") {
		tb.errorf("the results page is not in English: %q", got)
	}
	tb.checkAccessibility("search-en")
	tb.click("[data-testid=language-switch]")
	tb.waitFor("the Italian page", `document.documentElement.lang === "it"`)
}
