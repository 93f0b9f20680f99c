package apperr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"testing"
)

var upperSnake = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// Every Reason constant of reasons.go is in the registry, once, with a
// description; clients translate from that list.
func TestEveryReasonIsRegisteredOnce(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "reasons.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[Reason]bool{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
				continue
			}
			for _, v := range vs.Values {
				lit := v.(*ast.BasicLit)
				s, _ := strconv.Unquote(lit.Value)
				declared[Reason(s)] = true
			}
		}
	}
	if len(declared) < 40 {
		t.Fatalf("found only %d Reason constants in reasons.go", len(declared))
	}
	seen := map[Reason]bool{}
	for _, info := range Reasons() {
		switch {
		case seen[info.Reason]:
			t.Errorf("%s registered twice", info.Reason)
		case !declared[info.Reason]:
			t.Errorf("%s registered but not declared as a constant", info.Reason)
		case !upperSnake.MatchString(string(info.Reason)):
			t.Errorf("%s is not UPPER_SNAKE", info.Reason)
		case info.Description == "" || info.HTTPStatus < 400 || info.HTTPStatus > 599:
			t.Errorf("%s: description %q, status %d", info.Reason, info.Description, info.HTTPStatus)
		}
		seen[info.Reason] = true
	}
	for r := range declared {
		if !seen[r] {
			t.Errorf("%s is declared but not in the registry", r)
		}
	}
	for k := KindUnknown; k <= KindResourceExhausted; k++ {
		if !DefaultReason(k).Known() {
			t.Errorf("default reason of %v is not registered", k)
		}
	}
}

func TestReasons(t *testing.T) {
	var v Violations
	v.Add("title", "is required")
	if got := ReasonOf(v.Err()); got != ReasonFieldRequired {
		t.Errorf("only required fields: %s", got)
	}
	v.Add("summary", "must be at most 300 characters, got 301")
	if got := ReasonOf(v.Err()); got != ReasonFieldTooLong {
		t.Errorf("required and too long: %s", got)
	}
	cases := []struct {
		err  error
		want Reason
	}{
		{NotFound("x"), ReasonNotFound},
		{NotFound("x").WithReason(ReasonPracticeNotFound), ReasonPracticeNotFound},
		{FailedPrecondition("x").WithMove("practices/p", "DRAFT", "publish", "submit"), ReasonIllegalStateMove},
		{Aborted("x"), ReasonConcurrentUpdate},
		{Invalid("page_token", "is not a token this service issued"), ReasonPageTokenInvalid},
		{InvalidBecause("q", ReasonFieldControlCharacter, "no"), ReasonFieldControlCharacter},
		{errString("plain"), ReasonInternal},
	}
	for _, c := range cases {
		if got := ReasonOf(c.err); got != c.want {
			t.Errorf("ReasonOf(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
