package login

import (
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var t0 = time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)

func TestDelaysGrowThenLock(t *testing.T) {
	p := DefaultPolicy()
	a := &Attempts{Key: EmailKey("x@example.it")}
	now := t0
	var waits []time.Duration
	for i := 1; i <= p.LockAfter; i++ {
		if err := a.Begin(p, now); err != nil {
			t.Fatalf("attempt %d refused at its allowed time: %v", i, err)
		}
		wait := a.BlockedUntil.Sub(now)
		if wait < 0 {
			wait = 0
		}
		waits = append(waits, wait)
		if wait > 0 {
			// Trying again before the wait is over is refused and counts nothing.
			err := a.Begin(p, now.Add(wait/2))
			if apperr.KindOf(err) != apperr.KindResourceExhausted || !strings.Contains(err.Error(), "try again in") {
				t.Fatalf("attempt during the wait: %v", err)
			}
		}
		now = now.Add(wait)
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 15 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits after each failure = %v, want %v", waits, want)
		}
	}
	if a.Failures != p.LockAfter {
		t.Fatalf("%d failures counted, want %d (refusals count nothing)", a.Failures, p.LockAfter)
	}
	if !a.ExpireAt.Equal(a.BlockedUntil) {
		t.Errorf("a locked record expires at %v, want at the end of the lock %v", a.ExpireAt, a.BlockedUntil)
	}
}

func TestFailuresAreForgottenAfterTheWindow(t *testing.T) {
	p := DefaultPolicy()
	a := &Attempts{}
	for i := 0; i < 3; i++ {
		_ = a.Begin(p, t0)
	}
	if err := a.Begin(p, t0.Add(p.Window+time.Second)); err != nil || a.Failures != 1 {
		t.Fatalf("after the window: failures %d, %v", a.Failures, err)
	}
}

func TestUnknownAccountKeysAreStableAndDistinct(t *testing.T) {
	a, b := UnknownAccountKey("a@example.it"), UnknownAccountKey("b@example.it")
	if a != UnknownAccountKey("a@example.it") || a == b || strings.Contains(a, "example") {
		t.Fatalf("keys %q %q", a, b)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	err := Policy{FreeFailures: 0, BaseDelay: 0, MaxDelay: 0, LockAfter: 0}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") < 2 {
		t.Fatalf("every problem at once: %v", err)
	}
}
