package envdoc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const root = "../../.."

// The README's tables and deploy/env are what the code says: a variable
// added, renamed, re-defaulted or re-described without `make envdoc`
// fails here.
func TestDocumentsAreCurrent(t *testing.T) {
	files, err := Generate(root, Binaries())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v: run make envdoc", path, err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s differs from the configuration structs at line %d: run make envdoc\n%s", path, firstDifference(string(got), want), lineDiff(string(got), want))
		}
	}
	envFiles, err := filepath.Glob(filepath.Join(root, EnvDir, "*.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range envFiles {
		rel, _ := filepath.Rel(root, f)
		if _, ok := files[filepath.ToSlash(rel)]; !ok {
			t.Errorf("%s documents no binary: delete it, or add the binary to envdoc.Binaries", rel)
		}
	}
}

// The variables the issue found undocumented are in the tables: the walk
// reaches nested and embedded structs.
func TestEveryKindOfVariableIsFound(t *testing.T) {
	md, err := Markdown(Binaries())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"GEMELLA_CATALOG_MONGO_TIMEOUT", "GEMELLA_TWINNING_MONGO_TIMEOUT", "GEMELLA_DISCUSSION_MONGO_TIMEOUT",
		"GEMELLA_REQUEST_TIMEOUT", "GEMELLA_MAX_BODY_BYTES", "GEMELLA_DISCUSSION_ARGON2_MEMORY_KIB",
		"GEMELLA_DISCUSSION_ARGON2_MAX_CONCURRENT", "GEMELLA_CATALOG_MATCH_TEXT", "GEMELLA_CATALOG_MATCH_CANDIDATES",
		"GEMELLA_PORTAL_CSRF_KEY", "GEMELLA_DISCUSSION_LOGIN_WINDOW", "GEMELLA_BOOTSTRAP_ADMIN_PASSWORD",
		"GEMELLA_NATS_PORT", "GEMELLA_DEVSTACK_FREE_PORTS",
	} {
		if !strings.Contains(md, "| `"+name+"` |") {
			t.Errorf("%s is not in the tables", name)
		}
	}
}

type documented struct {
	// Addr is where it listens.
	Addr string `env:"ADDR" envDefault:"127.0.0.1:1"`
	// Wait, when set, is how long to wait.
	Wait   time.Duration `env:"WAIT"`
	Nested nested        `envPrefix:"NESTED_"`
	Hidden func()        `env:"-"`
	// Ports are tried in turn.
	Ports []int `env:"PORTS" envSeparator:";"`
	// Limits per minute: a comment above a run of fields.
	PerMinute  int `env:"PER_MINUTE" envDefault:"5"`
	Burst      int `env:"BURST" envDefault:"2"`
	unexported int
}

type nested struct {
	// Level goes down a level.
	Level float64 `env:"LEVEL" envDefault:"0.5"`
}

type undocumented struct {
	// Addr is where it listens.
	Addr string `env:"ADDR"`

	Bare bool `env:"BARE"`
	Line bool `env:"LINE"` // Line has its comment at the end of its line.
}

func TestVarsFollowTheEnvPackagesRules(t *testing.T) {
	vars, err := Vars(documented{Addr: "127.0.0.1:1", Wait: 90 * time.Minute, Nested: nested{Level: 0.5}, Ports: []int{1, 2}, PerMinute: 5, Burst: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{
		{"ADDR", "127.0.0.1:1", "Where it listens."},
		{"WAIT", "1h30m", "When set, how long to wait."},
		{"NESTED_LEVEL", "0.5", "Level goes down a level."},
		{"PORTS", "1;2", "Tried in turn."},
		{"PER_MINUTE", "5", "Limits per minute: a comment above a run of fields."},
		{"BURST", "2", "See `PER_MINUTE`."},
	}
	if !slices.Equal(vars, want) {
		t.Fatalf("vars:\n%+v\nwant\n%+v", vars, want)
	}
	_, err = Vars(undocumented{})
	if err == nil || !strings.Contains(err.Error(), "BARE") || strings.Contains(err.Error(), "LINE") {
		t.Fatalf("one undocumented variable, BARE: %v", err)
	}
}

func firstDifference(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// lineDiff shows a few lines around the first difference.
func lineDiff(got, want string) string {
	n := firstDifference(got, want) - 1
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := n; i < n+3; i++ {
		if i < len(gl) {
			b.WriteString("  file: " + gl[i] + "\n")
		}
		if i < len(wl) {
			b.WriteString("  code: " + wl[i] + "\n")
		}
	}
	return b.String()
}
