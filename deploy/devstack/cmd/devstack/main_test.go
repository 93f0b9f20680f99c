package main

import (
	"strings"
	"testing"

	"github.com/gemella/gemella/deploy/devstack/demo"
	"github.com/gemella/gemella/deploy/devstack/stack"
)

// The banner names every demo account the README lists (a trial missed
// candidate.vibo@, which was left out of a hand-written list).
func TestTheBannerNamesEveryDemoAccount(t *testing.T) {
	var b strings.Builder
	printWelcome(&b, stack.URLs{Gateway: "http://127.0.0.1:8080"}, "/tmp/data", false)
	for _, a := range demo.Accounts {
		local, _, _ := strings.Cut(a.Email, "@")
		if !strings.Contains(b.String(), local+"@") {
			t.Errorf("the banner does not name %s:\n%s", a.Email, b.String())
		}
	}
	if !strings.Contains(b.String(), "admin@demo.gemella.test") {
		t.Errorf("the banner lost the accounts' domain:\n%s", b.String())
	}
}
