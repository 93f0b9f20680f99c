package stack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// A log-out ends the token at every service, not only at the discussion
// service that issued it: the catalog and the twinning service hear of it
// through the NATS key-value bucket they watch, and refuse the token.
// Another session of the same member goes on working.
func TestLogOutEndsTheTokenAtEveryService(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startForTest(ctx, t, t.TempDir(), true)
	base := st.GatewayURL()
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	logIn := func() string {
		t.Helper()
		status, body := call(http.MethodPost, "/v1/sessions", "", `{"email":"editor.toscana@demo.gemella.test","password":"`+demo.AccountPassword+`"}`)
		var s struct{ Token string }
		if status != 200 || json.Unmarshal([]byte(body), &s) != nil || s.Token == "" {
			t.Fatalf("log in: %d %s", status, body)
		}
		return s.Token
	}
	// One call to each service that reads the token: a bad token is a 401
	// even where a visitor may read.
	services := map[string]string{"catalog": "/v1/practices?page_size=1", "twinning": "/v1/twinnings?page_size=1", "discussion": "/v1/me"}

	token, other := logIn(), logIn()
	for name, path := range services {
		if status, body := call(http.MethodGet, path, token, ""); status != 200 {
			t.Fatalf("%s before the log-out: %d %s", name, status, body)
		}
	}
	if status, body := call(http.MethodDelete, "/v1/sessions/current", token, ""); status != 200 {
		t.Fatalf("log out: %d %s", status, body)
	}
	loggedOut := time.Now()
	deadline := loggedOut.Add(30 * time.Second)
	for name, path := range services {
		for {
			status, body := call(http.MethodGet, path, token, "")
			if status == http.StatusUnauthorized {
				if !strings.Contains(body, "logged out") || !strings.Contains(body, `"SESSION_ENDED"`) {
					t.Errorf("%s: 401 without saying why: %s", name, body)
				}
				break
			}
			if status != 200 || time.Now().After(deadline) {
				t.Fatalf("%s still answers %d to the ended session's token: %s", name, status, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("every service refused the token %s after the log-out", time.Since(loggedOut).Round(time.Millisecond))
	for name, path := range services {
		if status, body := call(http.MethodGet, path, other, ""); status != 200 {
			t.Errorf("%s refuses the member's other session: %d %s", name, status, body)
		}
	}
}
