package grpcx

import (
	"encoding/json"
	"testing"
)

// A client that pings more often than the server allows is sent GOAWAY
// (too_many_pings) and its calls fail: the client's interval must not be
// shorter than the server's minimum.
func TestClientKeepaliveIsWithinWhatServersAllow(t *testing.T) {
	if clientPingAfter < serverMinPingInterval {
		t.Fatalf("clients ping every %s, servers allow one every %s at most", clientPingAfter, serverMinPingInterval)
	}
	if maxConnectionAgeGrace <= 0 || maxConnectionAge <= maxConnectionAgeGrace {
		t.Fatalf("connection age %s with grace %s", maxConnectionAge, maxConnectionAgeGrace)
	}
}

func TestDialInstallsRoundRobin(t *testing.T) {
	var sc struct {
		LoadBalancingConfig []map[string]json.RawMessage `json:"loadBalancingConfig"`
	}
	if err := json.Unmarshal([]byte(roundRobin), &sc); err != nil {
		t.Fatal(err)
	}
	if len(sc.LoadBalancingConfig) != 1 || sc.LoadBalancingConfig[0]["round_robin"] == nil {
		t.Fatalf("service config %s does not choose round_robin", roundRobin)
	}
}
