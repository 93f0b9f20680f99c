package app

import (
	"slices"
	"testing"
)

func TestMentionKeys(t *testing.T) {
	got := MentionKeys("Grazie @Chiara Bellini, e ciao a@nobody.it e (@Marco)!")
	for _, want := range []string{"chiara", "chiara bellini", "marco"} {
		if !slices.Contains(got, want) {
			t.Errorf("MentionKeys: %q missing from %q", want, got)
		}
	}
	for _, not := range []string{"chiara bellini, e", "nobody.it", "chiara bellini e"} {
		if slices.Contains(got, not) {
			t.Errorf("MentionKeys: %q should not be a candidate (%q)", not, got)
		}
	}
	if keys := MentionKeys("no mentions here"); len(keys) != 0 {
		t.Errorf("MentionKeys without @: %q", keys)
	}
}

func TestRecipientsKeepTheFirstReason(t *testing.T) {
	var r recipients
	r.add("a", ReasonThreadPost)
	r.add("a", ReasonReply)
	r.add("a", ReasonMention)
	r.add("b", ReasonMention)
	r.drop("b")
	if len(r.reason) != 1 || r.reason["a"] != ReasonReply {
		t.Fatalf("recipients = %v, want a: reply only", r.reason)
	}
}

// Only a twinning named by its code is looked up on GET and DELETE of a
// follow: a page asking about a twinning by its id costs no call.
func TestOnlyATwinningCodeIsLookedUp(t *testing.T) {
	for _, tc := range []struct {
		kind, id string
		want     bool
	}{
		{KindTwinning, "TOSCA-2012", true},
		{KindTwinning, "01a23ed1-9357-7c3c-9a47-4cc225b6aa8a", false},
		{KindPractice, "tos-ca", false},
	} {
		if got := byCode(tc.kind, tc.id); got != tc.want {
			t.Errorf("byCode(%s, %s) = %v, want %v", tc.kind, tc.id, got, tc.want)
		}
	}
}
