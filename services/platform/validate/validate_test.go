package validate

import (
	"strings"
	"testing"

	"github.com/gemella/gemella/services/platform/apperr"
)

// errText is what the violations say, "" when there are none.
func errText(v *apperr.Violations) string {
	if err := v.Err(); err != nil {
		return err.Error()
	}
	return ""
}

func TestEachRuleNamesTheFieldItRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(v *apperr.Violations)
		want  string // a part of the error; "" for none
	}{
		{"required text", func(v *apperr.Violations) { Text(v, "title", "  ", true, 10) }, "title"},
		{"optional text", func(v *apperr.Violations) { Text(v, "summary", "", false, 10) }, ""},
		{"long text", func(v *apperr.Violations) { Text(v, "title", "abcdefghijk", true, 10) }, "at most 10"},
		{"control character", func(v *apperr.Violations) { Text(v, "title", "a\x07b", true, 10) }, "control characters"},
		{"http link", func(v *apperr.Violations) { URL(v, "link", "https://example.org/x") }, ""},
		{"other scheme", func(v *apperr.Violations) { URL(v, "link", "javascript:alert(1)") }, "link"},
		{"e-mail", func(v *apperr.Violations) { Email(v, "contact.email", "a@b.it") }, ""},
		{"bad e-mail", func(v *apperr.Violations) { Email(v, "contact.email", "Ann <a@b.it>") }, "contact.email"},
		{"member e-mail", func(v *apperr.Violations) { MemberEmail(v, "email", "nome@example.it") }, ""},
		{"member e-mail without a dot", func(v *apperr.Violations) { MemberEmail(v, "email", "nome@example") }, "nome@example.it"},
		{"member e-mail missing", func(v *apperr.Violations) { MemberEmail(v, "email", "") }, "email is required"},
		{"password", func(v *apperr.Violations) { Password(v, "password", "una password lunga") }, ""},
		{"short password", func(v *apperr.Violations) { Password(v, "password", "123") }, "at least 12 characters"},
		{"blank password", func(v *apperr.Violations) { Password(v, "password", "             ") }, "must not be blank"},
		{"huge password", func(v *apperr.Violations) { Password(v, "password", strings.Repeat("x", 1025)) }, "at most 1024 bytes"},
		{"NUTS code", func(v *apperr.Violations) { TerritoryCode(v, "territory.code", "ITI1") }, ""},
		{"bad code", func(v *apperr.Violations) { TerritoryCode(v, "territory.code", "toscana") }, "territory.code"},
		{"language", func(v *apperr.Violations) { Language(v, "languages[0]", "IT") }, "ISO 639-1"},
		{"optional date", func(v *apperr.Violations) { Date(v, "start_date", "", false) }, ""},
		{"required date", func(v *apperr.Violations) { Date(v, "start_date", "", true) }, "start_date"},
		{"bad date", func(v *apperr.Violations) { Date(v, "start_date", "2015-02-30", false) }, "YYYY-MM-DD"},
		{"id", func(v *apperr.Violations) { ID(v, "practice_id", "a/b") }, "practice_id"},
		{"duplicate ids", func(v *apperr.Violations) { IDs(v, "ids", []string{"a", "a"}, 5) }, "ids[1]"},
		{"duplicate labels", func(v *apperr.Violations) { Labels(v, "themes", []string{"Lavoro", "lavoro"}, 5, 80) }, "themes[1]"},
		{"long label", func(v *apperr.Violations) { Labels(v, "themes", []string{"abcdef"}, 5, 5) }, "at most 5 characters"},
		{"too many labels", func(v *apperr.Violations) { Labels(v, "themes", []string{"a", "b"}, 1, 80) }, "at most 1 entries"},
	} {
		var v apperr.Violations
		tc.check(&v)
		got := errText(&v)
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: refused: %s", tc.name, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s: error %q does not say %q", tc.name, got, tc.want)
		}
	}
}
