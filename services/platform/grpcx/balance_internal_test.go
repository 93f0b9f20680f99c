package grpcx

import (
	"encoding/json"
	"fmt"
	"testing"

	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/gemella/gemella/proto/gemella/catalog/v1"
	_ "github.com/gemella/gemella/proto/gemella/notification/v1"
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

// The retry policy names the read methods of the gemella services, and
// neither their writes nor their streams.
func TestServiceConfigRetriesReadsOnly(t *testing.T) {
	var sc struct {
		LoadBalancingConfig []map[string]json.RawMessage `json:"loadBalancingConfig"`
		MethodConfig        []struct {
			Name        []struct{ Service, Method string } `json:"name"`
			RetryPolicy struct {
				MaxAttempts          int      `json:"maxAttempts"`
				RetryableStatusCodes []string `json:"retryableStatusCodes"`
			} `json:"retryPolicy"`
		} `json:"methodConfig"`
	}
	cfg := serviceConfig(protoregistry.GlobalFiles, "gemella.")
	if err := json.Unmarshal([]byte(cfg), &sc); err != nil {
		t.Fatal(err)
	}
	if len(sc.LoadBalancingConfig) != 1 || sc.LoadBalancingConfig[0]["round_robin"] == nil {
		t.Fatalf("service config %s does not choose round_robin", cfg)
	}
	if len(sc.MethodConfig) != 1 || sc.MethodConfig[0].RetryPolicy.MaxAttempts < 2 || fmt.Sprint(sc.MethodConfig[0].RetryPolicy.RetryableStatusCodes) != "[UNAVAILABLE]" {
		t.Fatalf("method config: %s", cfg)
	}
	names := map[string]bool{}
	for _, n := range sc.MethodConfig[0].Name {
		names[n.Service+"/"+n.Method] = true
	}
	for _, want := range []string{"gemella.catalog.v1.CatalogService/GetPractice", "gemella.catalog.v1.CatalogService/ListPractices",
		"gemella.catalog.v1.CatalogService/SearchPractices", "gemella.notification.v1.NotificationService/ListNotifications"} {
		if !names[want] {
			t.Errorf("%s is not retried", want)
		}
	}
	for _, not := range []string{"gemella.catalog.v1.CatalogService/CreatePractice", "gemella.catalog.v1.CatalogService/UpdatePractice",
		"gemella.notification.v1.NotificationService/WatchNotifications"} {
		if names[not] {
			t.Errorf("%s is retried", not)
		}
	}
	if isRead("Getaway") || isRead("Listen") || !isRead("GetPractice") {
		t.Error("isRead takes a prefix for a word")
	}
}
