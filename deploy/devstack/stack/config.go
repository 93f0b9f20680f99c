package stack

import (
	"fmt"

	"github.com/gemella/gemella/services/platform/config"
)

// Config is what the devstack (`make run`, cmd/devstack) reads from its
// environment. An address left unset takes the well-known port of
// DefaultConfig, or a free one with FreePorts; the devstack prints what it
// chose.
type Config struct {
	// DataDir is where NATS, FerretDB, the search index and the signing
	// key are kept; empty means .data at the repository root. Two
	// devstacks side by side need two folders.
	DataDir string `env:"GEMELLA_DATA_DIR"`
	// HTTPAddr is where the gateway (REST API, portal, live feed) listens.
	HTTPAddr string `env:"GEMELLA_HTTP_ADDR"`
	// CatalogAddr is where the practice-catalog gRPC server listens.
	CatalogAddr string `env:"GEMELLA_CATALOG_ADDR"`
	// TwinningAddr is where the twinning gRPC server listens.
	TwinningAddr string `env:"GEMELLA_TWINNING_ADDR"`
	// DiscussionAddr is where the discussion gRPC server listens.
	DiscussionAddr string `env:"GEMELLA_DISCUSSION_ADDR"`
	// NotificationAddr is where the notification gRPC server listens.
	NotificationAddr string `env:"GEMELLA_NOTIFICATION_ADDR"`
	// SMTPAddr is where the devstack's mailbox receives the e-mail the
	// devstack sends (SMTP, kept under the data folder's mail/).
	SMTPAddr string `env:"GEMELLA_DEVSTACK_SMTP_ADDR"`
	// MailboxAddr is where the mailbox's page lists those messages.
	MailboxAddr string `env:"GEMELLA_DEVSTACK_MAILBOX_ADDR"`
	// NATSPort is the port of the embedded NATS server on 127.0.0.1; 0
	// picks a free one.
	NATSPort *int `env:"GEMELLA_NATS_PORT"`
	// MongoAddr is where the embedded FerretDB (MongoDB wire protocol)
	// listens; empty picks a free port on 127.0.0.1.
	MongoAddr string `env:"GEMELLA_DEVSTACK_MONGO_ADDR"`
	// FreePorts picks a free loopback port for every address above that
	// is not set, instead of the well-known ones: for a second devstack
	// beside the first (with its own GEMELLA_DATA_DIR).
	FreePorts bool `env:"GEMELLA_DEVSTACK_FREE_PORTS"`
}

// freeAddr asks the system for a free port on loopback.
const freeAddr = "127.0.0.1:0"

// DefaultConfig is what an unset variable means without FreePorts: the
// addresses a developer's tools expect, as in the services' own defaults.
func DefaultConfig() Config {
	port := DefaultNATSPort
	return Config{
		HTTPAddr: DefaultHTTPAddr, CatalogAddr: DefaultCatalogAddr, TwinningAddr: DefaultTwinningAddr,
		DiscussionAddr: DefaultDiscussionAddr, NotificationAddr: DefaultNotificationAddr,
		SMTPAddr: DefaultSMTPAddr, MailboxAddr: DefaultMailboxAddr, NATSPort: &port,
	}
}

// LoadConfig reads the devstack's variables and validates them,
// reporting every problem at once.
func LoadConfig() (Config, error) {
	var cfg Config
	err := config.Load(&cfg)
	return cfg, err
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var p config.Problems
	for _, a := range []struct{ name, value string }{
		{"GEMELLA_HTTP_ADDR", c.HTTPAddr}, {"GEMELLA_CATALOG_ADDR", c.CatalogAddr}, {"GEMELLA_TWINNING_ADDR", c.TwinningAddr},
		{"GEMELLA_DISCUSSION_ADDR", c.DiscussionAddr}, {"GEMELLA_DEVSTACK_MONGO_ADDR", c.MongoAddr},
		{"GEMELLA_NOTIFICATION_ADDR", c.NotificationAddr}, {"GEMELLA_DEVSTACK_SMTP_ADDR", c.SMTPAddr}, {"GEMELLA_DEVSTACK_MAILBOX_ADDR", c.MailboxAddr},
	} {
		if a.value != "" {
			p.HostPort(a.name, a.value)
		}
	}
	if c.NATSPort != nil && (*c.NATSPort < 0 || *c.NATSPort > 65535) {
		p.Addf("GEMELLA_NATS_PORT: %d is not a TCP port", *c.NATSPort)
	}
	return p.Err()
}

// Options are the stack's options for this configuration, its data in
// dataDir.
func (c Config) Options(dataDir string) Options {
	d := DefaultConfig()
	pick := func(set, well string) string {
		switch {
		case set != "":
			return set
		case c.FreePorts:
			return freeAddr
		}
		return well
	}
	natsPort := *d.NATSPort
	switch {
	case c.NATSPort != nil:
		natsPort = *c.NATSPort
	case c.FreePorts:
		natsPort = 0
	}
	return Options{
		DataDir:          dataDir,
		HTTPAddr:         pick(c.HTTPAddr, d.HTTPAddr),
		CatalogAddr:      pick(c.CatalogAddr, d.CatalogAddr),
		TwinningAddr:     pick(c.TwinningAddr, d.TwinningAddr),
		DiscussionAddr:   pick(c.DiscussionAddr, d.DiscussionAddr),
		NotificationAddr: pick(c.NotificationAddr, d.NotificationAddr),
		SMTPAddr:         pick(c.SMTPAddr, d.SMTPAddr),
		MailboxAddr:      pick(c.MailboxAddr, d.MailboxAddr),
		NATSPort:         natsPort,
		MongoAddr:        c.MongoAddr,
	}
}

// String lists where everything listens, on one line.
func (u URLs) String() string {
	return fmt.Sprintf("gateway %s, catalog %s, twinning %s, discussion %s, notification %s, NATS %s, MongoDB %s, mailbox %s (SMTP %s)",
		u.Gateway, u.Catalog, u.Twinning, u.Discussion, u.Notification, u.NATS, u.Mongo, u.Mailbox, u.SMTP)
}
