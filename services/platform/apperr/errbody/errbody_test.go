package errbody

import (
	"encoding/json"
	"testing"
)

func TestReadsAStatusBody(t *testing.T) {
	var body map[string]any
	raw := `{"code":3,"message":"bad","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"FIELD_REQUIRED"},
	 {"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"title","description":"is required"}]}]}`
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatal(err)
	}
	if got := StatusName(body); got != "INVALID_ARGUMENT" {
		t.Errorf("StatusName = %q, want INVALID_ARGUMENT", got)
	}
	v := BadRequestViolations(body)
	if len(v) != 1 || v[0]["field"] != "title" {
		t.Errorf("BadRequestViolations = %v, want one on title", v)
	}
	if StatusName(map[string]any{}) != "" || BadRequestViolations(map[string]any{}) != nil {
		t.Error("an empty body should have no status and no violations")
	}
}
