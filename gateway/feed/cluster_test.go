package feed

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
)

// Two gateways start at once on a three-node cluster, as replicas do:
// both send the create of the feed stream at the same moment, and both
// must start (the topology test saw both time out and exit).
func TestTwoHubsCreateTheFeedStreamTogetherOnACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("needs an embedded NATS cluster")
	}
	c, err := embedded.StartNATSCluster(embedded.NATSClusterOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for name, subj := range map[string]string{"CATALOG": "catalog.>", "TWINNING": "twinning.>", "DISCUSSION": "discussion.>"} {
		if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: name, Subjects: []string{subj}, Replicas: 3}); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := NewHub(ctx, Config{NATSURL: c.URLs(), Replicas: 3, Logger: quiet})
			if err == nil {
				h.nc.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("hub %d: %v", i+1, err)
		}
	}
	info, err := js.Stream(ctx, "FEED")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.Replicas; got != 3 {
		t.Errorf("FEED replicas = %d, want 3", got)
	}
}
