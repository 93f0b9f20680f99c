// Package validate holds the field rules the services' aggregates share.
// Each rule adds to an apperr.Violations, so that one error names every
// bad field by its API name and the rule it breaks.
package validate

import (
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gemella/gemella/services/platform/apperr"
)

var (
	territoryCode = regexp.MustCompile(`^([A-Z]{2}[A-Z0-9]{0,3}|[0-9]{2,6})$`)
	identifier    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	languageCode  = regexp.MustCompile(`^[a-z]{2}$`)
)

// Text checks a free-text field's length in characters; required means not blank.
func Text(v *apperr.Violations, field, value string, required bool, max int) {
	if strings.TrimSpace(value) == "" {
		if required {
			v.Add(field, "is required")
		}
		return
	}
	if n := utf8.RuneCountInString(value); n > max {
		v.Addf(field, "must be at most %d characters, got %d", max, n)
	}
	Plain(v, field, value)
}

// Plain refuses text that is not valid UTF-8 or holds control characters
// other than tabs and line breaks: they have no place in what people write
// and can hide text. The gateway refuses them too; gRPC callers reach the
// service directly.
func Plain(v *apperr.Violations, field, value string) {
	if !utf8.ValidString(value) {
		v.AddReason(field, apperr.ReasonFieldInvalidUTF8, "must be valid UTF-8 text")
		return
	}
	for _, r := range value {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f) {
			v.AddReason(field, apperr.ReasonFieldControlCharacter, "must not contain control characters")
			return
		}
	}
}

// URL checks an optional http(s) link.
func URL(v *apperr.Violations, field, value string) {
	if value == "" {
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.Add(field, "must be an http or https URL")
	}
}

// TerritoryCode checks an optional ISTAT (digits) or NUTS (e.g. ITI1) code.
func TerritoryCode(v *apperr.Violations, field, value string) {
	if value != "" && !territoryCode.MatchString(value) {
		v.Add(field, "must be an ISTAT code (digits) or a NUTS code such as ITI1")
	}
}

// Date checks an optional calendar date YYYY-MM-DD; required means not empty.
func Date(v *apperr.Violations, field, value string, required bool) {
	if value == "" {
		if required {
			v.Add(field, "is required (YYYY-MM-DD)")
		}
		return
	}
	if _, err := time.Parse(time.DateOnly, value); err != nil {
		v.Add(field, "must be a date YYYY-MM-DD")
	}
}

// ID checks a reference to another resource.
func ID(v *apperr.Violations, field, value string) {
	if !identifier.MatchString(value) {
		v.Add(field, "must be a resource id")
	}
}

// IDs checks a list of references: each an id, none twice.
func IDs(v *apperr.Violations, field string, ids []string, max int) {
	if len(ids) > max {
		v.Addf(field, "must have at most %d entries", max)
	}
	seen := map[string]bool{}
	for i, id := range ids {
		f := Index(field, i)
		ID(v, f, id)
		if seen[id] {
			v.Add(f, "is a duplicate")
		}
		seen[id] = true
	}
}

// Labels checks a list of short labels: non-blank, at most maxLen
// characters, no duplicates ignoring case.
func Labels(v *apperr.Violations, field string, values []string, max, maxLen int) {
	if len(values) > max {
		v.Addf(field, "must have at most %d entries", max)
	}
	seen := map[string]bool{}
	for i, s := range values {
		f := Index(field, i)
		switch {
		case strings.TrimSpace(s) == "":
			v.Add(f, "must not be blank")
		case utf8.RuneCountInString(s) > maxLen:
			v.Addf(f, "must be at most %d characters", maxLen)
		case seen[strings.ToLower(s)]:
			v.Add(f, "is a duplicate")
		default:
			Plain(v, f, s)
		}
		seen[strings.ToLower(s)] = true
	}
}

// Index names the element of a list field, e.g. transfers[2].
func Index(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// Email checks an optional e-mail address.
func Email(v *apperr.Violations, field, value string) {
	if value == "" {
		return
	}
	if a, err := mail.ParseAddress(value); err != nil || a.Address != value {
		v.Add(field, "must be an e-mail address")
	}
}

// MaxEmailLength bounds a member's e-mail address (RFC 5321's path limit).
const MaxEmailLength = 254

// MemberEmail checks the required e-mail address a member signs up and
// logs in with: stricter than Email (a domain with a dot), so that a typo
// such as nome@example is caught before a link is mailed to it. The
// community service and the portal's sign-up share it.
func MemberEmail(v *apperr.Violations, field, value string) {
	if value == "" {
		v.Add(field, "is required")
		return
	}
	if len(value) > MaxEmailLength {
		v.Addf(field, "must be at most %d characters", MaxEmailLength)
		return
	}
	a, err := mail.ParseAddress(value)
	if err != nil || a.Address != value || !strings.Contains(value[strings.LastIndex(value, "@")+1:], ".") {
		v.Add(field, "must be an e-mail address such as nome@example.it")
	}
}

// Password rules. The upper bound keeps a request from making the server
// hash megabytes.
const (
	MinPasswordLength = 12
	MaxPasswordBytes  = 1024
)

// Password checks a new password: the community service when it stores
// one, and the portal before it sends a sign-up it may not send yet.
func Password(v *apperr.Violations, field, password string) {
	switch {
	case password == "":
		v.Add(field, "is required")
	case len(password) > MaxPasswordBytes:
		v.Addf(field, "must be at most %d bytes", MaxPasswordBytes)
	case utf8.RuneCountInString(password) < MinPasswordLength:
		v.Addf(field, "must be at least %d characters", MinPasswordLength)
	case strings.TrimSpace(password) == "":
		v.Add(field, "must not be blank")
	}
}

// Language checks an ISO 639-1 code.
func Language(v *apperr.Violations, field, value string) {
	if !languageCode.MatchString(value) {
		v.Add(field, "must be an ISO 639-1 code of two lower-case letters, e.g. it")
	}
}
