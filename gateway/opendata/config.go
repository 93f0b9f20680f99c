package opendata

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the open data's part of the gateway configuration; the gateway
// reads it from GEMELLA_OPENDATA_* variables.
type Config struct {
	// BaseURL is the public address of the gateway, e.g.
	// https://gemella.regione.example.it, used for the absolute links of
	// the DCAT catalogue. Empty takes them from each request's Host (and
	// X-Forwarded-Proto behind a trusted proxy); set it in production, so
	// the catalogue never repeats a Host header a client made up.
	BaseURL string `env:"BASE_URL"`
	// PublisherName is the administration that publishes the data, as the
	// catalogue names it (dct:publisher and dct:rightsHolder).
	PublisherName string `env:"PUBLISHER_NAME" envDefault:"Gemella"`
	// PublisherID is its code in the IPA index (indicepa.gov.it), e.g.
	// "r_toscan"; it also prefixes each dataset's dct:identifier.
	PublisherID string `env:"PUBLISHER_ID" envDefault:"gemella"`
	// ContactEmail is the catalogue's contact point; empty leaves it out.
	ContactEmail string `env:"CONTACT_EMAIL"`
	// Frequency is the update frequency of the datasets, a code of the EU
	// frequency vocabulary: the platform's data changes as people use it.
	Frequency string `env:"FREQUENCY" envDefault:"UPDATE_CONT"`
	// CacheTTL is how long a table's fingerprint (ETag, Last-Modified) is
	// trusted to answer a conditional request with 304 after checking only
	// the first page; new rows show at once, changes to older rows within
	// this time.
	CacheTTL time.Duration `env:"CACHE_TTL" envDefault:"30s"`
	// ExportTimeout bounds one download, both passes included. Downloads
	// are exempt from the gateway's request timeout.
	ExportTimeout time.Duration `env:"EXPORT_TIMEOUT" envDefault:"10m"`
	// CallTimeout bounds each list call to a service.
	CallTimeout time.Duration `env:"CALL_TIMEOUT" envDefault:"15s"`
	// MaxExports is how many downloads one gateway runs at once; more are
	// answered 503 with Retry-After, so bulk readers cannot crowd out the
	// services' other callers.
	MaxExports int `env:"MAX_EXPORTS" envDefault:"4"`
	// TrustForwardedProto takes X-Forwarded-Proto for the scheme of the
	// catalogue's links; the gateway sets it when it trusts its proxy.
	TrustForwardedProto bool `env:"-"`
}

// DefaultConfig is the configuration with every default: the envDefault
// tags above are their single source.
func DefaultConfig() Config {
	cfg, err := env.ParseAsWithOptions[Config](env.Options{Environment: map[string]string{}})
	if err != nil {
		// The defaults are literals in this file; failing to parse them is a bug.
		panic(fmt.Sprintf("opendata: default configuration does not parse: %v", err))
	}
	return cfg
}

// frequencies are the codes of the EU frequency vocabulary
// (http://publications.europa.eu/resource/authority/frequency) that fit a
// platform's live data.
var frequencies = []string{"UPDATE_CONT", "CONT", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "IRREG"}

// ipaCode is the shape of a code of the IPA index: letters, digits and
// underscores.
var ipaCode = regexp.MustCompile(`^[A-Za-z0-9_]{1,40}$`)

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("GEMELLA_OPENDATA_BASE_URL %q: must be an http(s) origin such as https://gemella.example.it, without path or query", c.BaseURL))
		}
	}
	if strings.TrimSpace(c.PublisherName) == "" {
		errs = append(errs, errors.New("GEMELLA_OPENDATA_PUBLISHER_NAME: is required"))
	}
	if !ipaCode.MatchString(c.PublisherID) {
		errs = append(errs, fmt.Errorf("GEMELLA_OPENDATA_PUBLISHER_ID %q: must be an IPA code (letters, digits, underscores; at most 40)", c.PublisherID))
	}
	if c.ContactEmail != "" && (!strings.Contains(c.ContactEmail, "@") || strings.ContainsAny(c.ContactEmail, " <>\"")) {
		errs = append(errs, fmt.Errorf("GEMELLA_OPENDATA_CONTACT_EMAIL %q: must be an e-mail address", c.ContactEmail))
	}
	if !slices.Contains(frequencies, c.Frequency) {
		errs = append(errs, fmt.Errorf("GEMELLA_OPENDATA_FREQUENCY %q: must be one of %s (EU frequency vocabulary)", c.Frequency, strings.Join(frequencies, ", ")))
	}
	if c.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("GEMELLA_OPENDATA_CACHE_TTL %s: must not be negative", c.CacheTTL))
	}
	if c.ExportTimeout <= 0 {
		errs = append(errs, fmt.Errorf("GEMELLA_OPENDATA_EXPORT_TIMEOUT %s: must be positive", c.ExportTimeout))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, fmt.Errorf("GEMELLA_OPENDATA_CALL_TIMEOUT %s: must be positive", c.CallTimeout))
	}
	if c.MaxExports < 1 {
		errs = append(errs, fmt.Errorf("GEMELLA_OPENDATA_MAX_EXPORTS %d: must be at least 1", c.MaxExports))
	}
	return errors.Join(errs...)
}
