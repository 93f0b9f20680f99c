package apperr

import (
	"errors"
	"strings"
	"testing"
)

// A request with thousands of bad entries lists MaxViolations of them and
// counts the rest; its message names three.
func TestViolationsAreBounded(t *testing.T) {
	var v Violations
	for range 100000 {
		v.Add("themes[1]", "is a duplicate")
	}
	var other Violations
	other.Add("title", "is required")
	v.Merge("models[0].", &other)
	var e *Error
	if !errors.As(v.Err(), &e) || len(e.Violations) != MaxViolations || e.Unlisted != 100001-MaxViolations || v.Len() != 100001 {
		t.Fatalf("%d listed, %d unlisted, len %d", len(e.Violations), e.Unlisted, v.Len())
	}
	if msg := e.Error(); len(msg) > 200 || !strings.HasSuffix(msg, "; and 99998 more") {
		t.Fatalf("message %q", msg)
	}
}
