package browsertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// A few set-up steps use the REST API, for what the portal has no page
// for (an administrator verifying an affiliation, granting a role).

var apiClient = &http.Client{Timeout: 20 * time.Second}

// api calls the gateway's REST API with a bearer token and decodes the
// answer into out (when not nil); any status other than 200 fails the test.
func api(t *testing.T, method, path, token string, body, out any) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, suite.gateway+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %s: %s", method, path, resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// apiSession is the part of a session the tests use.
type apiSession struct {
	Token  string `json:"token"`
	Member struct {
		ID string `json:"id"`
	} `json:"member"`
}

func apiLogIn(t *testing.T, email, password string) apiSession {
	t.Helper()
	var s apiSession
	api(t, "POST", "/v1/sessions", "", map[string]string{"email": email, "password": password}, &s)
	return s
}

// organizationID finds a demo organisation by name.
func organizationID(t *testing.T, name string) string {
	t.Helper()
	var resp struct {
		Organizations []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"organizations"`
	}
	api(t, "GET", "/v1/organizations?"+url.Values{"page_size": {"100"}}.Encode(), "", nil, &resp)
	for _, o := range resp.Organizations {
		if o.Name == name {
			return o.ID
		}
	}
	t.Fatalf("no organisation named %q", name)
	return ""
}
