package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// A client that sends Accept-Language gets the error in words of that
// language too (google.rpc.LocalizedMessage, AIP-193): on the status and
// on each field violation. Without the header, or for a language the
// portal does not speak, the body is as before.
func TestErrorsAreSaidInTheLanguageAsked(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGateway(t, backend)
	type localized struct {
		Type    string `json:"@type"`
		Locale  string `json:"locale"`
		Message string `json:"message"`
		// BadRequest
		FieldViolations []struct {
			Field            string `json:"field"`
			LocalizedMessage *struct {
				Locale  string `json:"locale"`
				Message string `json:"message"`
			} `json:"localized_message"`
		} `json:"field_violations"`
	}
	read := func(lang, method, path, body string) (top *localized, fields []localized) {
		t.Helper()
		header := map[string]string{}
		if lang != "" {
			header["Accept-Language"] = lang
		}
		var reader *strings.Reader
		if body != "" {
			reader = strings.NewReader(body)
		}
		var r response
		if reader != nil {
			r = do(t, method, base+path, header, reader)
		} else {
			r = do(t, method, base+path, header, nil)
		}
		var st struct {
			Details []localized `json:"details"`
		}
		if err := json.Unmarshal(r.body, &st); err != nil {
			t.Fatalf("%s: %v", r.body, err)
		}
		for i, d := range st.Details {
			switch {
			case strings.HasSuffix(d.Type, "LocalizedMessage"):
				top = &st.Details[i]
			case strings.HasSuffix(d.Type, "BadRequest"):
				fields = append(fields, d)
			}
		}
		return top, fields
	}

	top, fields := read("it-IT,it;q=0.9,en;q=0.5", "POST", "/v1/practices", `{"summary":"no title"}`)
	if top == nil || top.Locale != "it-IT" || top.Message == "" || strings.Contains(top.Message, "invalid") {
		t.Fatalf("Italian message: %+v", top)
	}
	if len(fields) != 1 || len(fields[0].FieldViolations) == 0 {
		t.Fatalf("no field violations: %+v", fields)
	}
	for _, fv := range fields[0].FieldViolations {
		if fv.LocalizedMessage == nil || fv.LocalizedMessage.Locale != "it-IT" || fv.LocalizedMessage.Message == "" {
			t.Errorf("field %s has no Italian words: %+v", fv.Field, fv.LocalizedMessage)
		}
	}
	// An enum value the API does not know: the values it takes, in words.
	if _, fields := read("it", "POST", "/v1/organizations", `{"name":"x","kind":"ORGANIZATION_KIND_MARTE"}`); len(fields) != 1 || len(fields[0].FieldViolations) != 1 ||
		fields[0].FieldViolations[0].LocalizedMessage == nil || !strings.HasPrefix(fields[0].FieldViolations[0].LocalizedMessage.Message, "Usa uno di questi valori: ") {
		t.Errorf("Italian words for an unknown enum value: %+v", fields)
	}
	// The gateway's own rules have their words too.
	if _, fields := read("it", "PATCH", "/v1/practices/p1", `{"id":"p2"}`); len(fields) != 1 || len(fields[0].FieldViolations) != 1 ||
		fields[0].FieldViolations[0].LocalizedMessage == nil || !strings.Contains(fields[0].FieldViolations[0].LocalizedMessage.Message, "indirizzo della richiesta") {
		t.Errorf("Italian words for a body id other than the path's: %+v", fields)
	}
	if top, _ := read("en-GB", "GET", "/v1/practices/denied", ""); top == nil || top.Locale != "en" || !strings.Contains(top.Message, "not allowed") {
		t.Errorf("English message: %+v", top)
	}
	if top, _ := read("it", "GET", "/v1/practices/down", ""); top == nil || !strings.Contains(top.Message, "riprova") || strings.Contains(top.Message, secretDetail) {
		t.Errorf("Italian message of an outage: %+v", top)
	}
	for _, lang := range []string{"", "de-DE", "not a header;;"} {
		if top, _ := read(lang, "GET", "/v1/practices/denied", ""); top != nil {
			t.Errorf("Accept-Language %q: a localized message %+v", lang, top)
		}
	}
}

// saidError is an error body as a client that asked for a language reads
// it: the status, the top LocalizedMessage and each field violation.
type saidError struct {
	status  int
	code    int
	message string
	allow   string
	words   string
	fields  []saidField
}

type saidField struct {
	field, description, words string
}

// askIn sends a request with Accept-Language lang (and header) and reads
// the error's words.
func askIn(t *testing.T, lang, method, url string, header map[string]string, body string) saidError {
	t.Helper()
	h := map[string]string{"Accept-Language": lang}
	for k, v := range header {
		h[k] = v
	}
	r := do(t, method, url, h, strings.NewReader(body))
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Type            string `json:"@type"`
			Message         string `json:"message"`
			FieldViolations []struct {
				Field            string `json:"field"`
				Description      string `json:"description"`
				LocalizedMessage *struct {
					Message string `json:"message"`
				} `json:"localized_message"`
			} `json:"field_violations"`
		} `json:"details"`
	}
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("%s %s: %s: %v", method, url, r.body, err)
	}
	out := saidError{status: r.status, code: st.Code, message: st.Message, allow: r.header.Get("Allow")}
	for _, d := range st.Details {
		switch {
		case strings.HasSuffix(d.Type, "LocalizedMessage"):
			out.words = d.Message
		case strings.HasSuffix(d.Type, "BadRequest"):
			for _, fv := range d.FieldViolations {
				f := saidField{field: fv.Field, description: fv.Description}
				if fv.LocalizedMessage != nil {
					f.words = fv.LocalizedMessage.Message
				}
				out.fields = append(out.fields, f)
			}
		}
	}
	return out
}

// A method or custom verb a path does not have is not an outage: the
// words say that it does not exist at this address, the Allow header
// lists what does; the code stays UNIMPLEMENTED and the status 405.
func TestAWrongMethodIsSaidAsSuch(t *testing.T) {
	backend, _ := startBackend(t)
	base := startGateway(t, backend)
	for _, tc := range []struct{ method, path string }{
		{"PUT", "/v1/practices"},
		{"POST", "/v1/practices/p1:bogus"},
		{"GET", "/v1/practices/p1:publish"},
	} {
		for lang, want := range map[string]string{"it": "non esiste a questo indirizzo", "en": "does not exist at this address"} {
			got := askIn(t, lang, tc.method, base+tc.path, nil, "{}")
			if got.status != http.StatusMethodNotAllowed || got.code != 12 {
				t.Errorf("%s %s: %d code %d, want 405 code 12 (UNIMPLEMENTED)", tc.method, tc.path, got.status, got.code)
			}
			if !strings.Contains(got.words, want) || !strings.Contains(got.words, "Allow") {
				t.Errorf("%s %s in %s: %q, want it to say %q and point to Allow (%q)", tc.method, tc.path, lang, got.words, want, got.allow)
			}
		}
	}
}

// A cookie-authenticated write without the anti-forgery header is said as
// such, not as a missing permission: reload the page, or send the header.
func TestAMissingCSRFHeaderIsSaidAsSuch(t *testing.T) {
	_, base := startSessionGateway(t, nil)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	logIn(t, browser, base, "ok@example.it")
	for lang, want := range map[string][]string{"it": {"ricarica la pagina", "X-CSRF-Token"}, "en": {"reload the page", "X-CSRF-Token"}} {
		req, _ := http.NewRequest(http.MethodPatch, base+"/v1/me", strings.NewReader(`{"display_name":"Chiara"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", lang)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: %d %s, want 403", lang, resp.StatusCode, raw)
		}
		var st struct {
			Details []struct {
				Type    string `json:"@type"`
				Message string `json:"message"`
			} `json:"details"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		words := ""
		for _, d := range st.Details {
			if strings.HasSuffix(d.Type, "LocalizedMessage") {
				words = d.Message
			}
		}
		for _, w := range want {
			if !strings.Contains(words, w) {
				t.Errorf("%s: %q, want words with %q", lang, words, w)
			}
		}
	}
}
