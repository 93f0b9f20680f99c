package mail

import (
	"strings"
	"testing"
)

func TestUnsubscribeTokens(t *testing.T) {
	tokens := NewTokens(strings.Repeat("k", 32))
	tok := tokens.Sign("member-1")
	if id, err := tokens.Verify(tok); err != nil || id != "member-1" {
		t.Fatalf("Verify(Sign) = %q, %v", id, err)
	}
	forged := NewTokens(strings.Repeat("x", 32)).Sign("member-1")
	for _, bad := range []string{"", "abc", forged, tok + "x", strings.Replace(tok, ".", "", 1)} {
		if _, err := tokens.Verify(bad); err == nil {
			t.Errorf("Verify(%q) accepted a token it did not sign", bad)
		}
	}
	if _, err := (Tokens{}).Verify(tok); err == nil {
		t.Error("a service without a key accepted a token")
	}
}

func TestComposeSpeaksTheMembersLanguage(t *testing.T) {
	items := []Item{{Text: "Una novità", Link: "/threads/t1"}, {Text: "Un'altra", Link: "/twinnings/x"}}
	subject, text, html := Compose("it", "http://portal.test/", "http://portal.test/v1/unsubscribe?token=t", items, "")
	if !strings.Contains(subject, "2 novità") || !strings.Contains(text, "http://portal.test/threads/t1") ||
		!strings.Contains(html, `href="http://portal.test/twinnings/x"`) || !strings.Contains(text, "unsubscribe?token=t") {
		t.Fatalf("it message:\n%s\n%s\n%s", subject, text, html)
	}
	subject, _, _ = Compose("en", "http://portal.test", "u", items, "")
	if !strings.Contains(subject, "2 updates") {
		t.Fatalf("en subject: %s", subject)
	}
	if subject, _, _ = Compose("it", "http://portal.test", "u", items, "weekly"); !strings.Contains(subject, "riepilogo della settimana (2 novità)") {
		t.Fatalf("weekly digest subject: %s", subject)
	}
}
