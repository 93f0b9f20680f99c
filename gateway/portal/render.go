package portal

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/platform/markdown"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const (
	// staticPrefix serves the portal's own small files (embedded).
	staticPrefix = "/static/portal/"
	// assetPrefix serves bootstrap-italia's dist folder from AssetsDir.
	assetPrefix = "/static/bootstrap-italia/"
)

// pages are the parsed templates, one set per page: the layout, the
// partials and the page's own file.
type pages map[string]*template.Template

// layoutFiles are shared by every page.
var layoutFiles = []string{"templates/layout.html", "templates/partials.html"}

var templateFuncs = template.FuncMap{
	"fld":        newField,
	"enumID":     enumID,
	"paragraphs": paragraphs,
	"highlight":  highlight,
	// sanitizedHTML is for the body_html fields of the discussion service
	// only (posts, threads, stories): that service renders the Markdown
	// its members write and sanitises the result (goldmark without raw
	// HTML, then bluemonday's UGC policy). Nothing else is trusted as HTML.
	"sanitizedHTML": func(s string) template.HTML { return template.HTML(s) }, //nolint:gosec // see above
	// markdown renders the texts of practices, needs, offers, twinnings
	// and organisations, written in Markdown, with the renderer and
	// sanitiser the discussion service uses for posts
	// (services/platform/markdown: goldmark without raw HTML, then
	// bluemonday's UGC policy).
	"markdown":      func(s string) template.HTML { return template.HTML(markdown.HTML(s)) }, //nolint:gosec // sanitised by markdown.HTML
	"fieldID":       fieldID,
	"newRequestID":  newRequestID,
	"truncate":      truncate,
	"offeredModels": offeredModels,
	"roleNames":     roleNames,
	"scopeName": func(s discussionv1.Scope) string {
		for name, v := range threadScopes {
			if v == s {
				return name
			}
		}
		return "general"
	},
	"hiddenByReports": func(p *discussionv1.Post) bool {
		return isHiddenByReports(p)
	},
	"int":  func(n int32) int { return int(n) },
	"list": func(items ...string) []string { return items },
	"dict": func(pairs ...any) (map[string]any, error) {
		if len(pairs)%2 != 0 {
			return nil, errors.New("dict: odd number of arguments")
		}
		m := make(map[string]any, len(pairs)/2)
		for i := 0; i < len(pairs); i += 2 {
			key, ok := pairs[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", pairs[i])
			}
			m[key] = pairs[i+1]
		}
		return m, nil
	},
	"add": func(a, b int) int { return a + b },
	"seq": func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	},
	"join": strings.Join,
	"contains": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"query": func(pairs ...string) template.URL {
		q := url.Values{}
		for i := 0; i+1 < len(pairs); i += 2 {
			if pairs[i+1] != "" {
				q.Set(pairs[i], pairs[i+1])
			}
		}
		return template.URL(q.Encode()) //nolint:gosec // url.Values.Encode escapes every key and value
	},
}

func parsePages() (pages, error) {
	base, err := template.New("layout").Funcs(templateFuncs).ParseFS(templateFS, layoutFiles...)
	if err != nil {
		return nil, fmt.Errorf("parse portal layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	ps := pages{}
	for _, f := range files {
		if f == layoutFiles[0] || f == layoutFiles[1] {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("parse portal page %s: %w", f, err)
		}
		ps[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return ps, nil
}

// page is what every template gets.
type page struct {
	*visit
	// Title is the page's title, already translated.
	Title string
	// Nav names the menu entry to mark as current.
	Nav string
	// CSRF is the token for the page's forms.
	CSRF string
	// Here is the page's path and query, where the language switch returns.
	Here string
	// Flash is a message carried over a redirect, translated.
	Flash     string
	FlashKind string
	// Styled says whether bootstrap-italia is served.
	Styled bool
	// Operator, ContactEmail and AccessibilityURL fill the footer.
	Operator, ContactEmail, AccessibilityURL string
	Data                                     any
}

// render writes a page with its layout. The page is rendered into a buffer
// first, so that a template error becomes the error page instead of half a
// page.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name, titleID string, data any) {
	p.renderTitled(w, r, status, name, visitOf(r).L.T(titleID), data)
}

// renderTitled is render with a title that is not a message: a practice's
// or a twinning's own title.
func (p *Portal) renderTitled(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	v := visitOf(r)
	pg := page{
		visit:  v,
		Title:  title,
		Nav:    name,
		CSRF:   p.csrf.token(v.browserID, v.formMember),
		Here:   here(r),
		Styled: p.assets,
		Data:   data,

		Operator: p.cfg.Operator, ContactEmail: p.cfg.ContactEmail, AccessibilityURL: p.cfg.AccessibilityURL,
	}
	if pg.AccessibilityURL == "" {
		pg.AccessibilityURL = "/accessibility"
	}
	if v.expired {
		pg.Flash, pg.FlashKind = v.L.T("flash.session_expired"), "info"
	} else if id := p.takeFlash(w, r); id != "" {
		pg.Flash, pg.FlashKind = v.L.T(id), "success"
	}
	p.write(w, r, status, name, "layout", pg)
}

// here is where the language switch brings the visitor back: this page,
// or for a form's answer the page the form was on (the form's own address
// may take POST only).
func here(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
		return localPath(ref.RequestURI(), "/")
	}
	return "/"
}

// write executes one template of a page set and sends it.
func (p *Portal) write(w http.ResponseWriter, r *http.Request, status int, set, name string, data any) {
	t, ok := p.pages[set]
	if !ok {
		panic(fmt.Sprintf("portal: no template set %q", set))
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		p.logger.ErrorContext(r.Context(), "portal: render page",
			slog.String("request_id", visitOf(r).requestID), slog.String("page", set), slog.String("error", err.Error()))
		if set == "error" {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		p.renderError(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry per-visitor content and form tokens.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", string(visitOf(r).L.Lang))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorData is the error page's content.
type errorData struct {
	Status    int
	Message   string
	RequestID string
}

// renderError shows a page that says what went wrong in the visitor's
// language, with the request id for support.
func (p *Portal) renderError(w http.ResponseWriter, r *http.Request, status int, messageID string) {
	v := visitOf(r)
	p.render(w, r, status, "error", "error.title."+statusClass(status), errorData{
		Status: status, Message: v.L.T(messageID), RequestID: v.requestID,
	})
}

func statusClass(status int) string {
	switch status {
	case http.StatusNotFound, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return fmt.Sprint(status)
	}
	if status >= 500 {
		return "500"
	}
	return "400"
}

// TooManyRequests answers a portal request that the gateway's rate limit
// refused: the error page, 429, in the visitor's language, saying how
// long to wait (the caller sets Retry-After). A person who sent a form
// too often reads what to do, never the API's JSON.
func (p *Portal) TooManyRequests(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	seconds := max(1, int(math.Ceil(wait.Seconds())))
	securityHeaders(p.begin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := visitOf(r)
		p.render(w, r, http.StatusTooManyRequests, "error", "error.title.429", errorData{
			Status: http.StatusTooManyRequests, Message: v.L.N("error.too_many_requests", seconds), RequestID: v.requestID,
		})
	}))).ServeHTTP(w, r)
}

const flashCookie = "gemella_flash"

// redirect answers a form with 303 See Other to a page of the portal, and
// carries a message id to it.
func (p *Portal) redirect(w http.ResponseWriter, r *http.Request, to, flashID string) {
	if flashID != "" {
		http.SetCookie(w, &http.Cookie{
			Name: flashCookie, Value: flashID, Path: "/", MaxAge: 60,
			HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode,
		})
	}
	http.Redirect(w, r, localPath(to, "/"), http.StatusSeeOther)
}

// takeFlash reads and removes the carried message; only ids of flash
// messages are accepted, so the cookie cannot put text on a page.
func (p *Portal) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	if _, ok := italian[c.Value]; !ok || !strings.HasPrefix(c.Value, "flash.") {
		return ""
	}
	return c.Value
}

// localPath returns target if it is a path on this site, else fallback:
// redirects after log-in and language switches never leave the portal.
func localPath(target, fallback string) string {
	if target == "" || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") {
		return fallback
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return target
}

// truncate shortens plain text to about n characters at a word boundary.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:–-") + "…"
}

// enumID is the message id of an enum value's label: "enum.TWINNING_STATUS_ACTIVE".
func enumID(v protoreflect.Enum) string {
	d := v.Descriptor().Values().ByNumber(v.Number())
	if d == nil {
		return "enum.unknown"
	}
	return "enum." + string(d.Name())
}

// paragraphs splits plain text at blank lines (or single line breaks) so
// that a practice's description reads as paragraphs; each one is escaped
// by the template.
func paragraphs(s string) []string {
	var out []string
	for _, part := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// segment is a piece of a search snippet, marked when it matched.
type segment struct {
	Text string
	Mark bool
}

// highlight reads a search snippet of the catalog ("…<mark>word</mark>…",
// the rest HTML-escaped) back into plain text pieces, so the template
// escapes every piece itself and adds the <mark> elements: nothing of the
// snippet is trusted as HTML.
func highlight(fragment string) []segment {
	var out []segment
	rest := fragment
	for rest != "" {
		open := strings.Index(rest, "<mark>")
		if open < 0 {
			out = append(out, segment{Text: html.UnescapeString(rest)})
			break
		}
		if open > 0 {
			out = append(out, segment{Text: html.UnescapeString(rest[:open])})
		}
		rest = rest[open+len("<mark>"):]
		end := strings.Index(rest, "</mark>")
		if end < 0 {
			out = append(out, segment{Text: html.UnescapeString(rest), Mark: true})
			break
		}
		out = append(out, segment{Text: html.UnescapeString(rest[:end]), Mark: true})
		rest = rest[end+len("</mark>"):]
	}
	return out
}

// staticHandler serves the embedded stylesheet, script and icon.
func (p *Portal) staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(staticPrefix, http.FileServerFS(noDirs{sub}))
	return cacheFor(files, "public, max-age=3600")
}

// assetHandler serves bootstrap-italia's css, js, fonts and svg folders
// from the configured node_modules, or nil when they are not there.
func (p *Portal) assetHandler() (http.Handler, string) {
	dir := findDir(p.cfg.AssetsDir)
	if dir == "" {
		return nil, ""
	}
	dist := filepath.Join(dir, "bootstrap-italia", "dist")
	if _, err := os.Stat(filepath.Join(dist, "css", "bootstrap-italia.min.css")); err != nil {
		return nil, ""
	}
	files := http.StripPrefix(assetPrefix, http.FileServerFS(noDirs{distFS{os.DirFS(dist)}}))
	return cacheFor(files, "public, max-age=86400"), dist
}

// findDir resolves a relative directory from the working directory or the
// nearest folder above it that has it; "" when none has.
func findDir(dir string) string {
	if dir == "" {
		return ""
	}
	if filepath.IsAbs(dir) {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, dir)
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// distFS opens only the folders of bootstrap-italia's dist that pages use.
type distFS struct{ fs.FS }

func (d distFS) Open(name string) (fs.File, error) {
	top, _, _ := strings.Cut(name, "/")
	switch top {
	case "css", "js", "fonts", "svg":
		if top != name {
			return d.FS.Open(name)
		}
	}
	return nil, fs.ErrNotExist
}

// noDirs hides directories, so nothing lists a folder's files.
type noDirs struct{ fs.FS }

func (n noDirs) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		_ = f.Close()
		return nil, fs.ErrNotExist
	}
	return f, nil
}

func cacheFor(h http.Handler, policy string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", policy)
		h.ServeHTTP(w, r)
	})
}
