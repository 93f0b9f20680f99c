package server

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/gemella/gemella/gateway/feed"
	"github.com/gemella/gemella/gateway/opendata"
	"github.com/gemella/gemella/gateway/portal"
	"github.com/gemella/gemella/services/platform/config"
)

// Config is everything the gateway reads from its environment. The envDefault
// tags are the single source of the defaults: DefaultConfig reads them too.
type Config struct {
	// HTTPAddr is the host:port the REST gateway listens on.
	HTTPAddr string `env:"GEMELLA_HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// MetricsAddr, when set, is the host:port that serves Prometheus
	// /metrics instead of HTTPAddr: set it in production, so the public
	// listener does not serve them (see telemetry.go).
	MetricsAddr string `env:"GEMELLA_GATEWAY_METRICS_ADDR"`
	// CatalogAddr is the host:port of the practice-catalog gRPC server.
	CatalogAddr string `env:"GEMELLA_CATALOG_ADDR" envDefault:"127.0.0.1:9091"`
	// TwinningAddr is the host:port of the twinning gRPC server; "none"
	// leaves its routes out (they answer 404).
	TwinningAddr string `env:"GEMELLA_TWINNING_ADDR" envDefault:"127.0.0.1:9092"`
	// DiscussionAddr is the host:port of the discussion gRPC server; "none"
	// leaves its routes out.
	DiscussionAddr string `env:"GEMELLA_DISCUSSION_ADDR" envDefault:"127.0.0.1:9093"`
	// NotificationAddr is the host:port of the notification gRPC server
	// (follows, notifications, their live stream); "none" leaves its
	// routes out.
	NotificationAddr string `env:"GEMELLA_NOTIFICATION_ADDR" envDefault:"127.0.0.1:9094"`
	// NATSURL is where the live feed (GET /v1/events) reads the services'
	// events; "none" turns the feed off.
	NATSURL string `env:"GEMELLA_NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	// FeedStreamReplicas is 3 on a production NATS cluster.
	FeedStreamReplicas int `env:"GEMELLA_NATS_STREAM_REPLICAS" envDefault:"1"`
	// FeedNATS are the live feed's NATS credentials and TLS, the same
	// variables as the services' (GEMELLA_NATS_USER, _PASSWORD,
	// _CREDS_FILE, _NKEY_SEED_FILE, GEMELLA_NATS_TLS_*).
	FeedNATS feed.NATSAuth `envPrefix:"GEMELLA_NATS_"`
	// Rate limits per client address, in requests per minute with a burst;
	// writes are limited per session at these figures and per address at
	// five times them (many members may share an office address). Over a
	// limit the answer is 429 with Retry-After (an HTML page on the
	// portal). They are the whole deployment's: the gateway replicas on
	// one NATS count each other (subject gemella.gateway.presence) and
	// each keeps 1/n of every figure.
	LoginPerMinute    int `env:"GEMELLA_RATE_LOGIN_PER_MINUTE" envDefault:"20"`
	LoginBurst        int `env:"GEMELLA_RATE_LOGIN_BURST" envDefault:"10"`
	RegisterPerMinute int `env:"GEMELLA_RATE_REGISTER_PER_MINUTE" envDefault:"30"`
	RegisterBurst     int `env:"GEMELLA_RATE_REGISTER_BURST" envDefault:"10"`
	WritePerMinute    int `env:"GEMELLA_RATE_WRITE_PER_MINUTE" envDefault:"120"`
	WriteBurst        int `env:"GEMELLA_RATE_WRITE_BURST" envDefault:"40"`
	// TrustProxyHeaders takes the client address from X-Forwarded-For; set
	// it only behind a proxy that overwrites that header.
	TrustProxyHeaders bool `env:"GEMELLA_TRUST_PROXY_HEADERS" envDefault:"false"`
	// CORSOrigins may call the API from a browser (comma-separated); empty
	// allows same-origin only.
	CORSOrigins []string `env:"GEMELLA_CORS_ORIGINS" envSeparator:","`
	// RequestTimeout bounds every request, the backend call included.
	RequestTimeout time.Duration `env:"GEMELLA_REQUEST_TIMEOUT" envDefault:"10s"`
	// PublicCacheTTL is how long a gateway replica reuses the answer of an
	// anonymous API read (0 turns it off). Writes through the replica and
	// the events its live feed receives empty it at once; browsers and
	// proxies may keep the same answers for 10 s anyway (Cache-Control).
	PublicCacheTTL time.Duration `env:"GEMELLA_GATEWAY_PUBLIC_CACHE_TTL" envDefault:"1s"`
	// MaxBodyBytes bounds every request body; a larger one is answered with 413.
	MaxBodyBytes int64 `env:"GEMELLA_MAX_BODY_BYTES" envDefault:"1048576"`
	// ShutdownTimeout is how long in-flight requests may take to finish once
	// the gateway is asked to stop.
	ShutdownTimeout time.Duration `env:"GEMELLA_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// Portal configures the web pages served on "/" (GEMELLA_PORTAL_*).
	Portal portal.Config `envPrefix:"GEMELLA_PORTAL_"`
	// Backends is how the backends are called: TLS, with a client
	// certificate for services that require one
	// (GEMELLA_GRPC_CLIENT_TLS_*). A backend address may be
	// dns:///host:port to spread calls over every replica.
	Backends config.GRPCClient `envPrefix:"GEMELLA_"`
	// OpenData configures the downloads and the catalogue under /opendata/
	// (GEMELLA_OPENDATA_*).
	OpenData opendata.Config `envPrefix:"GEMELLA_OPENDATA_"`
}

// DefaultConfig returns the configuration used when no variable is set.
func DefaultConfig() Config {
	cfg, err := env.ParseAsWithOptions[Config](env.Options{Environment: map[string]string{}})
	if err != nil {
		// The defaults are literals in this file; failing to parse them is a bug.
		panic(fmt.Sprintf("gateway: default configuration does not parse: %v", err))
	}
	return cfg
}

// LoadConfig reads the configuration from the process environment and
// validates it, reporting every problem at once.
func LoadConfig() (Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports every problem of the configuration, joined.
func (c Config) Validate() error {
	var errs []error
	if err := validateHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("GEMELLA_HTTP_ADDR %q: %w", c.HTTPAddr, err))
	}
	if c.MetricsAddr != "" {
		if err := validateHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("GEMELLA_GATEWAY_METRICS_ADDR %q: %w", c.MetricsAddr, err))
		} else if c.MetricsAddr == c.HTTPAddr && !strings.HasSuffix(c.MetricsAddr, ":0") {
			errs = append(errs, fmt.Errorf("GEMELLA_GATEWAY_METRICS_ADDR %q: must differ from GEMELLA_HTTP_ADDR (leave it empty to serve /metrics there)", c.MetricsAddr))
		}
	}
	for name, addr := range map[string]string{"GEMELLA_CATALOG_ADDR": c.CatalogAddr, "GEMELLA_TWINNING_ADDR": c.TwinningAddr, "GEMELLA_DISCUSSION_ADDR": c.DiscussionAddr, "GEMELLA_NOTIFICATION_ADDR": c.NotificationAddr} {
		if addr == "" || addr == BackendDisabled {
			continue
		}
		var p config.Problems
		p.Target(name, addr)
		if err := p.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.Backends.Validate("GEMELLA_"); err != nil {
		errs = append(errs, err)
	}
	if c.NATSURL != "" && c.NATSURL != BackendDisabled {
		if err := c.FeedNATS.NATS(c.NATSURL, c.FeedStreamReplicas).Validate("GEMELLA_"); err != nil {
			errs = append(errs, err)
		}
	}
	for name, v := range map[string]int{"GEMELLA_RATE_LOGIN_PER_MINUTE": c.LoginPerMinute, "GEMELLA_RATE_LOGIN_BURST": c.LoginBurst,
		"GEMELLA_RATE_REGISTER_PER_MINUTE": c.RegisterPerMinute, "GEMELLA_RATE_REGISTER_BURST": c.RegisterBurst,
		"GEMELLA_RATE_WRITE_PER_MINUTE": c.WritePerMinute, "GEMELLA_RATE_WRITE_BURST": c.WriteBurst} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s %d: must be positive", name, v))
		}
	}
	for _, o := range c.CORSOrigins {
		if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			errs = append(errs, fmt.Errorf("GEMELLA_CORS_ORIGINS %q: must be an http(s) origin or *", o))
		}
	}
	if c.PublicCacheTTL < 0 || c.PublicCacheTTL > time.Minute {
		errs = append(errs, fmt.Errorf("GEMELLA_GATEWAY_PUBLIC_CACHE_TTL %s: must be between 0 (off) and 1m", c.PublicCacheTTL))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("GEMELLA_REQUEST_TIMEOUT %s: must be positive", c.RequestTimeout))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("GEMELLA_MAX_BODY_BYTES %d: must be positive", c.MaxBodyBytes))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("GEMELLA_SHUTDOWN_TIMEOUT %s: must be positive", c.ShutdownTimeout))
	}
	if err := c.Portal.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.OpenData.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validateHostPort(addr string) error {
	if addr == "" {
		return errors.New("is required")
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("must be host:port: %w", err)
	} else if port == "" {
		return errors.New("must name a port")
	}
	return nil
}

// BackendDisabled as a backend address leaves that backend out.
const BackendDisabled = "none"
