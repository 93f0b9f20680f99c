// Package mailx sends e-mail over SMTP with github.com/wneessen/go-mail:
// the server and sender settings every service that mails reads alike
// (GEMELLA_SMTP_*, GEMELLA_MAIL_FROM*), one message with a plain-text and
// an HTML part, and the difference between a refusal for now (worth
// another try) and a final one. What to send, and how often, is the
// services' business.
package mailx

import (
	"context"
	"errors"
	"fmt"
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

// ParseURL checks an SMTP URL as SMTPConfig.URL takes it.
func ParseURL(raw string) error {
	_, err := parseSMTPURL(raw)
	return err
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

// Message is one e-mail to one member.
type Message struct {
	// ID is the idempotency key, sent as the Message-ID.
	ID      string
	To      string
	Subject string
	Text    string
	HTML    string
	// UnsubURL is the one-click unsubscribe link (List-Unsubscribe, RFC
	// 8058); empty for a message nobody unsubscribes from (a password
	// reset).
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
	if m.UnsubURL != "" {
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+m.UnsubURL+">")
		msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
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

// Disabled reports a configuration that sends no e-mail.
func (c SMTPConfig) Disabled() bool { return c.URL == "" }
