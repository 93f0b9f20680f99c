package servicekit

import (
	"errors"
	"time"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
)

// SharedPrefix is the prefix of the variables every service reads alike:
// GEMELLA_NATS_* and GEMELLA_AUTH_PUBLIC_KEYS.
const SharedPrefix = "GEMELLA_"

// Own is the part of the configuration every service has under its own
// prefix: with prefix "GEMELLA_CATALOG_", GEMELLA_CATALOG_GRPC_ADDR,
// GEMELLA_CATALOG_MONGO_URI and so on. A service embeds it in its
// configuration with that prefix:
//
//	servicekit.Own `envPrefix:"GEMELLA_CATALOG_"`
type Own struct {
	GRPC  config.GRPCServer
	Mongo config.Mongo
}

// OwnConfig is the part itself; with SharedConfig and Validate it makes
// a configuration that embeds Own and Shared a Settings.
func (o Own) OwnConfig() Own { return o }

// Validate reports every problem, naming the variables with prefix.
func (o Own) Validate(prefix string) error {
	return errors.Join(o.GRPC.Validate(prefix), o.Mongo.Validate(prefix))
}

// Shared is the part of the configuration every service reads alike,
// under SharedPrefix: GEMELLA_NATS_* and GEMELLA_AUTH_PUBLIC_KEYS. A
// service embeds it with that prefix:
//
//	servicekit.Shared `envPrefix:"GEMELLA_"`
type Shared struct {
	NATS config.NATS
	// Auth lists the public keys that verify session tokens.
	Auth auth.VerifierConfig
	// GRPCClient is the TLS of the calls this service makes to others
	// (GEMELLA_GRPC_CLIENT_TLS_*); plain text when unset.
	GRPCClient config.GRPCClient
}

// SharedConfig is the part itself.
func (s Shared) SharedConfig() Shared { return s }

// Validate reports every problem. keysRequired refuses an empty key list:
// a service that verifies only tokens signed elsewhere would otherwise
// treat every caller as anonymous.
func (s Shared) Validate(keysRequired bool) error {
	return errors.Join(s.NATS.Validate(SharedPrefix), s.Auth.Validate(SharedPrefix, keysRequired), s.GRPCClient.Validate(SharedPrefix))
}

// Settings is a service's whole configuration as the kit takes it: it
// validates itself, the kit's parts and the rest, and hands over the
// kit's parts. A configuration may also have a method
// Health() HealthConfig to tune the health checks.
type Settings interface {
	Validate() error
	OwnConfig() Own
	SharedConfig() Shared
}

// Config is what the kit takes from Settings.
type Config struct {
	Own
	Shared
	Health HealthConfig
}

func configOf(s Settings) Config {
	cfg := Config{Own: s.OwnConfig(), Shared: s.SharedConfig()}
	if h, ok := s.(interface{ Health() HealthConfig }); ok {
		cfg.Health = h.Health()
	}
	return cfg
}

// LoadConfig reads the environment over defaults and validates the result,
// reporting every problem at once (config.Load). *C should implement
// config.Validator.
func LoadConfig[C any](defaults C) (C, error) {
	cfg := defaults
	err := config.Load(&cfg)
	return cfg, err
}

// Defaults fills the fields of cfg that have an envDefault tag, reading no
// environment (config.Defaults), and returns it.
func Defaults[C any](cfg C) C {
	config.Defaults(&cfg)
	return cfg
}

// HealthConfig tunes the health checks.
type HealthConfig struct {
	// Interval between two rounds of checks; default 1s.
	Interval time.Duration
	// Timeout of one check; default 1s. A store or a broker slower than
	// that to answer a ping is as good as away.
	Timeout time.Duration
	// FailuresToDown is how many failed checks in a row take a
	// dependency down; default 2, so that one slow answer under load does
	// not turn callers away. One success brings it back.
	FailuresToDown int
}

func (c HealthConfig) withDefaults() HealthConfig {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.FailuresToDown <= 0 {
		c.FailuresToDown = 2
	}
	return c
}
