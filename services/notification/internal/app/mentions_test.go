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
