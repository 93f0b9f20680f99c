package embedded_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gemella/gemella/services/platform/embedded"
)

func TestNATSClusterReplicatesAndRestartsMembers(t *testing.T) {
	c := embedded.NATSClusterForTest(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if got := strings.Count(c.URLs(), ",") + 1; got != 3 {
		t.Fatalf("URLs() = %q, want three", c.URLs())
	}

	js := connect(t, c.URLs())
	var stream jetstream.Stream
	eventually(t, "a stream at three replicas", func() bool {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: "SPREAD", Subjects: []string{"spread.>"}, Storage: jetstream.FileStorage, Replicas: 3,
		})
		return err == nil
	})
	info := stream.CachedInfo()
	if info.Cluster == nil || c.Member(info.Cluster.Leader) == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream cluster info = %+v, want a member as leader and two replicas", info.Cluster)
	}

	leader := c.Member(info.Cluster.Leader)
	port := leader.Port()
	leader.Shutdown()
	if leader.Running() {
		t.Fatal("Running() after Shutdown")
	}
	eventually(t, "a new stream leader", func() bool {
		// A request may go unanswered during an election: short deadlines.
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		info, err := stream.Info(ctx)
		return err == nil && info.Cluster.Leader != "" && info.Cluster.Leader != leader.Name()
	})
	if err := leader.Restart(); err != nil {
		t.Fatalf("restart %s: %v", leader.Name(), err)
	}
	if leader.Port() != port {
		t.Fatalf("%s restarted on port %d, want %d", leader.Name(), leader.Port(), port)
	}
	if err := c.WaitJetStream(30 * time.Second); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestStartNATSClusterNeedsStoreDir(t *testing.T) {
	if _, err := embedded.StartNATSCluster(embedded.NATSClusterOptions{}); err == nil {
		t.Fatal("StartNATSCluster without StoreDir succeeded, want an error")
	}
	if _, err := embedded.StartNATS(embedded.NATSOptions{StoreDir: t.TempDir(), Routes: []string{"nats-route://127.0.0.1:1"}}); err == nil {
		t.Fatal("StartNATS with routes and no cluster name succeeded, want an error")
	}
}

func TestTCPProxyBlackholeKeepsConnectionsOpenAndSilent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	upstreamClosed := make(chan struct{})
	go func() { // a line echo server
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				close(upstreamClosed)
				return
			}
			_, _ = c.Write([]byte(line))
		}
	}()

	p, err := embedded.StartTCPProxy(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || line != "one\n" {
		t.Fatalf("echo through the proxy = %q, %v", line, err)
	}

	p.Blackhole()
	select {
	case <-upstreamClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection to the target is still open after Blackhole")
	}
	if _, err := conn.Write([]byte("two\n")); err != nil {
		t.Fatalf("write after Blackhole = %v, want the connection still open", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := r.ReadString('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after Blackhole = %v, want nothing at all (neither data nor end of stream)", err)
	}
}

// eventually polls cond until it holds or 20s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
