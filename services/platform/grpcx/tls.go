package grpcx

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gemella/gemella/services/platform/config"
)

// clientTLSOption carries a client TLS configuration through Dial's
// DialOption list, like tracerProviderOption.
type clientTLSOption struct {
	grpc.EmptyDialOption
	cfg config.ClientTLS
}

// WithClientTLS makes Dial speak TLS to the service, as cfg says: the
// authorities that sign the servers' certificates, and the client's own
// certificate for servers that require one (mutual TLS). The files are
// read again when they change (config.ClientTLS.Source); a failed reload
// is logged with slog.Default. A cfg that is not Enabled leaves the
// connection in plain text, so a caller passes its configuration whether
// or not TLS is on.
func WithClientTLS(cfg config.ClientTLS) grpc.DialOption {
	return clientTLSOption{cfg: cfg}
}

// ClientTransport is the transport credentials option for cfg (plain text
// when cfg is not Enabled), for connections not made with Dial.
func ClientTransport(cfg config.ClientTLS, logger *slog.Logger) (grpc.DialOption, error) {
	if !cfg.Enabled() {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	if logger == nil {
		logger = slog.Default()
	}
	src, err := cfg.Source(func(err error) { logger.Error("gRPC client TLS", "err", err) })
	if err != nil {
		return nil, fmt.Errorf("gRPC client TLS: %w", err)
	}
	return grpc.WithTransportCredentials(&reloadingClientCreds{current: src, serverName: cfg.ServerName}), nil
}

// reloadingClientCreds makes each handshake with the TLS configuration as
// the files are then, so renewed authorities and client certificates are
// used by the next connection without a restart.
type reloadingClientCreds struct {
	current    func() *tls.Config
	serverName string
}

func (c *reloadingClientCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return credentials.NewTLS(c.current()).ClientHandshake(ctx, authority, conn)
}

func (c *reloadingClientCreds) ServerHandshake(net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, fmt.Errorf("grpcx: client credentials used by a server")
}

// Info names ServerName, when set, as the authority every server's
// certificate must carry (gRPC takes it from here).
func (c *reloadingClientCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls", SecurityVersion: "1.2", ServerName: c.serverName}
}

func (c *reloadingClientCreds) Clone() credentials.TransportCredentials {
	clone := *c
	return &clone
}

// OverrideServerName is deprecated in gRPC; it sets the name all the same.
func (c *reloadingClientCreds) OverrideServerName(name string) error {
	c.serverName = name
	return nil
}

// serverCredentials is the server's transport: TLS from the files that cfg
// names, read again when they change (config.ServerTLS.Load), with client
// certificates required when cfg has a client authority; plain text when
// cfg is not Enabled.
func serverCredentials(cfg config.ServerTLS, logger *slog.Logger) (grpc.ServerOption, error) {
	if !cfg.Enabled() {
		return grpc.Creds(insecure.NewCredentials()), nil
	}
	tlsCfg, err := cfg.Load(func(err error) { logger.Error("gRPC server TLS", "err", err) })
	if err != nil {
		return nil, fmt.Errorf("gRPC server TLS: %w", err)
	}
	// credentials.NewTLS sets the h2 protocol on what GetConfigForClient returns.
	return grpc.Creds(credentials.NewTLS(tlsCfg)), nil
}
