package config

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// ServerTLS is a server's certificate, from PEM files, and optionally the
// authority its clients' certificates must be signed by (mutual TLS). It is
// off while CertFile is empty. The files are read again when they change
// (see ServerTLS.Load), so a renewed certificate is served without a
// restart: on Kubernetes, a Secret mounted as a volume is updated in place.
type ServerTLS struct {
	// CertFile is the server's certificate chain (PEM), leaf first.
	CertFile string `env:"CERT_FILE"`
	// KeyFile is the private key of CertFile's leaf (PEM).
	KeyFile string `env:"KEY_FILE"`
	// ClientCAFile, when set, switches mutual TLS on: every client must
	// present a certificate signed by one of these authorities (PEM), or
	// the handshake fails.
	ClientCAFile string `env:"CLIENT_CA_FILE"`
}

// Enabled reports whether the server speaks TLS.
func (c ServerTLS) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

// Validate reports a certificate without its key (or the reverse), a
// client authority without a certificate, and files that cannot be read,
// naming each variable with prefix (e.g. "GEMELLA_CATALOG_GRPC_TLS_").
func (c ServerTLS) Validate(prefix string) error {
	var p Problems
	switch {
	case c.CertFile != "" && c.KeyFile == "":
		p.Addf("%sKEY_FILE: is required with %sCERT_FILE", prefix, prefix)
	case c.CertFile == "" && c.KeyFile != "":
		p.Addf("%sCERT_FILE: is required with %sKEY_FILE", prefix, prefix)
	}
	if c.ClientCAFile != "" && !c.Enabled() {
		p.Addf("%sCLIENT_CA_FILE: mutual TLS needs %sCERT_FILE and %sKEY_FILE", prefix, prefix, prefix)
	}
	p.readable(prefix+"CERT_FILE", c.CertFile)
	p.readable(prefix+"KEY_FILE", c.KeyFile)
	p.readable(prefix+"CLIENT_CA_FILE", c.ClientCAFile)
	return p.Err()
}

// ClientTLS is how a client checks the servers it connects to, and the
// certificate it shows them when they ask for one (mutual TLS). It is off
// while both CAFile and CertFile are empty.
type ClientTLS struct {
	// CAFile holds the authorities (PEM) that sign the servers'
	// certificates; empty trusts the system's roots.
	CAFile string `env:"CA_FILE"`
	// CertFile and KeyFile are the client's certificate chain and key
	// (PEM), for servers that require one.
	CertFile string `env:"CERT_FILE"`
	KeyFile  string `env:"KEY_FILE"`
	// ServerName, when set, is the name every server's certificate must
	// carry, instead of the host name dialled.
	ServerName string `env:"SERVER_NAME"`
}

// Enabled reports whether the client speaks TLS.
func (c ClientTLS) Enabled() bool { return c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" }

// Validate reports a certificate without its key (or the reverse), a
// server name with TLS off, and files that cannot be read, naming each
// variable with prefix (e.g. "GEMELLA_GRPC_CLIENT_TLS_").
func (c ClientTLS) Validate(prefix string) error {
	var p Problems
	switch {
	case c.CertFile != "" && c.KeyFile == "":
		p.Addf("%sKEY_FILE: is required with %sCERT_FILE", prefix, prefix)
	case c.CertFile == "" && c.KeyFile != "":
		p.Addf("%sCERT_FILE: is required with %sKEY_FILE", prefix, prefix)
	}
	if c.ServerName != "" && !c.Enabled() {
		p.Addf("%sSERVER_NAME: needs %sCA_FILE (or a client certificate) to switch TLS on", prefix, prefix)
	}
	p.readable(prefix+"CA_FILE", c.CAFile)
	p.readable(prefix+"CERT_FILE", c.CertFile)
	p.readable(prefix+"KEY_FILE", c.KeyFile)
	return p.Err()
}

// readable checks that a file named by a variable can be read, when set.
func (p *Problems) readable(name, path string) {
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		p.Addf("%s: cannot read %q: %v", name, path, errors.Unwrap(err))
		return
	}
	_ = f.Close()
}

// TLSReloadInterval is how often, at most, the certificate files are
// looked at again: on a handshake, when this long has passed since the
// last look. A rotation is therefore picked up by the first handshake a
// second after the files changed, with no goroutine to own.
const TLSReloadInterval = time.Second

// Load returns the server's TLS configuration: it reads the files now
// (failing when they are missing or do not parse) and again, on a
// handshake, when they have changed. A change that does not parse (a key
// written before its certificate) keeps the previous certificates; report,
// when not nil, is told, and the next look tries again.
//
// The configuration's GetConfigForClient returns the current one; a caller
// that needs other settings (ALPN protocols) sets them on what it returns.
func (c ServerTLS) Load(report func(error)) (*tls.Config, error) {
	if !c.Enabled() {
		return nil, errors.New("server TLS: no certificate configured")
	}
	files := []string{c.CertFile, c.KeyFile}
	if c.ClientCAFile != "" {
		files = append(files, c.ClientCAFile)
	}
	r := &reloader{files: files, report: report, build: func(contents [][]byte) (*tls.Config, error) {
		cert, err := tls.X509KeyPair(contents[0], contents[1])
		if err != nil {
			return nil, fmt.Errorf("server certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
		}
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		if c.ClientCAFile != "" {
			pool, err := certPool(c.ClientCAFile, contents[2])
			if err != nil {
				return nil, err
			}
			cfg.ClientCAs = pool
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		return cfg, nil
	}}
	if err := r.load(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.current(), nil
		},
	}, nil
}

// Source reads the files now (failing when they are missing or do not
// parse) and returns a function that gives the client's TLS configuration
// as the files are now: a handshake that calls it after they changed gets
// the new authorities and certificate (looked at at most every
// TLSReloadInterval, like ServerTLS.Load). gRPC clients call it on every
// handshake (see grpcx.WithClientTLS).
func (c ClientTLS) Source(report func(error)) (func() *tls.Config, error) {
	if !c.Enabled() {
		return nil, errors.New("client TLS: neither an authority nor a certificate configured")
	}
	var files []string
	caAt, certAt := -1, -1
	if c.CAFile != "" {
		caAt = len(files)
		files = append(files, c.CAFile)
	}
	if c.CertFile != "" {
		certAt = len(files)
		files = append(files, c.CertFile, c.KeyFile)
	}
	r := &reloader{files: files, report: report, build: func(contents [][]byte) (*tls.Config, error) {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
		if caAt >= 0 {
			pool, err := certPool(c.CAFile, contents[caAt])
			if err != nil {
				return nil, err
			}
			cfg.RootCAs = pool
		}
		if certAt >= 0 {
			cert, err := tls.X509KeyPair(contents[certAt], contents[certAt+1])
			if err != nil {
				return nil, fmt.Errorf("client certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		return cfg, nil
	}}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r.current, nil
}

// Load is the client's TLS configuration for a connection that takes one
// tls.Config (NATS): the authorities are the ones read now, the client
// certificate is the one in the files at each handshake (see Source).
func (c ClientTLS) Load(report func(error)) (*tls.Config, error) {
	src, err := c.Source(report)
	if err != nil {
		return nil, err
	}
	cfg := src().Clone()
	if c.CertFile != "" {
		cfg.Certificates = nil
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &src().Certificates[0], nil
		}
	}
	return cfg, nil
}

func certPool(path string, pem []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("authorities %s: no PEM certificate in the file", path)
	}
	return pool, nil
}

// reloader keeps what build made of the files' contents, and rebuilds it
// when a look, at most every TLSReloadInterval, finds them changed.
type reloader struct {
	files  []string
	build  func(contents [][]byte) (*tls.Config, error)
	report func(error)

	mu       sync.Mutex
	cfg      *tls.Config
	contents [][]byte
	lookedAt time.Time
}

func (r *reloader) read() ([][]byte, error) {
	contents := make([][]byte, len(r.files))
	for i, f := range r.files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		contents[i] = b
	}
	return contents, nil
}

func (r *reloader) load() error {
	contents, err := r.read()
	if err != nil {
		return err
	}
	cfg, err := r.build(contents)
	if err != nil {
		return err
	}
	r.cfg, r.contents, r.lookedAt = cfg, contents, time.Now()
	return nil
}

// current is what was built last, after a look at the files when one is due.
func (r *reloader) current() *tls.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.lookedAt) < TLSReloadInterval {
		return r.cfg
	}
	r.lookedAt = time.Now()
	contents, err := r.read()
	if err == nil && r.same(contents) {
		return r.cfg
	}
	if err == nil {
		var cfg *tls.Config
		if cfg, err = r.build(contents); err == nil {
			r.cfg, r.contents = cfg, contents
			return r.cfg
		}
	}
	if r.report != nil {
		r.report(fmt.Errorf("reload TLS files (keeping the previous ones): %w", err))
	}
	return r.cfg
}

func (r *reloader) same(contents [][]byte) bool {
	for i := range contents {
		if !bytes.Equal(contents[i], r.contents[i]) {
			return false
		}
	}
	return true
}
