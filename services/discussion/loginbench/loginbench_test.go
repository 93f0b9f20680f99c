package loginbench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestMeasureShort runs every measurement briefly: it checks that the
// figures are there and plausible, not how fast anything is.
func TestMeasureShort(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes for a few seconds")
	}
	r, err := Measure(context.Background(), Options{Phase: 400 * time.Millisecond, Members: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !r.MeetsOWASP || r.Params.MemoryKiB < 19456 || r.Params.Iterations < 2 {
		t.Fatalf("parameters %+v", r.Params)
	}
	if r.HashesPerSecond <= 0 || r.HashBytes < 19<<20 || r.LoginsPerSecond <= 0 {
		t.Fatalf("hashing figures: %+v", r)
	}
	if r.ReadIdle.Count == 0 || r.ReadAttacked.Count == 0 || r.ReadAttackedNoLimiter.Count == 0 || r.ReadAttacked.Errors != 0 {
		t.Fatalf("read figures: %+v %+v", r.ReadIdle, r.ReadAttacked)
	}
	// With the limiter most guesses are refused before any hashing; without
	// it every guess is hashed.
	if r.Attacked.Sent < 20 || r.Attacked.Refused <= r.Attacked.Checked || r.AttackedNoLimiter.Refused != 0 || r.Attacked.Other != 0 {
		t.Fatalf("attack figures: on %+v, off %+v", r.Attacked, r.AttackedNoLimiter)
	}
	if r.OtherLogin.Count == 0 || r.OtherLogin.Errors != 0 {
		t.Fatalf("another member could not log in during the attack: %+v", r.OtherLogin)
	}
	var out bytes.Buffer
	Print(&out, r)
	for _, want := range []string{"argon2id m=19456 KiB", "meets the OWASP minimum", "hashes/s", "MiB allocated per hash", "limiter on", "limiter off"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
