package apitest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeSections are the README sections whose shell examples run here.
var readmeSections = []string{"## Demo accounts and who may do what", "## Try the API", "### Twinnings, community, seek and offer, the live feed"}

// The README's examples are true: its shell blocks run under bash against
// the gateway (localhost:8080 rewritten to the test's address), and every
// curl answers the status its comment names ("# 403: …"), or 2xx when it
// names none. They run twice, as a reader may: the examples are
// idempotent. Lines of the live feed are left out (no NATS here: the feed
// has its own tests), and <id> placeholders get real ids.
func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the README's examples: %v", tool, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script, lines := readmeScript(t, string(readme))
	if len(lines) < 20 {
		t.Fatalf("only %d example lines found", len(lines))
	}
	a := startAPI(t)
	host := strings.TrimPrefix(a.base, "http://")
	script = strings.ReplaceAll(script, "localhost:8080", host)
	script = strings.ReplaceAll(script, "/v1/needs/<id>/", "/v1/needs/"+a.ids["need"]+"/")
	for run := 1; run <= 2; run++ {
		statuses := runScript(t, script)
		checked := 0
		for i, line := range lines {
			want, ok := expectedStatuses(line)
			if !strings.Contains(line, "curl ") || strings.Contains(line, "login() {") || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			got := statuses[i+1]
			if len(got) == 0 {
				t.Errorf("run %d, line %q: curl never ran", run, line)
				continue
			}
			for _, code := range got {
				if ok && !want[code] || !ok && (code < 200 || code > 299) {
					t.Errorf("run %d: %s\n  answered %d, want %v", run, line, code, describe(want, ok))
				}
			}
			checked++
		}
		t.Logf("run %d: %d example lines answered as the README says", run, checked)
	}
}

// readmeScript joins the shell blocks of readmeSections into one script
// and returns its lines (line i of the script is lines[i-1]).
func readmeScript(t *testing.T, readme string) (string, []string) {
	t.Helper()
	var lines []string
	section, inBlock := "", false
	sc := bufio.NewScanner(strings.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") && !inBlock {
			section = line
			continue
		}
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock && strings.TrimPrefix(line, "```") == "sh"
			continue
		}
		if !inBlock || !contains(readmeSections, section) {
			continue
		}
		if strings.Contains(line, "/v1/events") {
			line = "# (feed) " + line
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n") + "\n", lines
}

// statusComment is the status a line's comment names: "# 403", "# 409/412".
var statusComment = regexp.MustCompile(`#\s*([1-5][0-9]{2}(?:/[1-5][0-9]{2})*)\b`)

func expectedStatuses(line string) (map[int]bool, bool) {
	m := statusComment.FindStringSubmatch(line)
	if m == nil {
		return nil, false
	}
	want := map[int]bool{}
	for _, c := range strings.Split(m[1], "/") {
		n, _ := strconv.Atoi(c)
		want[n] = true
	}
	return want, true
}

func describe(want map[int]bool, ok bool) string {
	if !ok {
		return "2xx"
	}
	return fmt.Sprint(want)
}

// runScript runs the script with curl wrapped so that each call's status
// is logged with the script line it was made on.
func runScript(t *testing.T, script string) map[int][]int {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "statuses")
	prelude := `curl() {
  local out
  out=$(command curl -w '\n%{http_code}' --max-time 20 "$@")
  printf '%s\n' "${out%$'\n'*}"
  echo "${BASH_LINENO[0]} ${out##*$'\n'}" >> "$CURL_STATUSES"
}
`
	// The prelude is prepended on the same first line, so that line
	// numbers stay those of the examples.
	body := strings.Replace(prelude, "\n", "; ", -1)
	body = strings.ReplaceAll(body, "{; ", "{ ")
	path := filepath.Join(dir, "readme.sh")
	if err := os.WriteFile(path, []byte(body+"\n"+script), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", path)
	cmd.Env = append(os.Environ(), "CURL_STATUSES="+log)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // the examples' own exit statuses do not matter; their answers do
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("no status was logged: %v\n%s", err, out.String())
	}
	examples := strings.Split(script, "\n")
	statuses := map[int][]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var line, code int
		if _, err := fmt.Sscanf(l, "%d %d", &line, &code); err != nil {
			continue
		}
		// The prelude takes line 1: example line n is script line n+1. A
		// command over several lines is reported on its last: the status
		// belongs to the line that starts the curl.
		n := line - 1
		for n > 1 && !strings.Contains(examples[n-1], "curl ") {
			n--
		}
		statuses[n] = append(statuses[n], code)
	}
	return statuses
}
