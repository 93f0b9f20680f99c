package feed

import (
	"github.com/nats-io/nats.go"

	"github.com/gemella/gemella/services/platform/config"
)

// NATSAuth is how the hub proves itself to NATS and checks the servers:
// the credentials and TLS every service reads (config.NATS, under
// servicekit.Shared's GEMELLA_ prefix), so that one set of variables
// serves the gateway and the services. The URL and the stream replicas
// are the gateway's GEMELLA_NATS_URL and GEMELLA_NATS_STREAM_REPLICAS.
type NATSAuth struct {
	// The credentials, at most one kind: a user and password, a creds
	// file (JWT and seed, as nsc writes it), or an nkey seed file. None is
	// anonymous, or the user and password in the URL.
	User         string `env:"USER"`
	Password     string `env:"PASSWORD"`
	CredsFile    string `env:"CREDS_FILE"`
	NKeySeedFile string `env:"NKEY_SEED_FILE"`
	// TLS (GEMELLA_NATS_TLS_CA_FILE, _CERT_FILE, _KEY_FILE, _SERVER_NAME)
	// checks the servers' certificates against a private authority and
	// shows a client certificate to servers that verify clients.
	TLS config.ClientTLS `envPrefix:"TLS_"`
}

// NATS is the whole connection setting of the feed, as a service's, for
// validation (NATS(url, replicas).Validate("GEMELLA_") names the
// variables) and for the connect options.
func (a NATSAuth) NATS(url string, replicas int) config.NATS {
	return config.NATS{URL: url, StreamReplicas: replicas, User: a.User, Password: a.Password,
		CredsFile: a.CredsFile, NKeySeedFile: a.NKeySeedFile, TLS: a.TLS}
}

// connectOptions are the nats.Connect options of the credentials and TLS.
func (c Config) connectOptions() ([]nats.Option, error) {
	return c.Auth.NATS(c.NATSURL, c.Replicas).ConnectOptions(func(err error) {
		c.Logger.Error("nats client certificate no longer loads; keeping the previous one", "error", err)
	})
}
