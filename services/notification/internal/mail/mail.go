// Package mail sends the notifications' e-mail over SMTP (with
// github.com/wneessen/go-mail): messages in the member's language, plain
// text and HTML, with List-Unsubscribe and one-click unsubscribe (RFC
// 8058) by a signed token. Each notification goes out at most once: the
// mailer claims it in the store before sending, records the outcome after,
// and never sends again what a crashed replica had claimed.
package mail

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/gemella/gemella/services/platform/mailx"
)

// The SMTP settings and sender live in package mailx, shared with the
// discussion service (account e-mail); these names keep this package's
// callers as they were.
type (
	SMTPConfig = mailx.SMTPConfig
	Message    = mailx.Message
	Sender     = mailx.Sender
	TempError  = mailx.TempError
	SMTP       = mailx.SMTP
)

// NewSMTP is mailx.NewSMTP.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) { return mailx.NewSMTP(cfg) }

// Config is how the notifications' e-mail is delivered.
type Config struct {
	// PublicURL is the portal's address, for the links in messages.
	PublicURL string `env:"PUBLIC_URL" envDefault:"http://127.0.0.1:8080"`
	// UnsubscribeKey signs the unsubscribe links (at least 32
	// characters); required when e-mail is sent. Every replica needs the
	// same.
	UnsubscribeKey string `env:"UNSUBSCRIBE_KEY"`
	// Delay is how long an immediate e-mail waits, so that a burst makes
	// one message and a post hidden at once is never mailed.
	Delay time.Duration `env:"MAIL_DELAY" envDefault:"30s"`
	// Poll is how often the mailer looks for due e-mail.
	Poll time.Duration `env:"MAIL_POLL" envDefault:"1s"`
	// MaxAttempts is how many times a message the server refuses for now
	// (4xx, no connection) is tried before it is recorded as failed; the
	// waits double from RetryBase.
	MaxAttempts int           `env:"MAIL_MAX_ATTEMPTS" envDefault:"6"`
	RetryBase   time.Duration `env:"MAIL_RETRY_BASE" envDefault:"30s"`
	// DefaultFrequency is the frequency of a member who chose none (the
	// service's GEMELLA_NOTIFICATION_DEFAULT_EMAIL); immediate when empty.
	DefaultFrequency string `env:"-"`
}

// Validate reports every problem, naming the variables with prefix;
// sending says that e-mail is sent (an SMTP URL is set).
func (c Config) Validate(prefix string, sending bool) error {
	var errs []error
	if sending && len(c.UnsubscribeKey) < 32 {
		errs = append(errs, fmt.Errorf("%sUNSUBSCRIBE_KEY: at least 32 characters are required when GEMELLA_SMTP_URL is set", prefix))
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%sPUBLIC_URL %q: must be an http(s) URL", prefix, c.PublicURL))
	}
	for name, d := range map[string]time.Duration{"MAIL_POLL": c.Poll, "MAIL_RETRY_BASE": c.RetryBase} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s%s: must be positive", prefix, name))
		}
	}
	if c.Delay < 0 {
		errs = append(errs, fmt.Errorf("%sMAIL_DELAY: must not be negative", prefix))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("%sMAIL_MAX_ATTEMPTS: must be at least 1", prefix))
	}
	return errors.Join(errs...)
}

// Tokens sign and check unsubscribe links.
type Tokens struct{ key []byte }

// NewTokens signs with key.
func NewTokens(key string) Tokens { return Tokens{key: []byte(key)} }

func (t Tokens) mac(memberID string) []byte {
	h := hmac.New(sha256.New, t.key)
	h.Write([]byte("unsubscribe\x00" + memberID))
	return h.Sum(nil)
}

// Sign makes the token of a member's unsubscribe link.
func (t Tokens) Sign(memberID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(memberID)) + "." + base64.RawURLEncoding.EncodeToString(t.mac(memberID))
}

// ErrBadToken is a token this service did not sign.
var ErrBadToken = errors.New("the unsubscribe link is not valid")

// Verify returns the member a token names.
func (t Tokens) Verify(token string) (string, error) {
	if len(t.key) == 0 {
		return "", ErrBadToken
	}
	id64, mac64, ok := strings.Cut(token, ".")
	id, err1 := base64.RawURLEncoding.DecodeString(id64)
	mac, err2 := base64.RawURLEncoding.DecodeString(mac64)
	if !ok || err1 != nil || err2 != nil || len(id) == 0 || !hmac.Equal(mac, t.mac(string(id))) {
		return "", ErrBadToken
	}
	return string(id), nil
}

// Item is one notification in a message.
type Item struct {
	Text string
	Link string
}

// Compose writes the message of items to a member in lang; digest is
// daily or weekly for a digest, "" for a message at once.
func Compose(lang, publicURL, unsubURL string, items []Item, digest string) (subject, text, htmlBody string) {
	it := lang != "en"
	pick := func(a, b string) string {
		if it {
			return a
		}
		return b
	}
	base := strings.TrimRight(publicURL, "/")
	switch {
	case digest == "daily":
		subject = fmt.Sprintf(pick("Gemella: il riepilogo del giorno (%d novità)", "Gemella: your daily digest (%d updates)"), len(items))
	case digest == "weekly":
		subject = fmt.Sprintf(pick("Gemella: il riepilogo della settimana (%d novità)", "Gemella: your weekly digest (%d updates)"), len(items))
	case len(items) == 1:
		subject = "Gemella: " + items[0].Text
	default:
		subject = fmt.Sprintf(pick("Gemella: %d novità da ciò che segui", "Gemella: %d updates from what you follow"), len(items))
	}
	var t, h strings.Builder
	t.WriteString(pick("Novità da ciò che segui su Gemella:\n\n", "Updates from what you follow on Gemella:\n\n"))
	h.WriteString(`<!doctype html><html lang="` + map[bool]string{true: "it", false: "en"}[it] + `"><body><p>` +
		pick("Novità da ciò che segui su Gemella:", "Updates from what you follow on Gemella:") + "</p><ul>")
	for _, i := range items {
		fmt.Fprintf(&t, "- %s\n  %s%s\n", i.Text, base, i.Link)
		fmt.Fprintf(&h, `<li><a href="%s">%s</a></li>`, html.EscapeString(base+i.Link), html.EscapeString(i.Text))
	}
	prefs := base + "/notifications/preferences"
	fmt.Fprintf(&t, "\n%s %s\n%s %s\n", pick("Preferenze:", "Preferences:"), prefs, pick("Non ricevere più e-mail:", "Stop these e-mails:"), unsubURL)
	fmt.Fprintf(&h, `</ul><p><a href="%s">%s</a> · <a href="%s">%s</a></p></body></html>`,
		html.EscapeString(prefs), pick("Preferenze", "Preferences"), html.EscapeString(unsubURL), pick("Non ricevere più e-mail", "Stop these e-mails"))
	return subject, t.String(), h.String()
}
