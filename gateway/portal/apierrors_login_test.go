package portal

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Refusals of a log-in say what happened: a wrong password is not "log in
// again", nor is a write without any session.
func TestUnauthenticatedIsSaidByWhatHappened(t *testing.T) {
	for _, c := range []struct{ message, it, en string }{
		{"wrong e-mail or password", "E-mail o password errate.", "Wrong e-mail or password."},
		{"log in first: changing the catalog needs a session token", "Accedi per continuare.", "Log in to continue."},
		{"session s-1 is unknown or expired: log in again", "Accedi di nuovo per continuare.", "Log in again to continue."},
	} {
		st := status.New(codes.Unauthenticated, c.message)
		for lang, want := range map[Lang]string{Italian: c.it, English: c.en} {
			got, _ := LocalizedError(st, lang)
			if got == nil || got.GetMessage() != want {
				t.Errorf("%s, %s: %v, want %q", c.message, lang, got, want)
			}
		}
	}
}
