package main

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// The clients find both replicas through the test's DNS server, as gRPC's
// dns resolver asks it (a resolver dialling the server named in the
// target's authority); other names do not exist.
func TestDNSServerAnswersEveryReplicaOfAName(t *testing.T) {
	s, err := startDNS(map[string][]net.IP{"catalog.topology.test": {net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2")}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr())
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, "catalog.topology.test")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(addrs)
	if want := []string{"127.0.0.1", "127.0.0.2"}; !slices.Equal(addrs, want) {
		t.Errorf("catalog.topology.test = %v, want %v", addrs, want)
	}
	_, err = r.LookupHost(ctx, "twinning.topology.test")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("an unknown name: %v, want not found", err)
	}
}
