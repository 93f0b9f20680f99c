package stack

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
)

// The addresses a developer's tools expect, as in the services' own defaults.
const (
	DefaultHTTPAddr       = "127.0.0.1:8080"
	DefaultCatalogAddr    = "127.0.0.1:9091"
	DefaultTwinningAddr   = "127.0.0.1:9092"
	DefaultDiscussionAddr = "127.0.0.1:9093"
	DefaultNATSPort       = 4222
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
		{"HTTPAddr", o.HTTPAddr}, {"CatalogAddr", o.CatalogAddr}, {"TwinningAddr", o.TwinningAddr}, {"DiscussionAddr", o.DiscussionAddr}, {"MongoAddr", o.MongoAddr},
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
