package grpcx_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/config/tlstest"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// mtlsServer is a replica that requires client certificates signed by ca.
type mtlsServer struct {
	*replica
	ca       *tlstest.CA
	dir      string
	certFile string
	keyFile  string
	caFile   string
}

func startMTLSServer(t *testing.T) mtlsServer {
	t.Helper()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "gemella test CA")
	certFile, keyFile := ca.Server(t, "127.0.0.1", "localhost").Write(t, dir, "server")
	caFile := ca.WriteCA(t, dir, "ca")
	r := &replica{}
	startReplica(t, r, "127.0.0.1:0", config.ServerTLS{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile})
	return mtlsServer{replica: r, ca: ca, dir: dir, certFile: certFile, keyFile: keyFile, caFile: caFile}
}

func call(t *testing.T, addr string, opts ...grpc.DialOption) error {
	t.Helper()
	conn, err := grpcx.Dial(addr, 5*time.Second, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = testgrpc.NewTestServiceClient(conn).EmptyCall(ctx, &testgrpc.Empty{})
	return err
}

func TestMutualTLSRefusesClientsWithoutAValidCertificate(t *testing.T) {
	srv := startMTLSServer(t)
	clientCert, clientKey := srv.ca.Client(t, "twinning").Write(t, srv.dir, "client")
	other := tlstest.NewCA(t, "someone else's CA")
	otherCert, otherKey := other.Client(t, "intruder").Write(t, srv.dir, "intruder")
	otherCA := other.WriteCA(t, srv.dir, "other-ca")

	tests := []struct {
		name   string
		opts   []grpc.DialOption
		wantOK bool
	}{
		{"a client with a certificate from the CA is served", []grpc.DialOption{grpcx.WithClientTLS(config.ClientTLS{CAFile: srv.caFile, CertFile: clientCert, KeyFile: clientKey})}, true},
		{"a client without a certificate is refused", []grpc.DialOption{grpcx.WithClientTLS(config.ClientTLS{CAFile: srv.caFile})}, false},
		{"a client with a certificate from another CA is refused", []grpc.DialOption{grpcx.WithClientTLS(config.ClientTLS{CAFile: srv.caFile, CertFile: otherCert, KeyFile: otherKey})}, false},
		{"a client in plain text is refused", nil, false},
		{"a client that trusts another CA refuses the server", []grpc.DialOption{grpcx.WithClientTLS(config.ClientTLS{CAFile: otherCA, CertFile: clientCert, KeyFile: clientKey})}, false},
		{"a client that expects another name refuses the server", []grpc.DialOption{grpcx.WithClientTLS(config.ClientTLS{CAFile: srv.caFile, CertFile: clientCert, KeyFile: clientKey, ServerName: "catalog.example"})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.calls.Load()
			err := call(t, srv.addr, tt.opts...)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("call refused: %v", err)
				}
				if srv.calls.Load() != before+1 {
					t.Fatal("the server did not serve the call")
				}
				return
			}
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("got %v, want the connection refused (Unavailable)", err)
			}
			if srv.calls.Load() != before {
				t.Fatal("the server served a call it should have refused")
			}
		})
	}
}

func TestServerTLSPicksUpARenewedCertificate(t *testing.T) {
	srv := startMTLSServer(t)
	clientCert, clientKey := srv.ca.Client(t, "gateway").Write(t, srv.dir, "client")
	first := servedSerial(t, srv, clientCert, clientKey)

	renewed := srv.ca.Server(t, "127.0.0.1", "localhost")
	renewed.Write(t, srv.dir, "server")
	// The server looks at its files again on a handshake at most once a
	// second: new connections are made until one shows the renewed
	// certificate, for at most 10 s.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := servedSerial(t, srv, clientCert, clientKey)
		if got.Cmp(renewed.Cert.SerialNumber) == 0 {
			break
		}
		if got.Cmp(first) != 0 {
			t.Fatalf("served certificate %v is neither the first nor the renewed one", got)
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not served within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// And it is still a mutual TLS server.
	if err := call(t, srv.addr, grpcx.WithClientTLS(config.ClientTLS{CAFile: srv.caFile})); status.Code(err) != codes.Unavailable {
		t.Fatalf("a client without a certificate after the renewal: %v, want refused", err)
	}
}

// servedSerial makes a new connection and returns the serial number of the
// certificate the server presented.
func servedSerial(t *testing.T, srv mtlsServer, certFile, keyFile string) *big.Int {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.ca.Cert)
	var serial *big.Int
	creds := credentials.NewTLS(&tls.Config{
		RootCAs:      roots,
		Certificates: []tls.Certificate{cert},
		VerifyConnection: func(cs tls.ConnectionState) error {
			serial = cs.PeerCertificates[0].SerialNumber
			return nil
		},
	})
	if err := call(t, srv.addr, grpc.WithTransportCredentials(creds)); err != nil {
		t.Fatalf("call with a valid client certificate: %v", err)
	}
	return serial
}

func TestHealthPortAnswersInPlainTextBesideMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "gemella test CA")
	certFile, keyFile := ca.Server(t, "127.0.0.1").Write(t, dir, "server")
	srv, err := grpcx.NewServer(grpcx.ServerOptions{
		Name: "catalog",
		Config: config.GRPCServer{Addr: "127.0.0.1:0", HealthAddr: "127.0.0.1:0", DefaultDeadline: 5 * time.Second,
			TLS: config.ServerTLS{CertFile: certFile, KeyFile: keyFile, ClientCAFile: ca.WriteCA(t, dir, "ca")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := grpcx.Dial(srv.HealthAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	callCtx, callCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer callCancel()
	for _, svc := range []string{"", grpcx.LivenessService} {
		resp, err := health.Check(callCtx, &healthpb.HealthCheckRequest{Service: svc}, grpc.WaitForReady(true))
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q on the health port: %v %v, want SERVING", svc, resp, err)
		}
	}
	if _, err := testgrpc.NewTestServiceClient(conn).EmptyCall(callCtx, &testgrpc.Empty{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("another service on the health port: %v, want Unimplemented", err)
	}
	// The main port still refuses a plain-text health check.
	if _, err := healthCheck(t, srv.Addr()); status.Code(err) != codes.Unavailable {
		t.Fatalf("plain-text health on the TLS port: %v, want Unavailable", err)
	}
}

func healthCheck(t *testing.T, addr string) (*healthpb.HealthCheckResponse, error) {
	t.Helper()
	conn, err := grpcx.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
}
