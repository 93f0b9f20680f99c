package thread

import (
	"fmt"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var t0 = time.Date(2015, 5, 16, 10, 0, 0, 0, time.UTC)

func TestDetailsValidate(t *testing.T) {
	tests := []struct {
		name string
		d    Details
		ok   bool
	}{
		{"general", Details{Scope: General, Title: "Benvenuti"}, true},
		{"twinning", Details{Scope: Twinning, ScopeID: "tw-1", Title: "Tos.Ca."}, true},
		{"no scope", Details{Title: "x"}, false},
		{"general with id", Details{Scope: General, ScopeID: "x", Title: "x"}, false},
		{"practice without id", Details{Scope: Practice, Title: "x"}, false},
		{"no title", Details{Scope: General}, false},
		{"two-line title", Details{Scope: General, Title: "a\nb"}, false},
	}
	for _, tt := range tests {
		if err := tt.d.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestCountingIsIdempotent(t *testing.T) {
	th, err := New("t1", Details{Scope: General, Title: "Benvenuti"}, "m1", "Laura", "m1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if th.ParticipantCount != 1 || th.PostCount != 0 {
		t.Fatalf("new thread counters: %+v", th)
	}
	if !th.CountPost("p1", "m2", t0.Add(time.Minute)) || th.CountPost("p1", "m2", t0.Add(time.Minute)) {
		t.Fatal("the same post counted twice, or not once")
	}
	th.CountPost("p2", "m1", t0.Add(2*time.Minute))
	th.CountPost("p3", "m2", t0.Add(30*time.Second)) // late, older than the last activity
	if th.PostCount != 3 || th.ParticipantCount != 2 || !th.LastActivityAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("counters = posts %d participants %d last %v", th.PostCount, th.ParticipantCount, th.LastActivityAt)
	}
	for i := 0; i < 150; i++ {
		th.CountPost(fmt.Sprintf("q%d", i), "m3", t0)
	}
	if len(th.CountedPosts) != 100 || th.HasCounted("p1") || !th.HasCounted("q149") {
		t.Fatalf("remembers %d posts", len(th.CountedPosts))
	}
	system, _ := New("t2", Details{Scope: Twinning, ScopeID: "tw", Title: "x"}, "", "Gemella", "system", t0)
	if system.ParticipantCount != 0 {
		t.Fatal("the platform counts as a participant")
	}
	if _, err := New("t3", Details{}, "m1", "x", "m1", t0); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatal(err)
	}
}
