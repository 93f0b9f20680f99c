package feed

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The feed is as strict about its query as the rest of the API: an
// unknown, repeated, badly escaped or non-UTF-8 parameter is a 400 naming
// it, before any stream is opened.
func TestTheFeedRefusesABadQuery(t *testing.T) {
	h := &Hub{}
	for query, want := range map[string]string{
		"bogus=1":                     `"field":"bogus"`,
		"twinning_id=a&twinning_id=b": `"FIELD_DUPLICATE"`,
		"twinning_id=%FF":             `"FIELD_INVALID_UTF8"`,
		"practice_id=%zz":             `"field":"query"`,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/events?"+query, nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("?%s: %d %s, want 400 with %s", query, rec.Code, rec.Body, want)
		}
	}
	for _, ok := range []string{"", "twinning_id=tw1", "practice_id=p1&last_event_id=4"} {
		if field, _, _ := badQuery(ok); field != "" {
			t.Errorf("?%s refused on %s", ok, field)
		}
	}
}
