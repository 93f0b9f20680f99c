package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSForTest starts a quiet NATS server with JetStream on a free port, its
// store in t.TempDir(), and shuts it down when the test ends. The test may
// Shutdown and Restart it in between.
func NATSForTest(t testing.TB) *NATS {
	t.Helper()
	n, err := StartNATS(NATSOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded nats: %v", err)
	}
	t.Cleanup(n.Shutdown)
	return n
}

// JetStreamForTest is a JetStream client of a NATSForTest server; both
// end with the test.
func JetStreamForTest(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(NATSForTest(t).URL())
	if err != nil {
		t.Fatalf("connect to embedded nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

// FerretDBForTest starts a quiet FerretDB on a free port with its SQLite
// files in t.TempDir(), and stops it when the test ends.
func FerretDBForTest(t testing.TB) *FerretDB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := StartFerretDB(ctx, FerretDBOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded ferretdb: %v", err)
	}
	t.Cleanup(f.Stop)
	return f
}

// NATSClusterForTest starts a quiet cluster of size NATS servers with
// clustered JetStream on free loopback ports, their stores in t.TempDir(),
// and shuts it down when the test ends. The test may Shutdown and Restart
// members in between.
func NATSClusterForTest(t testing.TB, size int) *NATSCluster {
	t.Helper()
	c, err := StartNATSCluster(NATSClusterOptions{Size: size, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded nats cluster: %v", err)
	}
	t.Cleanup(c.Shutdown)
	return c
}
