package browsertest

import (
	"strings"
	"testing"
)

// A newcomer who has not confirmed the address sees the banner on every
// page; the forgotten-password, new-password and confirmation pages work
// and pass axe-core.
func TestForgottenPasswordAndAddressConfirmationPages(t *testing.T) {
	tb := newTab(t)
	m := registerAndLogIn(tb)
	tb.visit("/threads")
	if got := tb.text("[data-testid=verify-banner]"); !strings.Contains(got, "Non hai ancora confermato") {
		tb.fatalf("no reminder to confirm the address: %q", got)
	}
	tb.checkAccessibility("banner")

	tb.visit("/login")
	tb.click("[data-testid=forgot-link]")
	tb.checkAccessibility("forgotten password")
	tb.fill(map[string]string{"#f-email": m.email})
	tb.click("[data-testid=forgot-form] button[type=submit]")
	if got := tb.text("[data-testid=reset-sent]"); !strings.Contains(got, "riceverai a breve") {
		tb.fatalf("after asking for a link: %q", got)
	}
	tb.checkAccessibility("reset link sent")

	tb.visit("/password/reset?token=" + strings.Repeat("x", 43))
	tb.checkAccessibility("new password")
	tb.fill(map[string]string{"#f-new_password": "una password nuova e lunga"})
	tb.click("[data-testid=reset-form] button[type=submit]")
	tb.waitText("main", "Questo collegamento non è valido")
	tb.checkAccessibility("new password refused")

	tb.visit("/email/verify?token=" + strings.Repeat("x", 43))
	tb.checkAccessibility("confirm the address")
}
