package server

import (
	"encoding/json"
	"strings"
	"testing"
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
