package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/config/tlstest"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// startMTLSBackend runs the stub catalogue on a grpcx server that requires
// client certificates signed by ca.
func startMTLSBackend(t *testing.T, ca *tlstest.CA, dir string) string {
	t.Helper()
	cert, key := ca.Server(t, "127.0.0.1").Write(t, dir, "catalog")
	srv, err := grpcx.NewServer(grpcx.ServerOptions{
		Name:   "catalog",
		Config: config.GRPCServer{Addr: "127.0.0.1:0", DefaultDeadline: 5 * time.Second, TLS: config.ServerTLS{CertFile: cert, KeyFile: key, ClientCAFile: ca.WriteCA(t, dir, "ca")}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	catalogv1.RegisterCatalogServiceServer(srv.GRPC(), stubCatalog{})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.Addr()
}

func TestBackendsOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "gemella test CA")
	backend := startMTLSBackend(t, ca, dir)
	gwCert, gwKey := ca.Client(t, "gateway").Write(t, dir, "gateway")
	caFile := dir + "/ca.crt"

	tests := []struct {
		name       string
		tls        config.ClientTLS
		wantStatus int
	}{
		{"with the gateway's certificate the call goes through", config.ClientTLS{CAFile: caFile, CertFile: gwCert, KeyFile: gwKey}, 200},
		{"without a certificate the backend refuses: 503", config.ClientTLS{CAFile: caFile}, 503},
		{"in plain text the backend refuses: 503", config.ClientTLS{}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.HTTPAddr = "127.0.0.1:0"
			cfg.CatalogAddr = backend
			cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr, cfg.NATSURL = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
			cfg.Backends.TLS = tt.tls
			base := startGatewayWith(t, cfg)
			if r := do(t, "GET", base+"/v1/practices/p1", nil, nil); r.status != tt.wantStatus {
				t.Fatalf("GET a practice: %d %s, want %d", r.status, r.body, tt.wantStatus)
			}
		})
	}
}

// startGatewayWith is startGateway with a whole configuration.
func startGatewayWith(t *testing.T, cfg Config) string {
	t.Helper()
	return "http://" + runGateway(t, cfg).Addr()
}

// runGateway builds, listens and runs a gateway until the test ends.
func runGateway(t *testing.T, cfg Config) *Server {
	t.Helper()
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}
