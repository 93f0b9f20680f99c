// Package mail sends the notifications' e-mail over SMTP (with
// github.com/wneessen/go-mail): messages in the member's language, plain
// text and HTML, with List-Unsubscribe and one-click unsubscribe (RFC
// 8058) by a signed token. Each notification goes out at most once: the
// mailer claims it in the store before sending, records the outcome after,
// and never sends again what a crashed replica had claimed.
package mail

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPConfig is the SMTP server and the sender, which every service
// that sends e-mail reads alike (GEMELLA_SMTP_*, GEMELLA_MAIL_FROM*).
type SMTPConfig struct {
	// URL is the SMTP server's: smtp://[user:password@]host:port
	// (STARTTLS when the server offers it), smtp+starttls:// (STARTTLS
	// required) or smtps://host:port (TLS from the start); empty sends no
	// e-mail.
	URL string `env:"SMTP_URL"`
	// Timeout bounds one SMTP conversation.
	Timeout time.Duration `env:"SMTP_TIMEOUT" envDefault:"15s"`
	// From is the sender's address.
	From string `env:"MAIL_FROM" envDefault:"notifiche@gemella.test"`
	// FromName is the sender's name.
	FromName string `env:"MAIL_FROM_NAME" envDefault:"Gemella"`
}

// Validate reports every problem, naming the variables with prefix.
func (c SMTPConfig) Validate(prefix string) error {
	var errs []error
	if c.URL != "" {
		if _, err := parseSMTPURL(c.URL); err != nil {
			errs = append(errs, fmt.Errorf("%sSMTP_URL: %w", prefix, err))
		}
		if !strings.Contains(c.From, "@") {
			errs = append(errs, fmt.Errorf("%sMAIL_FROM %q: must be an e-mail address", prefix, c.From))
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("%sSMTP_TIMEOUT: must be positive", prefix))
	}
	return errors.Join(errs...)
}

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

type smtpTarget struct {
	host           string
	port           int
	user, password string
	ssl, mandatory bool
}

func parseSMTPURL(raw string) (smtpTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return smtpTarget{}, fmt.Errorf("not a URL: %w", err)
	}
	t := smtpTarget{host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
	case "smtp+starttls":
		t.mandatory = true
	case "smtps":
		t.ssl = true
	default:
		return smtpTarget{}, fmt.Errorf("scheme %q: must be smtp, smtp+starttls or smtps", u.Scheme)
	}
	if t.host == "" {
		return smtpTarget{}, errors.New("a host is required")
	}
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "465", false: "587"}[t.ssl]
	}
	if t.port, err = strconv.Atoi(port); err != nil || t.port <= 0 || t.port > 65535 {
		return smtpTarget{}, fmt.Errorf("port %q: must be 1 to 65535", port)
	}
	if u.User != nil {
		t.user = u.User.Username()
		t.password, _ = u.User.Password()
	}
	return t, nil
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

// Message is one e-mail to one member.
type Message struct {
	// ID is the idempotency key, sent as the Message-ID.
	ID       string
	To       string
	Subject  string
	Text     string
	HTML     string
	UnsubURL string
}

// Sender sends messages; a *TempError is worth another try.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// TempError is a refusal for now: a 4xx answer or no connection.
type TempError struct{ Err error }

func (e *TempError) Error() string { return "temporary: " + e.Err.Error() }
func (e *TempError) Unwrap() error { return e.Err }

// SMTP sends through an SMTP server with go-mail.
type SMTP struct {
	cfg    SMTPConfig
	target smtpTarget
}

// NewSMTP checks the URL; nothing connects until Send.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	t, err := parseSMTPURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	return &SMTP{cfg: cfg, target: t}, nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.FromFormat(s.cfg.FromName, s.cfg.From); err != nil {
		return fmt.Errorf("sender %q: %w", s.cfg.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("address %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@" + domainOf(s.cfg.From))
	msg.SetDate()
	msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+m.UnsubURL+">")
	msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)

	opts := []gomail.Option{gomail.WithPort(s.target.port), gomail.WithTimeout(s.cfg.Timeout)}
	switch {
	case s.target.ssl:
		opts = append(opts, gomail.WithSSL())
	case s.target.mandatory:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.target.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(s.target.user), gomail.WithPassword(s.target.password))
	}
	client, err := gomail.NewClient(s.target.host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		var ne net.Error
		if (errors.As(err, &se) && se.IsTemp()) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
			return &TempError{Err: err}
		}
		if se != nil && se.ErrorCode() >= 400 && se.ErrorCode() < 500 {
			return &TempError{Err: err}
		}
		return err
	}
	return nil
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return d
	}
	return "gemella.test"
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
