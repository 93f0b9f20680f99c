package config

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// validateCredentials reports a user without a password (or the reverse),
// more than one kind of credentials, and files that cannot be read.
func (c NATS) validateCredentials(prefix string) error {
	var p Problems
	switch {
	case c.User != "" && c.Password == "":
		p.Addf("%sNATS_PASSWORD: is required with %sNATS_USER", prefix, prefix)
	case c.User == "" && c.Password != "":
		p.Addf("%sNATS_USER: is required with %sNATS_PASSWORD", prefix, prefix)
	}
	var kinds []string
	if c.User != "" || c.Password != "" {
		kinds = append(kinds, prefix+"NATS_USER")
	}
	if c.CredsFile != "" {
		kinds = append(kinds, prefix+"NATS_CREDS_FILE")
	}
	if c.NKeySeedFile != "" {
		kinds = append(kinds, prefix+"NATS_NKEY_SEED_FILE")
	}
	if len(kinds) > 1 {
		p.Addf("%s: set one kind of NATS credentials, not %d", strings.Join(kinds, ", "), len(kinds))
	}
	p.readable(prefix+"NATS_CREDS_FILE", c.CredsFile)
	p.readable(prefix+"NATS_NKEY_SEED_FILE", c.NKeySeedFile)
	return p.Err()
}

// ConnectOptions are the nats.Connect options that carry the configured
// credentials and TLS; none when neither is configured. A URL with the
// tls:// scheme asks for TLS against the system's roots without them.
// The authorities are read once, here; a client certificate is read again
// when its files change (ClientTLS.Load). report, when not nil, is told of
// a client certificate that no longer loads.
func (c NATS) ConnectOptions(report func(error)) ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats nkey seed %s: %w", c.NKeySeedFile, err)
		}
		opts = append(opts, opt)
	}
	if c.TLS.Enabled() {
		cfg, err := c.TLS.Load(report)
		if err != nil {
			return nil, fmt.Errorf("nats TLS: %w", err)
		}
		opts = append(opts, nats.Secure(cfg))
	}
	return opts, nil
}
