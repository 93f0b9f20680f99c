package grpcx

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver/dns"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// roundRobin is the load balancing of the service config Dial installs:
// every address a target resolves to (the replicas behind a Kubernetes
// headless Service, for dns:///name:port) gets a connection, and calls
// take them in turn. A target that resolves to one address behaves as
// before.
const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

// readRetry is the retry policy of the reads (unary Get…, List…,
// Search…, Render… methods of the gemella services, which change
// nothing): a read that fails UNAVAILABLE, because its replica was killed
// or stopped under it, or answers NOT_SERVING while its store or search
// index is away, is tried again, and round robin sends the next attempt
// to the next replica. Writes are not retried here: a write whose replica
// died may have been applied, and only the caller, with its request_id,
// can ask again safely. The call's deadline bounds the attempts.
var readRetry = map[string]any{
	"maxAttempts":          3,
	"initialBackoff":       "0.05s",
	"maxBackoff":           "0.4s",
	"backoffMultiplier":    2,
	"retryableStatusCodes": []string{"UNAVAILABLE"},
}

// readPrefixes name the read methods (AIP-131, 132, and the project's
// Search and Render).
var readPrefixes = []string{"Get", "List", "Search", "Render"}

// serviceConfig is the default service config of Dial's connections:
// round robin, and readRetry for the read methods of every service whose
// full name starts with prefix that files hold.
func serviceConfig(files *protoregistry.Files, prefix string) string {
	var names []map[string]string
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			svc := fd.Services().Get(i)
			if !strings.HasPrefix(string(svc.FullName()), prefix) {
				continue
			}
			for j := 0; j < svc.Methods().Len(); j++ {
				m := svc.Methods().Get(j)
				if m.IsStreamingClient() || m.IsStreamingServer() || !isRead(string(m.Name())) {
					continue
				}
				names = append(names, map[string]string{"service": string(svc.FullName()), "method": string(m.Name())})
			}
		}
		return true
	})
	sort.Slice(names, func(i, j int) bool {
		return names[i]["service"]+"/"+names[i]["method"] < names[j]["service"]+"/"+names[j]["method"]
	})
	cfg := map[string]any{"loadBalancingConfig": []any{map[string]any{"round_robin": map[string]any{}}}}
	if len(names) > 0 {
		cfg["methodConfig"] = []any{map[string]any{"name": names, "retryPolicy": readRetry}}
	}
	out, err := json.Marshal(cfg)
	if err != nil { // maps of strings and numbers always marshal
		return roundRobin
	}
	return string(out)
}

func isRead(method string) bool {
	for _, p := range readPrefixes {
		if rest, ok := strings.CutPrefix(method, p); ok && (rest == "" || unicode.IsUpper(rune(rest[0]))) {
			return true
		}
	}
	return false
}

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
		grpc.WithDefaultServiceConfig(serviceConfig(protoregistry.GlobalFiles, "gemella.")),
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
