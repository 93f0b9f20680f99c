package grpcx

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver/dns"
)

// roundRobin is the service config Dial installs: every address a target
// resolves to (the replicas behind a Kubernetes headless Service, for
// dns:///name:port) gets a connection, and calls take them in turn. A
// target that resolves to one address behaves as before.
const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

// Keepalives. A client pings a connection that has been quiet for
// clientPingAfter and gives it up when the answer takes longer than
// pingTimeout, so a replica whose host vanished (no RST ever comes) is
// dropped in seconds, not minutes, and its calls go to the others. The
// server accepts pings every serverMinPingInterval at most, which must not
// exceed clientPingAfter: a client that pings more often than the server
// allows is sent GOAWAY ("too_many_pings") and its calls fail.
const (
	clientPingAfter       = 20 * time.Second
	pingTimeout           = 10 * time.Second
	serverMinPingInterval = 10 * time.Second
	serverPingAfter       = 30 * time.Second
	// A connection is closed gracefully (GOAWAY, calls in flight finish
	// within maxConnectionAgeGrace) after about maxConnectionAge, so that
	// clients resolve the name again and spread over replicas that were
	// added since they connected.
	maxConnectionAge      = 2 * time.Minute
	maxConnectionAgeGrace = 30 * time.Second
	// dnsMinResolutionInterval bounds how often a client resolves a dns:///
	// name again when a connection fails (gRPC's default, 30 s, would keep
	// a replaced pod's new address unknown that long).
	dnsMinResolutionInterval = 5 * time.Second
)

func init() {
	// gRPC requires this before any connection is made; once per process.
	dns.SetMinResolutionInterval(dnsMinResolutionInterval)
}

// ReplicaDialOptions spread calls over every replica a target resolves to
// (round robin) and keep idle connections checked (keepalive pings the
// servers of NewServer accept). Dial includes them; a connection not made
// with Dial (the gateway's) adds them itself.
func ReplicaDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultServiceConfig(roundRobin),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                clientPingAfter,
			Timeout:             pingTimeout,
			PermitWithoutStream: true,
		}),
	}
}

// serverKeepaliveOptions accept the clients' keepalive pings and close
// connections after maxConnectionAge (see above).
func serverKeepaliveOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             serverMinPingInterval,
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:                  serverPingAfter,
			Timeout:               pingTimeout,
			MaxConnectionAge:      maxConnectionAge,
			MaxConnectionAgeGrace: maxConnectionAgeGrace,
		}),
	}
}
