package searchkit_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/platform/search/searchkit"
	"github.com/gemella/gemella/services/platform/servicekit"
)

// TestTheWorkerHoldsTheServiceNotServingUntilTheIndexIsBuilt: every
// service whose index searchkit opens (twinnings, threads and posts,
// organisations) gets the readiness check the kit watches: failing until
// the index is prepared and rebuilt, passing after.
func TestTheWorkerHoldsTheServiceNotServingUntilTheIndexIsBuilt(t *testing.T) {
	ctx := context.Background()
	js := embedded.JetStreamForTest(t)
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: "KIT", Subjects: []string{"kit.>"}}); err != nil {
		t.Fatal(err)
	}
	// A database handle that never connects: searchkit only asks whether
	// there is one (not in memory).
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(ctx) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	release := make(chan struct{})
	idx, w, err := searchkit.Open(searchkit.Index{
		Name: "kit-search", Schema: "kit", Stream: "KIT", Subjects: []string{"kit.>"},
		Changes: func(context.Context, *eventsv1.Envelope) ([]search.Change, error) { return nil, nil },
		All: func(ctx context.Context, yield func(search.Document) error) error {
			<-release
			return yield(search.Document{ID: "a", Kind: "thing", Version: 1, Language: "it", Title: "Gemellaggio delle competenze"})
		},
	}, servicekit.Ports{DB: client.Database("kit"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if w == nil || w.Ready == nil {
		t.Fatal("the worker has no readiness check")
	}
	if w.Ready(ctx) == nil {
		t.Fatal("ready before the worker has run")
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(runCtx, servicekit.Runtime{JS: js, Logger: quiet}) }()
	defer func() { cancel(); <-done }()
	// Prepared or not, a rebuild not done is not ready.
	time.Sleep(100 * time.Millisecond)
	if w.Ready(ctx) == nil {
		t.Fatal("ready while the index is rebuilt")
	}
	close(release)
	timeout := time.After(20 * time.Second)
	for w.Ready(ctx) != nil {
		select {
		case <-timeout:
			t.Fatalf("not ready 20s after the rebuild could finish: %v", w.Ready(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if res, err := idx.Search(ctx, search.Query{Text: "competenze"}); err != nil || res.Total != 1 {
		t.Fatalf("once ready: %+v, %v", res, err)
	}
}
