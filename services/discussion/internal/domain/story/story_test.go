package story

import (
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var t0 = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func TestStoryLife(t *testing.T) {
	if _, err := New("s", Details{Title: "x", Body: "y"}, "m", "M", t0); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("a story about nothing: %v", err)
	}
	if _, err := New("s", Details{Title: "x", Body: "y", TwinningID: "a", PracticeID: "b"}, "m", "M", t0); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("a story about two things: %v", err)
	}
	s, err := New("s1", Details{Title: "Il nostro primo modulo", Body: "Abbiamo portato Trio a Catanzaro.", TwinningID: "tw1"}, "m", "M", t0)
	if err != nil || s.Status != Pending {
		t.Fatal(err)
	}
	if err := s.Reject("mod", "", t0); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("reject without a reason: %v", err)
	}
	before := s.SortKey()
	if err := s.Publish("mod", "", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c := s.Changes(); len(c) != 1 || c[0].Type != EventPublished || s.SortKey() <= before {
		t.Fatalf("published: %v, sort key %q after %q", c, s.SortKey(), before)
	}
	if err := s.Reject("mod", "tardi", t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("deciding twice: %v", err)
	}
}
