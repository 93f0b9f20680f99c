package config_test

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/config/tlstest"
)

func TestTLSVariablesAreReadUnderEachPrefix(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "ca")
	cert, key := ca.Server(t, "127.0.0.1").Write(t, dir, "server")
	caFile := ca.WriteCA(t, dir, "ca")
	t.Setenv("GEMELLA_X_GRPC_ADDR", "127.0.0.1:1")
	t.Setenv("GEMELLA_X_MONGO_DATABASE", "x")
	t.Setenv("GEMELLA_X_GRPC_TLS_CERT_FILE", cert)
	t.Setenv("GEMELLA_X_GRPC_TLS_KEY_FILE", key)
	t.Setenv("GEMELLA_X_GRPC_TLS_CLIENT_CA_FILE", caFile)
	t.Setenv("GEMELLA_X_GRPC_HEALTH_ADDR", "127.0.0.1:2")
	t.Setenv("GEMELLA_GRPC_CLIENT_TLS_CA_FILE", caFile)
	t.Setenv("GEMELLA_GRPC_CLIENT_TLS_SERVER_NAME", "catalog")
	t.Setenv("GEMELLA_NATS_TLS_CA_FILE", caFile)
	t.Setenv("GEMELLA_NATS_USER", "catalog")
	t.Setenv("GEMELLA_NATS_PASSWORD", "secret")
	var cfg withClient
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	want := config.ServerTLS{CertFile: cert, KeyFile: key, ClientCAFile: caFile}
	if cfg.GRPC.TLS != want || cfg.GRPC.HealthAddr != "127.0.0.1:2" {
		t.Fatalf("server TLS %+v, health %q", cfg.GRPC.TLS, cfg.GRPC.HealthAddr)
	}
	if cfg.Client.TLS != (config.ClientTLS{CAFile: caFile, ServerName: "catalog"}) {
		t.Fatalf("client TLS %+v", cfg.Client.TLS)
	}
	if cfg.NATS.TLS.CAFile != caFile || cfg.NATS.User != "catalog" || cfg.NATS.Password != "secret" {
		t.Fatalf("NATS %+v", cfg.NATS)
	}
}

type withClient struct {
	GRPC   config.GRPCServer `envPrefix:"GEMELLA_X_"`
	Mongo  config.Mongo      `envPrefix:"GEMELLA_X_"`
	NATS   config.NATS       `envPrefix:"GEMELLA_"`
	Client config.GRPCClient `envPrefix:"GEMELLA_"`
}

func (c *withClient) Validate() error {
	var p config.Problems
	p.Add(c.GRPC.Validate("GEMELLA_X_"))
	p.Add(c.Mongo.Validate("GEMELLA_X_"))
	p.Add(c.NATS.Validate("GEMELLA_"))
	p.Add(c.Client.Validate("GEMELLA_"))
	return p.Err()
}

func TestValidateReportsIncompleteTLSAndCredentials(t *testing.T) {
	dir := t.TempDir()
	cert, _ := tlstest.NewCA(t, "ca").Server(t, "x").Write(t, dir, "server")
	cfg := withClient{
		GRPC:   config.GRPCServer{Addr: "127.0.0.1:1", DefaultDeadline: time.Second, TLS: config.ServerTLS{CertFile: cert}, HealthAddr: "nope"},
		Mongo:  config.Mongo{URI: "mongodb://x", Database: "x", Timeout: time.Second},
		NATS:   config.NATS{URL: "nats://x:1", StreamReplicas: 1, User: "u", CredsFile: dir + "/missing.creds", TLS: config.ClientTLS{KeyFile: dir + "/server.key"}},
		Client: config.GRPCClient{TLS: config.ClientTLS{ServerName: "catalog"}},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"GEMELLA_X_GRPC_TLS_KEY_FILE: is required with GEMELLA_X_GRPC_TLS_CERT_FILE",
		"GEMELLA_X_GRPC_HEALTH_ADDR",
		"GEMELLA_NATS_PASSWORD: is required with GEMELLA_NATS_USER",
		"set one kind of NATS credentials",
		"GEMELLA_NATS_CREDS_FILE: cannot read",
		"GEMELLA_NATS_TLS_CERT_FILE: is required with GEMELLA_NATS_TLS_KEY_FILE",
		"GEMELLA_GRPC_CLIENT_TLS_SERVER_NAME: needs GEMELLA_GRPC_CLIENT_TLS_CA_FILE",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if mtls := (config.ServerTLS{ClientCAFile: cert}).Validate("P_"); mtls == nil || !strings.Contains(mtls.Error(), "P_CLIENT_CA_FILE: mutual TLS needs P_CERT_FILE") {
		t.Errorf("client CA without a certificate: %v", mtls)
	}
}

func TestTargetTakesHostPortAndDNSNames(t *testing.T) {
	for target, ok := range map[string]bool{
		"127.0.0.1:9091": true,
		"catalog:9091":   true,
		"dns:///catalog-headless.gemella.svc.cluster.local:9091": true,
		"dns://10.0.0.10:53/catalog:9091":                        true,
		"dns:catalog:9091":                                       false,
		"dns:///catalog":                                         false,
		"catalog":                                                false,
	} {
		var p config.Problems
		p.Target("GEMELLA_CATALOG_ADDR", target)
		if got := p.Err() == nil; got != ok {
			t.Errorf("%q: accepted %v, want %v (%v)", target, got, ok, p.Err())
		}
	}
}

func TestClientTLSSourceRereadsChangedFiles(t *testing.T) {
	dir := t.TempDir()
	first, second := tlstest.NewCA(t, "first"), tlstest.NewCA(t, "second")
	caFile := first.WriteCA(t, dir, "ca")
	src, err := config.ClientTLS{CAFile: caFile}.Source(nil)
	if err != nil {
		t.Fatal(err)
	}
	trusts := func(ca *tlstest.CA) bool {
		_, err := ca.Cert.Verify(x509Options(src()))
		return err == nil
	}
	if !trusts(first) || trusts(second) {
		t.Fatal("the source does not trust exactly the first CA")
	}
	second.WriteCA(t, dir, "ca")
	deadline := time.Now().Add(10 * time.Second)
	for !trusts(second) {
		if time.Now().After(deadline) {
			t.Fatal("the replaced CA file was not read again within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if trusts(first) {
		t.Fatal("the previous CA is still trusted after the file was replaced")
	}
}

func TestNATSConnectOptionsCarryCredentialsAndTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "nats CA")
	certFile, keyFile := ca.Server(t, "127.0.0.1").Write(t, dir, "nats")
	serverCert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		Username: "catalog", Password: "s3cret",
		TLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12},
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	url := srv.ClientURL()
	caFile := ca.WriteCA(t, dir, "ca")

	tests := []struct {
		name   string
		cfg    config.NATS
		wantOK bool
	}{
		{"the configured CA and password connect", config.NATS{User: "catalog", Password: "s3cret", TLS: config.ClientTLS{CAFile: caFile}}, true},
		{"a wrong password is refused", config.NATS{User: "catalog", Password: "guess", TLS: config.ClientTLS{CAFile: caFile}}, false},
		{"a server outside the CA is refused", config.NATS{User: "catalog", Password: "s3cret", TLS: config.ClientTLS{CAFile: tlstest.NewCA(t, "other").WriteCA(t, dir, "other")}}, false},
		{"no TLS is refused", config.NATS{User: "catalog", Password: "s3cret"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.cfg.ConnectOptions(nil)
			if err != nil {
				t.Fatal(err)
			}
			nc, err := nats.Connect(url, append(opts, nats.Timeout(5*time.Second))...)
			if nc != nil {
				defer nc.Close()
			}
			if tt.wantOK && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.wantOK && err == nil {
				t.Fatal("connected, want refused")
			}
		})
	}
}

func x509Options(cfg *tls.Config) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: cfg.RootCAs}
}
