// Package portal is Gemella's web site for administrations and citizens:
// server-rendered HTML pages (html/template, readable without JavaScript)
// over the catalog, twinning and discussion services, in Italian by
// default and in English on request. The gateway mounts it on "/" beside
// the REST API.
//
// Safe by construction: templates escape every value; the only HTML taken
// as it comes is the body_html the discussion service renders and
// sanitises; every form carries a CSRF token; cookies are HttpOnly and
// SameSite; a failure is a page with a message, never a stack trace.
package portal

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/metadata"
)

// Config is the portal's part of the gateway configuration; the gateway
// reads it from GEMELLA_PORTAL_* variables.
type Config struct {
	// AssetsDir is the node_modules folder that `make web` (npm ci) fills
	// with bootstrap-italia; the portal serves its dist folder. A relative
	// path is looked up from the working directory and then from each
	// folder above it, so the gateway finds it from the repository root and
	// from a test's package folder alike. When it is missing the pages are
	// served unstyled and the portal logs a warning.
	AssetsDir string `env:"ASSETS_DIR" envDefault:"gateway/portal/web/node_modules"`
	// CSRFKey signs form tokens: at least 32 bytes, hex or base64. Empty
	// makes a random key at start, so forms open before a restart must be
	// sent again; gateways behind one load balancer need the same key.
	CSRFKey string `env:"CSRF_KEY"`
	// SecureCookies marks every cookie Secure even on plain HTTP, for a
	// gateway behind a proxy that terminates TLS. Over TLS they always are.
	SecureCookies bool `env:"SECURE_COOKIES"`
	// SessionCookie is the name of the session cookie; SessionCookie when
	// empty.
	SessionCookie string `env:"-"`
	// Operator is the administration that runs the platform, named by the
	// privacy notice, the legal notes, the accessibility statement and the
	// contacts; ContactEmail is where people write to it.
	Operator     string `env:"OPERATOR" envDefault:"Gemella"`
	ContactEmail string `env:"CONTACT_EMAIL" envDefault:"info@gemella.example"`
	// PagesDir may hold the text of the footer's pages, <page>.<lang>.md
	// (privacy, legal, accessibility, contacts; it, en), each replacing its
	// default (infopages.go).
	PagesDir string `env:"PAGES_DIR"`
	// AccessibilityURL is the accessibility statement published on AgID's
	// form.agid.gov.it; the footer links to it when set, and to the
	// portal's own statement otherwise.
	AccessibilityURL string `env:"ACCESSIBILITY_URL"`
	// PrivacyVersion names the privacy notice that members accept at
	// sign-up, recorded with their consent.
	PrivacyVersion string `env:"PRIVACY_VERSION" envDefault:"2026-1"`
	// EditWindow is how long after writing a post its author is offered
	// to edit or delete it; the discussion service's
	// GEMELLA_DISCUSSION_EDIT_WINDOW (15 minutes by default) decides.
	EditWindow time.Duration `env:"EDIT_WINDOW" envDefault:"15m"`
	// TrustForwardedProto takes "X-Forwarded-Proto: https" as proof of TLS
	// for the Secure attribute of cookies; the gateway sets it when it
	// trusts its proxy's headers.
	TrustForwardedProto bool `env:"-"`
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	if c.CSRFKey == "" {
		return nil
	}
	if _, err := decodeKey(c.CSRFKey); err != nil {
		return fmt.Errorf("GEMELLA_PORTAL_CSRF_KEY: %w", err)
	}
	return nil
}

func decodeKey(s string) ([]byte, error) {
	for _, decode := range []func(string) ([]byte, error){
		hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
	} {
		if key, err := decode(s); err == nil {
			if len(key) < 32 {
				return nil, errors.New("must hold at least 32 bytes")
			}
			return key, nil
		}
	}
	return nil, errors.New("must be hex or base64")
}

// Portal is the web site. It is an http.Handler.
type Portal struct {
	cfg     Config
	b       Backends
	logger  *slog.Logger
	now     func() time.Time
	pages   pages
	csrf    csrfGuard
	orgs    *orgDirectory
	assets  bool
	locales map[Lang]*locale
	// infoText are the footer's pages, rendered, by "<page>.<lang>".
	infoText map[string]template.HTML
	handler  http.Handler
}

// Option changes how New builds the portal; for tests.
type Option func(*Portal)

// WithClock makes the portal read the time from now.
func WithClock(now func() time.Time) Option { return func(p *Portal) { p.now = now } }

// New builds the portal over the backends. It fails only on a bad
// configuration or broken templates; missing assets are logged.
func New(cfg Config, b Backends, logger *slog.Logger, opts ...Option) (*Portal, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.SessionCookie == "" {
		cfg.SessionCookie = SessionCookie
	}
	if cfg.EditWindow <= 0 {
		cfg.EditWindow = 15 * time.Minute
	}
	if cfg.Operator == "" {
		cfg.Operator = defaultOperator
	}
	if cfg.ContactEmail == "" {
		cfg.ContactEmail = defaultContactEmail
	}
	if cfg.PrivacyVersion == "" {
		cfg.PrivacyVersion = "2026-1"
	}
	p := &Portal{cfg: cfg, b: b.withDefaults(), logger: logger, now: time.Now}
	for _, opt := range opts {
		opt(p)
	}
	if cfg.CSRFKey != "" {
		key, _ := decodeKey(cfg.CSRFKey)
		p.csrf = csrfGuard{key: key}
	} else {
		p.csrf = csrfGuard{key: randomBytes(32)}
	}
	var err error
	if p.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if p.infoText, err = loadInfoPages(cfg); err != nil {
		return nil, err
	}
	if cfg.Operator == defaultOperator || cfg.ContactEmail == defaultContactEmail {
		logger.Warn("portal: the privacy notice, legal notes and contacts name the default operator and e-mail; set GEMELLA_PORTAL_OPERATOR and GEMELLA_PORTAL_CONTACT_EMAIL")
	}
	p.locales = map[Lang]*locale{Italian: newLocale(Italian, p.now), English: newLocale(English, p.now)}
	p.orgs = &orgDirectory{catalog: p.b.Catalog, ttl: time.Minute, now: p.now}

	mux := http.NewServeMux()
	p.routes(mux)
	assets, dir := p.assetHandler()
	if assets != nil {
		p.assets = true
		mux.Handle("GET "+assetPrefix, assets)
		logger.Info("portal assets", slog.String("dir", dir))
	} else {
		logger.Warn("portal assets not found: pages are served without styles; run `make web` (npm ci in gateway/portal/web) or set GEMELLA_PORTAL_ASSETS_DIR",
			slog.String("dir", cfg.AssetsDir))
	}

	crossOrigin := http.NewCrossOriginProtection()
	crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.renderError(w, r, http.StatusForbidden, "error.csrf")
	}))
	p.handler = p.recoverPanics(securityHeaders(p.begin(p.validPath(crossOrigin.Handler(p.checkCSRF(mux))))))
	return p, nil
}

// ServeHTTP serves the portal.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// validPath answers "not found" for a path that is not UTF-8 text (such as
// /practices/%FF): it can name no page, and its id could not even be sent
// to a service, which would fail as an internal error.
func (p *Portal) validPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !utf8.ValidString(r.URL.Path) {
			p.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// routes lists every page and form target.
func (p *Portal) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.home)
	mux.HandleFunc("GET /feed", p.feed)
	mux.HandleFunc("POST /language", p.switchLanguage)

	mux.HandleFunc("GET /search", p.search)
	mux.HandleFunc("GET /practices", p.catalogue)
	mux.HandleFunc("GET /practices/{id}", p.practice)
	mux.HandleFunc("POST /practices/{id}/threads", p.openPracticeThread)
	mux.HandleFunc("GET /notifications", p.notifications)
	mux.HandleFunc("POST /notifications/read", p.markRead)
	mux.HandleFunc("POST /notifications/preferences", p.savePreferences)
	mux.HandleFunc("POST /follow", p.follow)
	mux.HandleFunc("GET /twinnings", p.twinnings)
	mux.HandleFunc("GET /twinnings/{id}", p.twinning)
	p.reportRoutes(mux)
	mux.HandleFunc("GET /threads", p.threads)
	mux.HandleFunc("POST /threads", p.openGeneralThread)
	mux.HandleFunc("GET /threads/{id}", p.thread)
	mux.HandleFunc("POST /threads/{id}/posts", p.reply)
	mux.HandleFunc("POST /posts/{id}/report", p.reportPost)
	mux.HandleFunc("POST /posts/{id}/edit", p.editPost)
	mux.HandleFunc("POST /posts/{id}/delete", p.deletePost)
	mux.HandleFunc("GET /members", p.members)
	mux.HandleFunc("GET /seek-offer", p.seekOffer)
	mux.HandleFunc("GET /seek-offer/needs/new", p.newNeedForm)
	mux.HandleFunc("POST /seek-offer/needs/new", p.createNeed)
	mux.HandleFunc("GET /seek-offer/offers/new", p.newOfferForm)
	mux.HandleFunc("POST /seek-offer/offers/new", p.createOffer)
	mux.HandleFunc("GET /needs/{id}", p.need)
	mux.HandleFunc("POST /needs/{id}/close", p.closeNeed)
	mux.HandleFunc("GET /offers/{id}", p.offer)
	mux.HandleFunc("POST /offers/{id}/close", p.closeOffer)
	mux.HandleFunc("GET /stories/new", p.storyForm)
	mux.HandleFunc("POST /stories/new", p.submitStory)

	for path := range infoPages {
		mux.HandleFunc("GET "+path, p.infoPage(path))
	}

	mux.HandleFunc("GET /register", p.registerForm)
	mux.HandleFunc("POST /register", p.register)
	mux.HandleFunc("GET /login", p.loginForm)
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("POST /logout", p.logout)
	mux.HandleFunc("GET /password/forgot", p.forgotForm)
	mux.HandleFunc("POST /password/forgot", p.forgot)
	mux.HandleFunc("GET /password/reset", p.resetForm)
	mux.HandleFunc("POST /password/reset", p.reset)
	mux.HandleFunc("GET /email/verify", p.verifyForm)
	mux.HandleFunc("POST /email/verify", p.verify)
	mux.HandleFunc("POST /email/verify/resend", p.resendVerification)
	mux.HandleFunc("GET /profile", p.profile)
	mux.HandleFunc("POST /profile", p.updateProfile)
	mux.HandleFunc("POST /profile/affiliations", p.requestAffiliation)

	mux.HandleFunc("GET /manage", p.manage)
	mux.HandleFunc("GET /manage/practices/new", p.newPracticeForm)
	mux.HandleFunc("POST /manage/practices/new", p.createPractice)
	mux.HandleFunc("GET /manage/practices/{id}", p.editPracticeForm)
	mux.HandleFunc("POST /manage/practices/{id}", p.savePractice)
	mux.HandleFunc("POST /manage/practices/{id}/state", p.movePractice)
	mux.HandleFunc("GET /manage/practices/{id}/delete", p.confirmDeletePractice)
	mux.HandleFunc("POST /manage/practices/{id}/delete", p.deletePractice)
	mux.HandleFunc("GET /manage/twinnings/new", p.newTwinningForm)
	mux.HandleFunc("POST /manage/twinnings/new", p.createTwinning)
	mux.HandleFunc("GET /manage/twinnings/{id}", p.editTwinningForm)
	mux.HandleFunc("POST /manage/twinnings/{id}", p.saveTwinning)
	mux.HandleFunc("POST /manage/twinnings/{id}/state", p.moveTwinning)
	mux.HandleFunc("GET /manage/twinnings/{id}/delete", p.confirmDeleteTwinning)
	mux.HandleFunc("POST /manage/twinnings/{id}/delete", p.deleteTwinning)
	mux.HandleFunc("POST /manage/twinnings/{id}/transfers", p.addTransfer)
	mux.HandleFunc("POST /manage/twinnings/{id}/transfers/{transfer}", p.updateTransfer)
	mux.HandleFunc("POST /manage/twinnings/{id}/activities", p.logActivity)
	mux.HandleFunc("POST /manage/twinnings/{id}/activities/{activity}", p.updateActivity)

	mux.HandleFunc("GET /members/{id}", p.member)
	mux.HandleFunc("GET /organizations/{id}", p.organization)
	mux.HandleFunc("GET /admin", p.admin)
	mux.HandleFunc("POST /admin/members/{id}/affiliations/{org}", p.decideAffiliation)
	mux.HandleFunc("POST /admin/members/{id}/roles", p.grantRoles)
	mux.HandleFunc("POST /admin/members/{id}/roles/revoke", p.revokeRoles)
	mux.HandleFunc("POST /admin/members/{id}/block", p.blockMember)
	mux.HandleFunc("GET /admin/organizations/new", p.newOrganizationForm)
	mux.HandleFunc("POST /admin/organizations/new", p.createOrganization)
	mux.HandleFunc("GET /admin/organizations/{id}", p.editOrganizationForm)
	mux.HandleFunc("POST /admin/organizations/{id}", p.saveOrganization)

	mux.HandleFunc("GET /moderation", p.moderation)
	mux.HandleFunc("POST /moderation/posts/{id}", p.moderatePost)
	mux.HandleFunc("POST /moderation/stories/{id}", p.decideStory)

	mux.Handle("GET "+staticPrefix, p.staticHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.renderError(w, r, http.StatusNotFound, "error.not_found")
	})
}

// visit is what the portal knows about the request's browser: language,
// member, CSRF id. begin puts it in the request context.
type visit struct {
	L         *locale
	User      *user
	token     string
	browserID string
	requestID string
	expired   bool
	// Unverified says the member has not confirmed the e-mail address
	// yet (a hint kept in a cookie at log-in): the banner reminds them.
	Unverified bool
	// formMember is the member the visit's form tokens are for: the
	// session's member, also when its token has just expired, so that a
	// form sent after the expiry is answered with "log in again" rather
	// than a CSRF refusal.
	formMember string
}

type visitKey struct{}

func visitOf(r *http.Request) *visit {
	v, _ := r.Context().Value(visitKey{}).(*visit)
	if v == nil {
		// Only reachable if a handler runs outside begin; be safe anyway.
		return &visit{L: newLocale(DefaultLang, time.Now)}
	}
	return v
}

const langCookie = "gemella_lang"

// begin reads the language, the session and the CSRF id of the request.
// An expired or unreadable session cookie is removed, and the member is
// told on the page.
func (p *Portal) begin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &visit{L: p.locales[DefaultLang], requestID: r.Header.Get("X-Request-Id")}
		if c, err := r.Cookie(langCookie); err == nil {
			if lang, ok := parseLang(c.Value); ok {
				v.L = p.locales[lang]
			}
		}
		if c, err := r.Cookie(p.cfg.SessionCookie); err == nil && c.Value != "" {
			u, err := readToken(c.Value, p.now())
			switch {
			case err == nil:
				v.User, v.token, v.formMember = u, c.Value, u.ID
				if c, err := r.Cookie(unverifiedCookie); err == nil && c.Value == "1" {
					v.Unverified = true
				}
			case errors.Is(err, errExpiredToken):
				p.clearSessionCookie(w, r)
				v.expired, v.formMember = true, u.ID
			default:
				p.clearSessionCookie(w, r)
			}
		}
		if r.Method == http.MethodGet {
			p.refresh(w, r, v)
		}
		if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
			v.browserID = c.Value
		} else if r.Method == http.MethodGet || r.Method == http.MethodHead {
			// Safe requests get an id for the forms on their page; an
			// unsafe one without it is refused by checkCSRF.
			v.browserID = newBrowserID()
			p.setBrowserID(w, r, v.browserID)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), visitKey{}, v)))
	})
}

// checkCSRF refuses an unsafe request without a valid form token.
func (p *Portal) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		v := visitOf(r)
		if !p.csrf.valid(v.browserID, v.formMember, sentToken(r)) {
			p.logger.InfoContext(r.Context(), "portal: form refused without a valid CSRF token",
				slog.String("request_id", v.requestID), slog.String("path", r.URL.Path))
			p.renderError(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into the error page (or an aborted response
// when the page had begun), and logs the stack for the developers only.
func (p *Portal) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			p.logger.ErrorContext(r.Context(), "portal: panic while serving a page",
				slog.String("request_id", r.Header.Get("X-Request-Id")),
				slog.String("path", r.URL.Path),
				slog.String("panic", fmt.Sprint(rec)),
				slog.String("stack", string(debug.Stack())))
			if tw.wrote {
				panic(http.ErrAbortHandler)
			}
			p.renderError(tw, r, http.StatusInternalServerError, "error.internal")
		}()
		next.ServeHTTP(tw, r)
	})
}

type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// contentSecurityPolicy allows the portal's own scripts, styles, fonts and
// images only: an injected script would not run even if it got through.
// Two inline styles are allowed by their hashes: the <style> elements that
// the video.js inside bootstrap-italia's bundle adds (an empty one and its
// default player sizes). The browser tests fail on any violation, so a
// bootstrap-italia upgrade that changes them is noticed. Bootstrap Italia's
// stylesheet embeds an icon font as a data: URL.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; " +
	"style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' 'sha256-wPXhisdsFu1DtHYH1D9W5isSGqS5vIPn6QJWSNLqfCM='; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"frame-ancestors 'none'; form-action 'self'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// callTimeout bounds each backend call of a page, inside the gateway's
// request deadline, so that one slow service leaves time to show the rest.
const callTimeout = 5 * time.Second

// call is the context of one backend call on behalf of the visitor.
func (p *Portal) call(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	// The page's language goes with every call, as Accept-Language does
	// through the REST API: what a service writes for the reader (the
	// notifications' sentences) is in the language of the page.
	ctx = metadata.AppendToOutgoingContext(ctx, languageKey, string(visitOf(r).L.Lang))
	return withToken(ctx, visitOf(r).token), cancel
}

// languageKey is the metadata that tells the services the reader's
// language (the REST API's Accept-Language, which the gateway passes on
// under the same name).
const languageKey = "accept-language"

// parallel runs the page's backend calls at once and waits for them all.
// A panic in one of them is raised again in the caller's goroutine, where
// recoverPanics turns it into the error page.
func parallel(fns ...func()) {
	panics := make(chan any, len(fns))
	for _, fn := range fns {
		go func() {
			defer func() { panics <- recover() }()
			fn()
		}()
	}
	var first any
	for range fns {
		if rec := <-panics; rec != nil && first == nil {
			first = rec
		}
	}
	if first != nil {
		panic(first)
	}
}
