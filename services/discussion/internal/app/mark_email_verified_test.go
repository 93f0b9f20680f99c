package app_test

import (
	"context"
	"testing"

	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// Only the service itself marks an address verified without its link (the
// devstack's demo accounts); doing it twice changes nothing.
func TestOnlyTheServiceMarksAnAddressVerified(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	m := w.register(t, "Anna Rossi", "Anna.Rossi@example.it")
	if m.EmailVerified() {
		t.Fatal("a new member's address is verified already")
	}
	member := w.login(t, "anna.rossi@example.it")
	err := w.app.MarkEmailVerified.Handle(ctx, app.MarkEmailVerified{Caller: member, Email: "anna.rossi@example.it"})
	kindIs(t, "a member marking their own address", err, apperr.KindPermissionDenied)

	system := auth.System(app.ServiceName)
	for round := range 2 {
		if err := w.app.MarkEmailVerified.Handle(ctx, app.MarkEmailVerified{Caller: system, Email: " ANNA.rossi@example.it "}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		got, err := w.deps.Members.GetByEmail(ctx, "anna.rossi@example.it")
		if err != nil || !got.EmailVerified() {
			t.Fatalf("round %d: verified %v, %v", round, got != nil && got.EmailVerified(), err)
		}
	}
	err = w.app.MarkEmailVerified.Handle(ctx, app.MarkEmailVerified{Caller: system, Email: "nessuno@example.it"})
	kindIs(t, "an unknown address", err, apperr.KindNotFound)
}
