package paging

import (
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
)

func TestTokenRoundTripAndFilterBinding(t *testing.T) {
	f := FilterHash("theme=labour", "status=published")
	tok := Encode(Cursor{Key: "2024", ID: "abc"}, f)
	c, err := Decode(tok, f)
	if err != nil || c.ID != "abc" || c.Key != "2024" {
		t.Fatalf("round trip: %+v %v", c, err)
	}
	if _, err := Decode(tok, FilterHash("theme=education")); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("token replayed with other filters: %v", err)
	}
	if _, err := Decode("%%%", f); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("garbage token: %v", err)
	}
	if c, err := Decode("", f); c != nil || err != nil {
		t.Fatalf("empty token: %v %v", c, err)
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		in   int32
		want int
		bad  bool
	}{{0, DefaultSize, false}, {5, 5, false}, {1000, MaxSize, false}, {-1, 0, true}} {
		got, err := Size(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("Size(%d) = %d, %v", c.in, got, err)
		}
	}
}
