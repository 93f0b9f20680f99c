package portal

import (
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// serviceError is one error text in the services' sources.
type serviceError struct {
	// kind is "rule" for a field violation's rule, "refusal" for the
	// message of any other error.
	kind, text, where string
}

// serviceErrors reads every error text the services can return from their
// sources: the rules of field violations (Violations.Add/Addf,
// apperr.Invalid) and the messages of apperr's constructors, with the
// rules that the policies compose into them. A format's verbs become
// sample values.
func serviceErrors(t *testing.T) []serviceError {
	t.Helper()
	root := filepath.Join("..", "..", "services")
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("the services' sources are not at %s: %v", root, err)
	}
	var out []serviceError
	seen := map[string]bool{}
	add := func(kind, text, where string) {
		if text == "" || seen[kind+text] || !hasWords(text) || wrapper.MatchString(text) {
			return
		}
		seen[kind+text] = true
		out = append(out, serviceError{kind: kind, text: sample(text), where: where})
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.Contains(path, string(filepath.Separator)+"cmd"+string(filepath.Separator)) {
			return err
		}
		fset := gotoken.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			where := fset.Position(call.Pos()).String()
			arg := func(i int) string {
				if i < 0 || i >= len(call.Args) {
					return ""
				}
				return literal(call.Args[i])
			}
			switch name := callName(call); name {
			case "apperr.Invalid":
				add("rule", arg(1), where)
			case "Add", "Addf":
				// Violations.Add(field, rule); a configuration problem's
				// Addf(format, args) has no literal second argument.
				if len(call.Args) >= 2 {
					add("rule", arg(1), where)
				}
			case "apperr.NotFound", "apperr.AlreadyExists", "apperr.FailedPrecondition", "apperr.Aborted",
				"apperr.PermissionDenied", "apperr.Unauthenticated", "apperr.ResourceExhausted":
				add("refusal", arg(0), where)
			case "apperr.Unavailable":
				add("refusal", arg(1), where)
			case "decide", "decidePractice":
				// The policies' rules, sent as "<what> <id>: <rule>".
				add("refusal", arg(len(call.Args)-1), where)
			case "allow":
				add("refusal", arg(2), where)
			case "ErrIllegalMove":
				if what := arg(2); what != "" {
					add("refusal", "need n-1 is open: it cannot be "+what, where)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func callName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok && x.Name == "apperr" {
			return "apperr." + fn.Sel.Name
		}
		return fn.Sel.Name
	case *ast.Ident:
		return fn.Name
	}
	return ""
}

// literal is the text of a string expression: a literal, a concatenation
// (other parts become %s) or fmt.Sprintf of a literal; "" otherwise.
func literal(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == gotoken.STRING {
			s, _ := strconv.Unquote(x.Value)
			return s
		}
	case *ast.BinaryExpr:
		if x.Op == gotoken.ADD {
			l, r := literal(x.X), literal(x.Y)
			if l == "" && r == "" {
				return ""
			}
			if l == "" {
				l = "%s"
			}
			if r == "" {
				r = "%s"
			}
			return l + r
		}
	case *ast.CallExpr:
		if callName(x) == "Sprintf" && len(x.Args) > 0 {
			return literal(x.Args[0])
		}
	}
	return ""
}

// wrapper is a format that puts a rule, added on its own, after a name.
var wrapper = regexp.MustCompile(`^\w+ %s: %s$`)

var verbs = regexp.MustCompile(`%[-+# 0-9.]*[sdqvt]`)

// hasWords reports a text with words of its own: "%s: %s" only passes
// another error's text along.
func hasWords(s string) bool {
	return regexp.MustCompile(`[a-z]{3,}`).MatchString(verbs.ReplaceAllString(s, ""))
}

// sample fills a format's verbs the way real errors do.
func sample(format string) string {
	return verbs.ReplaceAllStringFunc(format, func(v string) string {
		switch v[len(v)-1] {
		case 'd':
			return "3"
		case 'q':
			return `"draft_1"`
		}
		return "draft_1"
	})
}

// Every error text in the services' sources is explained by the portal in
// words of its own, in both languages: none falls to the generic sentence,
// none shows a missing message or a format's leftovers.
func TestEveryServiceErrorIsTranslated(t *testing.T) {
	errs := serviceErrors(t)
	if len(errs) < 150 {
		t.Fatalf("found %d error texts in the services; the walk is broken", len(errs))
	}
	broken := regexp.MustCompile(`\[[a-z_]+\.[a-z_.]+\]|%!|\(MISSING\)`)
	for _, lang := range []Lang{Italian, English} {
		w := wording{l: newLocale(lang, time.Now)}
		for _, e := range errs {
			table := refusalWords
			if e.kind == "rule" {
				table = ruleWords
			}
			got, ok := w.say(table, e.text)
			if !ok {
				t.Errorf("%s: no translation for %s %q (%s)", lang, e.kind, e.text, e.where)
				continue
			}
			if broken.MatchString(got) {
				t.Errorf("%s: %q becomes %q", lang, e.text, got)
			}
		}
	}
}

// The messages the issue quotes, as a civil servant reads them.
func TestServiceErrorsInWords(t *testing.T) {
	it := wording{l: newLocale(Italian, time.Now), orgs: orgNames{"o-cal": &catalogv1.Organization{Id: "o-cal", Name: "Regione Calabria"}},
		names: map[string]string{"fdd2477b-9a0c": "C"}}
	en := wording{l: newLocale(English, time.Now), orgs: it.orgs, names: it.names}
	for _, tc := range []struct {
		table    []pattern
		text     string
		it, en   string
		notAfter string
	}{
		{ruleWords, "is required", "Campo obbligatorio.", "This field is required.", ""},
		{ruleWords, "is required before the practice is submitted", "Va compilato prima di inviare la buona pratica per la validazione.", "Fill this in before sending the practice for validation.", ""},
		{ruleWords, "must be at most 200 characters, got 250", "Scrivi al massimo 200 caratteri (ora sono 250).", "Write at most 200 characters (now 250).", ""},
		{ruleWords, "must have at most 1 entries", "Indica al massimo 1 voce.", "Give at most 1 entry.", ""},
		{refusalWords, "transfer fdd2477b-9a0c is planned: it cannot become partially_adopted (allowed from planned: in_progress, dropped)",
			"Il modello C è «pianificato»: non può diventare «adottato in parte». Da qui può diventare «in corso» e «abbandonato».",
			"Model C is “planned”: it cannot become “partially adopted”. From here it can become “in progress” and “dropped”.", ""},
		// Through the API no page names the transfer: the service's message does.
		{refusalWords, "transfer 0000-unknown of model B is planned: it cannot become adopted (allowed from planned: in_progress, dropped)",
			"Il modello B è «pianificato»: non può diventare «adottato». Da qui può diventare «in corso» e «abbandonato».",
			"Model B is “planned”: it cannot become “adopted”. From here it can become “in progress” and “dropped”.", ""},
		{refusalWords, "transfer 0000-unknown is planned: it cannot become adopted (allowed from planned: in_progress, dropped)",
			"Il trasferimento è «pianificato»: non può diventare «adottato». Da qui può diventare «in corso» e «abbandonato».",
			"The transfer is “planned”: it cannot become “adopted”. From here it can become “in progress” and “dropped”.", ""},
		{refusalWords, "twinning TOSCA-2012 is completed: log_activity is not allowed (allowed from completed: none)",
			"Il gemellaggio è «concluso»: non si può registrare attività. In questo stato non si può fare altro.",
			"The twinning is “completed”: you cannot log activities. Nothing else can be done in this state.", ""},
		{refusalWords, "practice p-1 is draft: publish is not allowed (allowed from draft: update, submit, delete)",
			"La buona pratica è «bozza»: non si può validarla e pubblicarla. In questo stato si può: modificarla, inviarla per la validazione ed eliminarla.",
			"The practice is “draft”: you cannot validate and publish it. In this state you can: edit it, send it for validation and delete it.", ""},
		{refusalWords, "too many failed log-ins: try again in 2s", "Troppi accessi non riusciti: riprova tra 2 secondi.", "Too many failed log-ins: try again in 2 seconds.", ""},
		{refusalWords, "too many failed log-ins: try again in 1s", "Troppi accessi non riusciti: riprova tra 1 secondo.", "Too many failed log-ins: try again in 1 second.", ""},
		{refusalWords, "twinning TOSCA-2012: only a coordinator may cancel it", "Solo chi coordina può annullarlo.", "Only a coordinator can cancel it.", ""},
		{refusalWords, "only an editor of organisation o-cal may write its needs", "Solo chi redige per Regione Calabria può scriverne le richieste.", "Only an editor of Regione Calabria can write its requests.", ""},
		{refusalWords, "post p-1 can be edited for 15m0s after writing it; that time has passed",
			"Un messaggio si può modificare solo entro 15 minuti da quando è stato scritto: il tempo è passato.",
			"A post can be edited within 15 minutes of writing it: that time has passed.", ""},
	} {
		if got, _ := it.say(tc.table, tc.text); got != tc.it {
			t.Errorf("%q in Italian:\n got %q\nwant %q", tc.text, got, tc.it)
		}
		if got, _ := en.say(tc.table, tc.text); got != tc.en {
			t.Errorf("%q in English:\n got %q\nwant %q", tc.text, got, tc.en)
		}
	}
}

// A stable reason, when a service sends one, comes before the words; an
// unknown one with unknown words gets the generic sentence of the page's
// language, never the service's English.
func TestReasonsComeFirstAndUnknownErrorsStayInTheLanguage(t *testing.T) {
	w := wording{l: newLocale(Italian, time.Now)}
	st, _ := status.New(codes.FailedPrecondition, "something new went wrong with id-7").WithDetails(&errdetails.ErrorInfo{Reason: "NO_SUCH_REASON", Domain: "gemella"})
	if got := w.refusal(st, "form.not_now"); got != "Questa operazione non è possibile in questo momento." {
		t.Errorf("unknown refusal = %q", got)
	}
	v := &errdetails.BadRequest_FieldViolation{Field: "title", Description: "must rhyme", Reason: "RHYME"}
	if got := w.fieldSentence(v); got != "Valore non accettato: controllalo e riprova." {
		t.Errorf("unknown rule = %q", got)
	}
	v.Description = "is required"
	if got := w.fieldSentence(v); got != "Campo obbligatorio." {
		t.Errorf("known rule with an unknown reason = %q", got)
	}
	v.LocalizedMessage = &errdetails.LocalizedMessage{Locale: "it-IT", Message: "Il titolo deve fare rima."}
	v.Description = "must rhyme"
	if got := w.fieldSentence(v); got != "Il titolo deve fare rima." {
		t.Errorf("a localized message in the page's language = %q", got)
	}
}

// serviceMoves reads every move the services can name in a refused state
// move, by kind ("practice", "twinning", "report", …): the constants of
// type Move in their domain packages, and the moves named by a literal in
// apperr's WithMove (the kind is its subject's collection, "offers/…").
func serviceMoves(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..", "services")
	out := map[string][]string{}
	seen := map[string]bool{}
	add := func(kind, move string) {
		if kind == "" || move == "" || seen[kind+"."+move] {
			return
		}
		seen[kind+"."+move] = true
		out[kind] = append(out[kind], move)
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			!strings.Contains(path, string(filepath.Separator)+"domain"+string(filepath.Separator)) {
			return err
		}
		f, err := parser.ParseFile(gotoken.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Move" {
					for _, v := range n.Values {
						add(f.Name.Name, literal(v))
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "WithMove" && len(n.Args) >= 3 {
					if bin, ok := n.Args[0].(*ast.BinaryExpr); ok {
						collection := strings.TrimSuffix(literal(bin.X), "/")
						add(strings.TrimSuffix(collection, "s"), literal(n.Args[2]))
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every move a service can name, allowed or refused, has its own verb in
// both languages, never the fallback "farlo" / "do that": a refused move
// and the list of allowed ones say what each move does.
func TestEveryMoveHasAVerb(t *testing.T) {
	moves := serviceMoves(t)
	for _, kind := range []string{"practice", "twinning", "report", "offer"} {
		if len(moves[kind]) == 0 {
			t.Fatalf("found no moves of %s in the services; the walk is broken (%v)", kind, moves)
		}
	}
	// How each kind's refusal is worded (see ErrIllegalMove of each
	// domain package), and the policies that name a move.
	formats := map[string][]string{
		"practice": {"practice p-1 is draft: %[1]s is not allowed (allowed from draft: %[2]s)"},
		"twinning": {"twinning TOSCA-2012 is draft: %[1]s is not allowed (allowed from draft: %[2]s)",
			"twinning TOSCA-2012: only a coordinator may %[1]s it",
			"twinning TOSCA-2012: only a coordinator or an editor of an offering party may %[1]s it"},
		"report": {"the report is draft: %[1]s is not allowed (allowed from draft: %[2]s)",
			"only a coordinator may %[1]s a report"},
	}
	for _, lang := range []Lang{Italian, English} {
		w := wording{l: newLocale(lang, time.Now)}
		fallback := w.l.T("verb.other")
		for kind, ms := range moves {
			for _, m := range ms {
				if got := w.verb(kind, m); got == fallback {
					t.Errorf("%s: the %s move %q has no verb: it says %q", lang, kind, m, got)
				}
				for _, format := range formats[kind] {
					text := fmt.Sprintf(format, m, m)
					got, _ := w.say(refusalWords, text)
					if strings.Contains(got, fallback) {
						t.Errorf("%s: %q says %q", lang, text, got)
					}
				}
			}
		}
	}
}

// An ended session or a missing right is the visitor's, not an operator's
// error: a log-out followed by a page no longer logs errors.
func TestBackendFailuresAreLoggedByWhoseTheyAre(t *testing.T) {
	for code, want := range map[codes.Code]slog.Level{
		codes.Unauthenticated: slog.LevelInfo, codes.PermissionDenied: slog.LevelInfo, codes.NotFound: slog.LevelInfo,
		codes.InvalidArgument: slog.LevelInfo, codes.Unavailable: slog.LevelWarn, codes.DeadlineExceeded: slog.LevelWarn,
		codes.Internal: slog.LevelError, codes.Unknown: slog.LevelError,
	} {
		if got := backendLogLevel(status.Error(code, "x")); got != want {
			t.Errorf("%s: logged at %s, want %s", code, got, want)
		}
	}
}
