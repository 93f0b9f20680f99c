// Package errbody reads the gateway's error body — google.rpc.Status as
// JSON, decoded into a map — for the tests of every service, which check
// REST answers without depending on the gateway's types.
package errbody

import (
	"strings"

	"google.golang.org/grpc/codes"
)

// StatusName is the body's code as its upper-snake name, e.g.
// "INVALID_ARGUMENT"; "" when the body has no numeric code.
func StatusName(body map[string]any) string {
	n, ok := body["code"].(float64)
	if !ok {
		return ""
	}
	var b strings.Builder
	for i, r := range codes.Code(n).String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// BadRequestViolations are the field violations of the body's
// google.rpc.BadRequest detail.
func BadRequestViolations(body map[string]any) []map[string]any {
	var out []map[string]any
	details, _ := body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if t, _ := m["@type"].(string); !strings.HasSuffix(t, "google.rpc.BadRequest") {
			continue
		}
		list, _ := m["field_violations"].([]any)
		for _, v := range list {
			fv, _ := v.(map[string]any)
			out = append(out, fv)
		}
	}
	return out
}
