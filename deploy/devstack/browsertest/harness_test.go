package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdlog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gemella/gemella/deploy/devstack/stack"
	gateway "github.com/gemella/gemella/gateway/server"
)

// One stack and one Chromium serve every test: starting FerretDB, the
// services and the demo data is most of the suite's time. Each test gets a
// fresh browser context (its own cookies), so tests do not see each
// other's sessions or language.

const (
	// startTimeout bounds starting the stack with its demo data.
	startTimeout = 3 * time.Minute
	// tabTimeout bounds one test's browsing.
	tabTimeout = 90 * time.Second
	// chromiumEnv overrides the browser's path.
	chromiumEnv     = "GEMELLA_CHROMIUM"
	defaultChromium = "/usr/bin/chromium"
)

var suite struct {
	gateway     string
	browser     context.Context
	root        string
	axe         string
	screenshots string
	// setupErr says why the suite could not start; every test reports it.
	setupErr error
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Browser tests are not short; each test skips itself.
		os.Exit(m.Run())
	}
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	cleanup, err := setUp()
	defer cleanup()
	suite.setupErr = err
	return m.Run()
}

// setUp starts the stack and the browser. It returns what undoes it, also
// when it fails half-way.
func setUp() (func(), error) {
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	root, err := repoRoot()
	if err != nil {
		return cleanup, err
	}
	suite.root = root
	suite.screenshots = filepath.Join(root, "artifacts", "screenshots")
	if err := os.MkdirAll(suite.screenshots, 0o755); err != nil {
		return cleanup, fmt.Errorf("screenshot folder: %w", err)
	}
	axe, err := os.ReadFile(filepath.Join(root, "gateway", "portal", "web", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return cleanup, fmt.Errorf("axe-core is not installed (run `make web`): %w", err)
	}
	suite.axe = string(axe)

	chromium := os.Getenv(chromiumEnv)
	if chromium == "" {
		chromium = defaultChromium
	}
	if _, err := os.Stat(chromium); err != nil {
		return cleanup, fmt.Errorf("no Chromium at %s (apt-get install -y chromium, or set %s): %w", chromium, chromiumEnv, err)
	}

	dataDir, err := os.MkdirTemp("", "gemella-browsertest-data-")
	if err != nil {
		return cleanup, err
	}
	undo = append(undo, func() { _ = os.RemoveAll(dataDir) })
	startCtx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := stack.Start(startCtx, stack.Options{
		DataDir:        dataDir,
		HTTPAddr:       "127.0.0.1:0",
		CatalogAddr:    "127.0.0.1:0",
		TwinningAddr:   "127.0.0.1:0",
		DiscussionAddr: "127.0.0.1:0",
		NATSPort:       0,
		Logger:         logger,
		LoadDemo:       true,
		// The suite logs in and writes faster than a person, from one
		// address: the limits a person meets would refuse it part-way.
		Gateway: func(c *gateway.Config) {
			c.LoginPerMinute, c.LoginBurst = 10000, 10000
			c.RegisterPerMinute, c.RegisterBurst = 10000, 10000
			c.WritePerMinute, c.WriteBurst = 10000, 10000
		},
	})
	if err != nil {
		return cleanup, fmt.Errorf("start the devstack: %w", err)
	}
	undo = append(undo, func() {
		if err := st.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the devstack: %v\n", err)
		}
	})
	suite.gateway = st.GatewayURL()

	profile, err := os.MkdirTemp("", "gemella-browsertest-chromium-")
	if err != nil {
		return cleanup, err
	}
	undo = append(undo, func() { _ = os.RemoveAll(profile) })
	// The machine has no internet: without these flags Chromium keeps
	// trying to reach Google's services. --no-sandbox because CI runs as root.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	undo = append(undo, cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	undo = append(undo, cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		return cleanup, fmt.Errorf("start Chromium: %w", err)
	}
	suite.browser = browser
	return cleanup, nil
}

// repoRoot is the folder holding go.work, above the working directory.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.work above " + wd)
		}
	}
}

// tab is one test's browser: a fresh browser context with its own
// cookies, and a record of the JavaScript dialogs that opened in it.
type tab struct {
	t       *testing.T
	ctx     context.Context
	dialogs chan string
}

func newTab(t *testing.T) *tab {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	if suite.setupErr != nil {
		t.Fatalf("browser test suite: %v", suite.setupErr)
	}
	ctx, cancel := chromedp.NewContext(suite.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a browser tab: %v", err)
	}
	// The tab's first run has happened: a timeout may now bound the rest.
	ctx, cancelTimeout := context.WithTimeout(ctx, tabTimeout)
	t.Cleanup(cancelTimeout)
	tb := &tab{t: t, ctx: ctx, dialogs: make(chan string, 16)}
	tb.watchSecurityErrors()
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			select {
			case tb.dialogs <- ev.Message:
			default:
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return tb
}

// watchSecurityErrors fails the test, at its end, on every error the
// browser reports from its security checks: a Content-Security-Policy
// violation, mixed content, a refused frame.
func (tb *tab) watchSecurityErrors() {
	entries := chromedp.Events(tb.ctx, cdlog.EntryAdded)
	if _, err := chromedp.Call(tb.ctx, cdlog.Enable, cdp.Empty{}); err != nil {
		tb.t.Fatalf("enable the browser log: %v", err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var found []string
	go func() {
		for e, err := range entries {
			if err != nil {
				return
			}
			if e.Entry.Source != "security" {
				continue
			}
			msg := firstLine(e.Entry.Text) + " (" + e.Entry.URL + ")"
			mu.Lock()
			if !seen[msg] {
				seen[msg] = true
				found = append(found, e.Entry.Text+" on "+e.Entry.URL)
			}
			mu.Unlock()
		}
	}()
	tb.t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range found {
			tb.t.Errorf("the browser reports a security error: %.400s", f)
		}
	})
}

func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.fatalf("%s: %v", what, err)
	}
}

// fatalf stops the test with what the page says: its address and any
// error or "service unavailable" message on it.
func (tb *tab) fatalf(format string, args ...any) {
	tb.t.Helper()
	tb.t.Fatalf("%s\n%s", fmt.Sprintf(format, args...), tb.situation())
}

func (tb *tab) errorf(format string, args ...any) {
	tb.t.Helper()
	tb.t.Errorf("%s\n%s", fmt.Sprintf(format, args...), tb.situation())
}

// situation describes the page for a failure message.
func (tb *tab) situation() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(the page could not be read: " + err.Error() + ")"
	}
	messages, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(
		'.alert, .portal-down, [data-testid=error-message], .invalid-feedback')).map(e => e.textContent.trim().replace(/\s+/g, ' '))`))
	if len(messages) == 0 {
		return "page: " + where
	}
	return "page: " + where + "\nit says: " + strings.Join(messages, " | ")
}

// visit opens a page of the portal and waits for it.
func (tb *tab) visit(path string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(suite.gateway+path))
	tb.waitFor("the page "+path, `document.readyState === "complete"`)
}

// eval runs a JavaScript expression and returns its value.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.fatalf("evaluate %s: %v", firstLine(expr), err)
	}
	return v
}

// text is the text of the first element matching the CSS selector, "" when
// there is none.
func (tb *tab) text(selector string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`(document.querySelector(%s) || {textContent: ""}).textContent.replace(/\s+/g, " ").trim()`, js(selector)))
}

// waitFor polls the JavaScript condition until it holds, across page loads
// (an evaluation that a navigation interrupts counts as false).
func (tb *tab) waitFor(what, condition string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](condition))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || tb.ctx.Err() != nil {
			tb.fatalf("waiting for %s: gave up (last error: %v)", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits until the element's text contains want.
func (tb *tab) waitText(selector, want string) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf("%q in %s", want, selector),
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes(%s); })()`, js(selector), js(want)))
}

// fill sets form fields, by CSS selector.
func (tb *tab) fill(fields map[string]string) {
	tb.t.Helper()
	for sel, value := range fields {
		tb.do("fill "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
	}
}

// choose selects the options whose text contains each label, in a single
// or multiple select.
func (tb *tab) choose(selector string, labels ...string) {
	tb.t.Helper()
	n := eval[int](tb, fmt.Sprintf(`(() => {
		const s = document.querySelector(%s); const want = %s; let n = 0;
		for (const o of s.options) { if (want.some(l => o.text.includes(l))) { o.selected = true; n++; } }
		return n; })()`, js(selector), js(labels)))
	if n < len(labels) {
		tb.fatalf("select %s has no option for each of %v", selector, labels)
	}
}

// click clicks an element that leads to another page (a link or a submit
// button) and waits for that page.
func (tb *tab) click(selector string) {
	tb.t.Helper()
	_ = eval[string](tb, `document.documentElement.dataset.before = "1"`)
	tb.do("click "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
	tb.waitFor("the page after clicking "+selector, `document.readyState === "complete" && !document.documentElement.dataset.before`)
}

// screenshot saves the whole page as artifacts/screenshots/<name>.png.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(suite.screenshots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatalf("save screenshot: %v", err)
	}
	tb.t.Logf("screenshot: %s", path)
}

// axeViolation is one failed axe-core rule.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAccessibility runs axe-core on the page and fails on any serious or
// critical violation.
func (tb *tab) checkAccessibility(name string) {
	tb.t.Helper()
	if !eval[bool](tb, suite.axe+";\ntypeof axe !== 'undefined'") {
		tb.fatalf("axe-core did not load on %s", name)
	}
	violations, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
			id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " ")) })))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		tb.fatalf("run axe-core on %s: %v", name, err)
	}
	for _, v := range violations {
		tb.t.Errorf("accessibility of %s: %s %s: %s\n  %s", name, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "\n  "))
	}
	// axe-core does not see a label drawn over its control: Bootstrap
	// Italia floats a .form-group label without .form-label over the
	// field, which hides a select's value (the trial saw "E-mail" written
	// over "Subito").
	for _, o := range eval[[]string](tb, `Array.from(document.querySelectorAll("label[for]")).flatMap(l => {
		const c = document.getElementById(l.htmlFor);
		if (!c || c.tagName !== "SELECT") return [];
		const a = l.getBoundingClientRect(), b = c.getBoundingClientRect();
		if (!a.width || !a.height || !b.width || !b.height) return [];
		const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
		return w > 2 && h > 2 ? ["#" + c.id + ": " + l.textContent.trim()] : [];
	})`) {
		tb.t.Errorf("layout of %s: the label is drawn over its select %s", name, o)
	}
}

// dialogOpened reports a JavaScript dialog (alert, confirm) seen so far.
func (tb *tab) dialogOpened() (string, bool) {
	select {
	case msg := <-tb.dialogs:
		return msg, true
	default:
		return "", false
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 60 {
		line = line[:60] + "…"
	}
	return line
}
