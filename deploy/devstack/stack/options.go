package stack

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	gateway "github.com/gemella/gemella/gateway/server"
)

// The addresses a developer's tools expect, as in the services' own defaults.
const (
	DefaultHTTPAddr       = "127.0.0.1:8080"
	DefaultCatalogAddr    = "127.0.0.1:9091"
	DefaultTwinningAddr   = "127.0.0.1:9092"
	DefaultDiscussionAddr = "127.0.0.1:9093"
	// DefaultNotificationAddr is the notification service's gRPC port.
	DefaultNotificationAddr = "127.0.0.1:9094"
	// DefaultSMTPAddr is the devstack mailbox's SMTP port, and
	// DefaultMailboxAddr its web page.
	DefaultSMTPAddr    = "127.0.0.1:2525"
	DefaultMailboxAddr = "127.0.0.1:8025"
	DefaultNATSPort    = 4222
)

// Options configures Start.
type Options struct {
	// DataDir holds everything the stack stores: DataDir/nats (the JetStream
	// file store) and DataDir/ferretdb (the SQLite databases). Required;
	// created if missing. Starting again on the same directory finds the
	// data again.
	DataDir string
	// HTTPAddr is where the gateway listens; DefaultHTTPAddr when empty.
	// Port 0 picks a free port.
	HTTPAddr string
	// CatalogAddr is where the practice-catalog gRPC server listens;
	// DefaultCatalogAddr when empty. Port 0 picks a free port.
	CatalogAddr string
	// TwinningAddr is where the twinning gRPC server listens;
	// DefaultTwinningAddr when empty. Port 0 picks a free port.
	TwinningAddr string
	// DiscussionAddr is where the discussion gRPC server listens;
	// DefaultDiscussionAddr when empty. Port 0 picks a free port.
	DiscussionAddr string
	// NotificationAddr is where the notification gRPC server listens; a
	// free port when empty (DefaultOptions: DefaultNotificationAddr).
	NotificationAddr string
	// SMTPAddr is where the mailbox (an SMTP server that keeps what the
	// devstack sends under DataDir/mail) listens, and MailboxAddr its web
	// page; free ports when empty (DefaultOptions: DefaultSMTPAddr and
	// DefaultMailboxAddr).
	SMTPAddr    string
	MailboxAddr string
	// MailDelay is how long a notification waits before it is mailed
	// (GEMELLA_NOTIFICATION_MAIL_DELAY); 5s when zero.
	MailDelay time.Duration

	// NATSPort is the port of the embedded NATS server. 0 picks a free port
	// (for tests); DefaultOptions sets DefaultNATSPort.
	NATSPort int
	// MongoAddr is where the embedded FerretDB listens; empty picks a free
	// port on 127.0.0.1. URLs reports the resulting MongoDB URI.
	MongoAddr string
	// Logger receives every component's log lines, each tagged with a
	// "component" attribute; slog.Default() when nil.
	Logger *slog.Logger
	// LoadDemo loads the demo organisations and practices (package demo)
	// once the services answer. Loading is idempotent.
	LoadDemo bool
	// Gateway, when set, adjusts the gateway's configuration before it
	// starts: the browser tests, which log in a few dozen times a minute
	// from one address, raise its rate limits.
	Gateway func(*gateway.Config) `json:"-"`
}

// DefaultOptions is what `make run` uses with no variable set: the
// well-known ports on loopback (DefaultConfig).
func DefaultOptions(dataDir string) Options { return DefaultConfig().Options(dataDir) }

// withDefaults fills the empty addresses and the logger.
func (o Options) withDefaults() Options {
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultHTTPAddr
	}
	if o.CatalogAddr == "" {
		o.CatalogAddr = DefaultCatalogAddr
	}
	if o.TwinningAddr == "" {
		o.TwinningAddr = DefaultTwinningAddr
	}
	if o.DiscussionAddr == "" {
		o.DiscussionAddr = DefaultDiscussionAddr
	}
	// Added after the others: options written before them (tests) get
	// free ports, not well-known ones that two stacks would share;
	// DefaultOptions names the well-known ones.
	if o.NotificationAddr == "" {
		o.NotificationAddr = freeAddr
	}
	if o.SMTPAddr == "" {
		o.SMTPAddr = freeAddr
	}
	if o.MailboxAddr == "" {
		o.MailboxAddr = freeAddr
	}
	if o.MailDelay <= 0 {
		o.MailDelay = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// validate reports every problem at once.
func (o Options) validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("DataDir: is required"))
	}
	for _, a := range []struct{ name, value string }{
		{"HTTPAddr", o.HTTPAddr}, {"CatalogAddr", o.CatalogAddr}, {"TwinningAddr", o.TwinningAddr}, {"DiscussionAddr", o.DiscussionAddr},
		{"NotificationAddr", o.NotificationAddr}, {"SMTPAddr", o.SMTPAddr}, {"MailboxAddr", o.MailboxAddr}, {"MongoAddr", o.MongoAddr},
	} {
		if a.value == "" && a.name == "MongoAddr" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a host:port address", a.name, a.value))
		}
	}
	if o.NATSPort < 0 || o.NATSPort > 65535 {
		errs = append(errs, fmt.Errorf("NATSPort: %d is not a TCP port", o.NATSPort))
	}
	return errors.Join(errs...)
}
