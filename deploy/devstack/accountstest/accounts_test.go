// Package accountstest checks accounts that recover on the whole devstack:
// real services, embedded NATS and FerretDB, the gateway's REST API, and
// the devstack's SMTP mailbox on loopback, from which the links are read
// as a member would read them.
package accountstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/deploy/devstack/stack"
	"github.com/gemella/gemella/services/notification/mailbox"
)

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) call(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (c client) must(method, path string, body any) map[string]any {
	c.t.Helper()
	code, out := c.call(method, path, body)
	if code != http.StatusOK {
		c.t.Fatalf("%s %s: %d %v", method, path, code, out)
	}
	return out
}

// reasonOf is the ErrorInfo reason of an error body.
func reasonOf(body map[string]any) string {
	details, _ := body["details"].([]any)
	for _, d := range details {
		if m, ok := d.(map[string]any); ok && m["reason"] != nil {
			return fmt.Sprint(m["reason"])
		}
	}
	return ""
}

// tokenRx finds a link's token in a message as sent (quoted-printable
// encodes "=" as "=3D"; soft line breaks are removed first).
var tokenRx = regexp.MustCompile(`(/password/reset|/email/verify)\?token=(?:3D)?([A-Za-z0-9_-]{43})`)

// linkIn waits for the n-th message to addr and returns the path and token
// of its link.
func linkIn(t *testing.T, box *mailbox.Mailbox, addr string, n int) (path, token string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var mine []mailbox.Message
		for _, m := range box.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, addr) {
					mine = append(mine, m)
				}
			}
		}
		if len(mine) >= n {
			raw := strings.ReplaceAll(string(mine[n-1].Raw), "=\r\n", "")
			m := tokenRx.FindStringSubmatch(raw)
			if m == nil {
				t.Fatalf("message %d to %s has no link:\n%s", n, addr, raw)
			}
			return m[1], m[2]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages to %s, want %d", len(mine), addr, n)
		}
		select {
		case <-box.Changed():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func countTo(box *mailbox.Mailbox, addr string) int {
	n := 0
	for _, m := range box.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				n++
			}
		}
	}
	return n
}

// A newcomer signs up and confirms the address with the mailed link; later
// they forget the password, ask for a reset (an unknown address gets the
// very same answer), follow the mailed link, set a new password and log in
// with it; the session opened before the reset is refused, and the link
// answers a second time that it has been used.
func TestVerifyEmailAndResetPasswordThroughTheMailbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole devstack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	opts := stack.Config{FreePorts: true}.Options(t.TempDir())
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := stack.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	base, box := st.GatewayURL(), st.Mailbox()
	anon := client{t: t, base: base}
	const email, oldPassword, newPassword = "anna.rossi@example.it", "una password abbastanza lunga", "la nuova password di Anna"

	m := anon.must(http.MethodPost, "/v1/members", map[string]any{
		"member":   map[string]any{"display_name": "Anna Rossi", "email": email},
		"password": oldPassword, "privacy_consent": true,
	})
	if m["email_verified"] != false {
		t.Fatalf("a new member: email_verified %v, want false", m["email_verified"])
	}
	path, token := linkIn(t, box, email, 1)
	if path != "/email/verify" {
		t.Fatalf("the sign-up message links to %s", path)
	}
	if v := anon.must(http.MethodPost, "/v1/members:verifyEmail", map[string]any{"token": token}); v["email_verified"] != true {
		t.Fatalf("after verification: %v", v)
	}
	if code, out := anon.call(http.MethodPost, "/v1/members:verifyEmail", map[string]any{"token": token}); code != http.StatusConflict || reasonOf(out) != "LINK_USED" {
		t.Errorf("a verification link used twice: %d %v, want 409 LINK_USED", code, out)
	}

	old := client{t: t, base: base}
	old.token, _ = anon.must(http.MethodPost, "/v1/sessions", map[string]any{"email": email, "password": oldPassword})["token"].(string)
	if me := old.must(http.MethodGet, "/v1/me", nil); me["email_verified"] != true {
		t.Fatalf("/v1/me after verification: %v", me)
	}

	codeKnown, known := anon.call(http.MethodPost, "/v1/members:requestPasswordReset", map[string]any{"email": email})
	codeUnknown, unknown := anon.call(http.MethodPost, "/v1/members:requestPasswordReset", map[string]any{"email": "nessuno@example.it"})
	if codeKnown != http.StatusOK || codeUnknown != codeKnown || fmt.Sprint(known) != fmt.Sprint(unknown) {
		t.Fatalf("reset for a known address %d %v, for an unknown one %d %v: want the same answer", codeKnown, known, codeUnknown, unknown)
	}
	path, token = linkIn(t, box, email, 2)
	if path != "/password/reset" {
		t.Fatalf("the reset message links to %s", path)
	}
	if code, out := anon.call(http.MethodPost, "/v1/members:resetPassword", map[string]any{"token": token, "new_password": "corta"}); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out), "new_password") {
		t.Errorf("a short password: %d %v, want 400 naming new_password", code, out)
	}
	anon.must(http.MethodPost, "/v1/members:resetPassword", map[string]any{"token": token, "new_password": newPassword})

	if code, out := old.call(http.MethodGet, "/v1/me", nil); code != http.StatusUnauthorized {
		t.Errorf("the session from before the reset: %d %v, want 401", code, out)
	}
	if code, _ := anon.call(http.MethodPost, "/v1/sessions", map[string]any{"email": email, "password": oldPassword}); code != http.StatusUnauthorized {
		t.Errorf("log in with the old password: %d, want 401", code)
	}
	fresh := client{t: t, base: base}
	fresh.token, _ = anon.must(http.MethodPost, "/v1/sessions", map[string]any{"email": email, "password": newPassword})["token"].(string)
	fresh.must(http.MethodGet, "/v1/me", nil)

	code, out := anon.call(http.MethodPost, "/v1/members:resetPassword", map[string]any{"token": token, "new_password": "ancora un'altra password"})
	if code != http.StatusConflict || reasonOf(out) != "LINK_USED" || !strings.Contains(fmt.Sprint(out["message"]), "already been used") {
		t.Errorf("the reset link a second time: %d %v, want 409 LINK_USED saying it was used", code, out)
	}
	if code, out := anon.call(http.MethodPost, "/v1/members:resetPassword", map[string]any{"token": strings.Repeat("x", 43), "new_password": newPassword}); code != http.StatusBadRequest || reasonOf(out) != "LINK_INVALID" {
		t.Errorf("a made-up link: %d %v, want 400 LINK_INVALID", code, out)
	}
	// Changing the password ends the member's other sessions, not this one.
	second := client{t: t, base: base}
	second.token, _ = anon.must(http.MethodPost, "/v1/sessions", map[string]any{"email": email, "password": newPassword})["token"].(string)
	if code, out := fresh.call(http.MethodPost, "/v1/me:changePassword", map[string]any{"current_password": "non è questa", "new_password": "la terza password di Anna"}); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out), "current_password") {
		t.Errorf("a wrong current password: %d %v, want 400 naming current_password", code, out)
	}
	fresh.must(http.MethodPost, "/v1/me:changePassword", map[string]any{"current_password": newPassword, "new_password": "la terza password di Anna"})
	fresh.must(http.MethodGet, "/v1/me", nil)
	if code, _ := second.call(http.MethodGet, "/v1/me", nil); code != http.StatusUnauthorized {
		t.Errorf("the other session after a password change: %d, want 401", code)
	}

	if n := countTo(box, "nessuno@example.it"); n != 0 {
		t.Errorf("%d messages to an address nobody registered", n)
	}
}
