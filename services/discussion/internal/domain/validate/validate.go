// Package validate holds the field rules that the discussion aggregates
// share. Each rule adds to an apperr.Violations, so that one error names
// every bad field.
package validate

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gemella/gemella/services/platform/apperr"
	pvalidate "github.com/gemella/gemella/services/platform/validate"
)

var identifier = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Text checks a free-text field's length in characters; required means not
// blank. Control characters other than newlines and tabs are refused: they
// have no place in what people write and can hide text.
func Text(v *apperr.Violations, field, value string, required bool, max int) {
	if strings.TrimSpace(value) == "" {
		if required {
			v.Add(field, "is required")
		}
		return
	}
	if !utf8.ValidString(value) {
		v.Add(field, "must be valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(value); n > max {
		v.Addf(field, "must be at most %d characters, got %d", max, n)
	}
	for _, r := range value {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			v.Add(field, "must not contain control characters")
			return
		}
	}
}

// Line is Text for a one-line field such as a name or a title.
func Line(v *apperr.Violations, field, value string, required bool, max int) {
	if strings.ContainsAny(value, "\r\n") {
		v.Add(field, "must be one line")
		return
	}
	Text(v, field, value, required, max)
}

// ID checks a reference to a resource, here or in another service.
func ID(v *apperr.Violations, field, value string, required bool) {
	if value == "" {
		if required {
			v.Add(field, "is required")
		}
		return
	}
	if !identifier.MatchString(value) {
		v.Add(field, "must be a resource id (letters, digits, '-' or '_', at most 64)")
	}
}

// MaxEmailLength is the longest address SMTP can carry (RFC 5321).
const MaxEmailLength = pvalidate.MaxEmailLength

// Email checks an address that has been normalised (trimmed, lower case):
// platform/validate.MemberEmail, which the portal's sign-up shares.
func Email(v *apperr.Violations, field, value string) { pvalidate.MemberEmail(v, field, value) }

// Index names the element of a list field, e.g. affiliations[2].
func Index(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }
