package portal

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gemella/gemella/services/platform/markdown"
)

// The information pages the AgID guidelines ask every public
// administration's site to link from its footer: privacy notice, legal
// notes, accessibility statement, contacts. Their text is configuration:
// GEMELLA_PORTAL_PAGES_DIR may hold <page>.<lang>.md files (privacy.it.md,
// legal.en.md, …), each replacing the default of this folder; {operator}
// and {email} in them become GEMELLA_PORTAL_OPERATOR and
// GEMELLA_PORTAL_CONTACT_EMAIL. The text is Markdown, rendered with the
// posts' sanitiser.

//go:embed pages/*.md
var defaultPages embed.FS

// infoPages are the pages by path, with their title's message id.
var infoPages = map[string]struct{ file, title string }{
	"/privacy":       {"privacy", "page.privacy"},
	"/legal-notes":   {"legal", "page.legal"},
	"/accessibility": {"accessibility", "page.accessibility"},
	"/contacts":      {"contacts", "page.contacts"},
}

// Default operator and contact: a deployment sets its own.
const (
	defaultOperator     = "Gemella"
	defaultContactEmail = "info@gemella.example"
)

// loadInfoPages reads every page in both languages at start, so that a
// missing or unreadable file fails the start, not a visitor.
func loadInfoPages(cfg Config) (map[string]template.HTML, error) {
	out := map[string]template.HTML{}
	for _, pg := range infoPages {
		for _, lang := range []Lang{Italian, English} {
			name := pg.file + "." + string(lang) + ".md"
			src, err := defaultPages.ReadFile("pages/" + name)
			if err != nil {
				return nil, fmt.Errorf("portal page %s: %w", name, err)
			}
			if cfg.PagesDir != "" {
				custom, err := os.ReadFile(filepath.Join(cfg.PagesDir, name))
				switch {
				case err == nil:
					src = custom
				case !os.IsNotExist(err):
					return nil, fmt.Errorf("GEMELLA_PORTAL_PAGES_DIR: %w", err)
				}
			}
			text := strings.NewReplacer("{operator}", cfg.Operator, "{email}", cfg.ContactEmail).Replace(string(src))
			out[pg.file+"."+string(lang)] = template.HTML(markdown.HTML(text)) //nolint:gosec // sanitised by markdown.HTML
		}
	}
	return out, nil
}

type infoPageData struct {
	Body template.HTML
	// Official is the accessibility statement published on AgID's site,
	// when configured.
	Official string
}

// infoPage serves one of the footer's pages in the visitor's language.
func (p *Portal) infoPage(path string) http.HandlerFunc {
	pg := infoPages[path]
	return func(w http.ResponseWriter, r *http.Request) {
		d := infoPageData{Body: p.infoText[pg.file+"."+string(visitOf(r).L.Lang)]}
		if pg.file == "accessibility" {
			d.Official = p.cfg.AccessibilityURL
		}
		p.render(w, r, http.StatusOK, "info", pg.title, d)
	}
}
