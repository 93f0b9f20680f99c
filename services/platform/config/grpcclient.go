package config

import (
	"net"
	"strings"
)

// GRPCClient configures how a process calls the other services: one
// setting for all of them, read with the shared prefix (GEMELLA_), so the
// variables are GEMELLA_GRPC_CLIENT_TLS_CA_FILE, _CERT_FILE, _KEY_FILE and
// _SERVER_NAME. Pass TLS to grpcx.WithClientTLS.
type GRPCClient struct {
	TLS ClientTLS `envPrefix:"GRPC_CLIENT_TLS_"`
}

// Validate implements Validator.
func (c GRPCClient) Validate(prefix string) error {
	return c.TLS.Validate(prefix + "GRPC_CLIENT_TLS_")
}

// Target checks that value is an address grpcx.Dial takes: host:port, or
// dns:///host:port (dns://resolver/host:port) to spread calls over every
// address the name resolves to, the replicas behind a Kubernetes headless
// Service.
func (p *Problems) Target(name, value string) {
	rest, ok := strings.CutPrefix(value, "dns:")
	if !ok {
		p.HostPort(name, value)
		return
	}
	// dns:///host:port, or dns://resolver/host:port: the authority is
	// the DNS server to ask, the path the name to resolve.
	after, ok := strings.CutPrefix(rest, "//")
	if !ok {
		p.Addf("%s: %q: a dns target is dns:///host:port", name, value)
		return
	}
	_, hostPort, ok := strings.Cut(after, "/")
	if !ok {
		p.Addf("%s: %q: a dns target is dns:///host:port", name, value)
		return
	}
	if host, port, err := net.SplitHostPort(hostPort); err != nil || host == "" || port == "" {
		p.Addf("%s: %q: the name after dns:/// must be host:port", name, value)
	}
}
