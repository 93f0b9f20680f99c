// Package config loads a service's typed configuration from environment
// variables (with defaults) and validates it, reporting every problem at once.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"go.mongodb.org/mongo-driver/v2/event"
)

// Validator is implemented by configuration structs that check themselves.
type Validator interface {
	Validate() error
}

// Load fills cfg (a pointer to a struct with `env` tags) from the environment
// and validates it. The error lists every variable that could not be parsed
// and every rule that is broken, not only the first.
func Load(cfg any) error {
	var errs []error
	if err := env.Parse(cfg); err != nil {
		var agg env.AggregateError
		if errors.As(err, &agg) {
			errs = append(errs, agg.Errors...)
		} else {
			errs = append(errs, err)
		}
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(errs...))
}

// Problems accumulates validation failures; Err joins them.
type Problems struct{ errs []error }

// Addf records one problem.
func (p *Problems) Addf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

// Add records an error if it is not nil.
func (p *Problems) Add(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Err joins every recorded problem, or is nil.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// HostPort checks that value is a host:port listen or dial address.
func (p *Problems) HostPort(name, value string) {
	if _, _, err := net.SplitHostPort(value); err != nil {
		p.Addf("%s: %q is not a host:port address", name, value)
	}
}

// URL checks that value is an absolute URL with one of the schemes.
func (p *Problems) URL(name, value string, schemes ...string) {
	u, err := url.Parse(value)
	if err != nil || u.Host == "" {
		p.Addf("%s: %q is not a URL", name, value)
		return
	}
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			return
		}
	}
	p.Addf("%s: scheme of %q must be one of %s", name, value, strings.Join(schemes, ", "))
}

// Positive checks that a duration is greater than zero.
func (p *Problems) Positive(name string, d time.Duration) {
	if d <= 0 {
		p.Addf("%s: must be greater than zero, got %s", name, d)
	}
}

// GRPCServer configures a service's gRPC listener.
type GRPCServer struct {
	// Addr is where the service listens.
	Addr string `env:"GRPC_ADDR"`
	// DefaultDeadline bounds calls that arrive without a deadline.
	DefaultDeadline time.Duration `env:"GRPC_DEFAULT_DEADLINE" envDefault:"10s"`
	// MetricsAddr serves Prometheus /metrics when set (e.g. 127.0.0.1:9191).
	MetricsAddr string `env:"METRICS_ADDR"`
	// TLS (GRPC_TLS_CERT_FILE, _KEY_FILE, _CLIENT_CA_FILE) makes the
	// listener speak TLS, and mutual TLS with a client authority.
	TLS ServerTLS `envPrefix:"GRPC_TLS_"`
	// HealthAddr, when set, serves the gRPC health service alone, in
	// plain text, for probes that cannot speak TLS (the kubelet's): it
	// carries no token and no data.
	HealthAddr string `env:"GRPC_HEALTH_ADDR"`
}

// Validate implements Validator.
func (c GRPCServer) Validate(prefix string) error {
	var p Problems
	p.HostPort(prefix+"GRPC_ADDR", c.Addr)
	p.Positive(prefix+"GRPC_DEFAULT_DEADLINE", c.DefaultDeadline)
	if c.MetricsAddr != "" {
		p.HostPort(prefix+"METRICS_ADDR", c.MetricsAddr)
	}
	if c.HealthAddr != "" {
		p.HostPort(prefix+"GRPC_HEALTH_ADDR", c.HealthAddr)
	}
	p.Add(c.TLS.Validate(prefix + "GRPC_TLS_"))
	return p.Err()
}

// Mongo configures the connection to a service's own database.
type Mongo struct {
	// URI carries the credentials and TLS too, as MongoDB's connection
	// string options: user:password@ (authSource=...), tls=true,
	// tlsCAFile=/path/ca.crt for a private authority, and
	// tlsCertificateKeyFile=/path/client.pem (certificate and key in one
	// file) for X.509 authentication. On Kubernetes the password comes
	// from a Secret through $(VAR) in the value (deploy/k8s).
	URI      string `env:"MONGO_URI" envDefault:"mongodb://127.0.0.1:27017"`
	Database string `env:"MONGO_DATABASE"`
	// Timeout bounds connecting and each operation that has no deadline.
	Timeout time.Duration `env:"MONGO_TIMEOUT" envDefault:"10s"`
	// DocLocks (MONGO_DOC_LOCKS) serialises the writes to each document
	// around its single update call, for a store that applies updates
	// non-atomically (FerretDB v1 reads, changes and writes back; see
	// platform/doclock). off (or false), the default, takes no lock: for
	// MongoDB, whose single-document writes are atomic across every
	// replica, with the conditions in the filters and no lock held across
	// network I/O. process keeps a semaphore per document in memory and
	// writes nothing to the store: right only when every writer of the
	// database runs in this one process (the dev stack of make run, where
	// each service runs once beside its embedded FerretDB). lease (or
	// true) adds a lease document per locked document in the database's
	// doc_locks collection, inserted before and deleted after each write,
	// which holds across every process on the database: for FerretDB
	// shared by several processes (the topology test). With process or
	// lease every write is filtered by exact _id and its conditions are
	// checked on a read under the lock, which FerretDB serves through its
	// _id index rather than a scan of the collection; with process, an
	// update uses the document it read to decide instead when nobody held
	// the document's lock since, which saves that read.
	DocLocks DocLockMode `env:"MONGO_DOC_LOCKS" envDefault:"off"`
	// Monitor, when set, sees every command the service's client sends:
	// the bench counts what one event costs the store. Not read from the
	// environment.
	Monitor *event.CommandMonitor `env:"-"`
}

// Validate implements Validator.
func (c Mongo) Validate(prefix string) error {
	var p Problems
	p.URL(prefix+"MONGO_URI", c.URI, "mongodb", "mongodb+srv")
	if c.Database == "" {
		p.Addf("%sMONGO_DATABASE: is required", prefix)
	}
	p.Positive(prefix+"MONGO_TIMEOUT", c.Timeout)
	if !c.DocLocks.valid() {
		p.Addf("%sMONGO_DOC_LOCKS: %q is not one of off, process, lease", prefix, string(c.DocLocks))
	}
	return p.Err()
}

// NATS configures the connection to NATS JetStream.
type NATS struct {
	// URL is where the NATS servers are, comma-separated (nats:// or tls://).
	URL string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	// StreamReplicas is 1 on one machine and 3 on a production cluster.
	StreamReplicas int `env:"NATS_STREAM_REPLICAS" envDefault:"1"`
	// The credentials, at most one kind (see nats.go: ConnectOptions):
	// a user and password, a creds file (JWT and seed, as nsc writes
	// it), or an nkey seed file. None is anonymous, or the user and
	// password in the URL.
	User         string `env:"NATS_USER"`
	Password     string `env:"NATS_PASSWORD"`
	CredsFile    string `env:"NATS_CREDS_FILE"`
	NKeySeedFile string `env:"NATS_NKEY_SEED_FILE"`
	// TLS (NATS_TLS_CA_FILE, _CERT_FILE, _KEY_FILE, _SERVER_NAME)
	// checks the servers' certificates against a private authority and
	// shows a client certificate to servers that verify clients.
	TLS ClientTLS `envPrefix:"NATS_TLS_"`
}

// Validate implements Validator.
func (c NATS) Validate(prefix string) error {
	var p Problems
	for _, u := range strings.Split(c.URL, ",") {
		p.URL(prefix+"NATS_URL", strings.TrimSpace(u), "nats", "tls")
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		p.Addf("%sNATS_STREAM_REPLICAS: must be between 1 and 5, got %d", prefix, c.StreamReplicas)
	}
	p.Add(c.validateCredentials(prefix))
	p.Add(c.TLS.Validate(prefix + "NATS_TLS_"))
	return p.Err()
}

// Defaults fills the fields of cfg that have an envDefault tag, reading no
// environment: the defaults stay written once, in the tags.
func Defaults(cfg any) {
	if err := env.ParseWithOptions(cfg, env.Options{Environment: map[string]string{}}); err != nil {
		panic(fmt.Sprintf("config defaults: %v", err)) // a malformed tag is a programming error
	}
}
