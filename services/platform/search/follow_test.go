package search

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	js := embedded.JetStreamForTest(t)
	if _, err := events.EnsureStream(context.Background(), js, events.StreamConfig{Name: "TEST", Subjects: []string{"test.>"}}); err != nil {
		t.Fatal(err)
	}
	return js
}

// waitUntil polls cond until it holds, for 20s at the most.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for !cond() {
		select {
		case <-timeout:
			t.Fatalf("%s: not within 20s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestTheFollowerIsNotReadyWhileItRebuilds: the readiness check a
// service reports (Follower.Ready) fails until Prepare has decided, and
// while the index is rebuilt; it passes once the index holds the
// documents, and at once for an index kept on disk. Events after the
// rebuild reach the index through Changes, or through Apply.
func TestTheFollowerIsNotReadyWhileItRebuilds(t *testing.T) {
	js := testStream(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "index")
	docs := testDocs()
	release := make(chan struct{})
	all := func(ctx context.Context, yield func(Document) error) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, d := range docs[:2] {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}
	changes := func(_ context.Context, env *eventsv1.Envelope) ([]Change, error) {
		return []Change{Put(docs[2])}, nil
	}
	s, err := OpenStore(StoreConfig{Dir: dir, Schema: "test", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f := &Follower{Store: s, JS: js, Stream: "TEST", Subjects: []string{"test.>"}, Changes: changes, All: all, Logger: quiet}
	if err := f.Ready(ctx); !errors.Is(err, ErrNotReady) {
		t.Fatalf("ready before Prepare: %v", err)
	}
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.Rebuilding() {
		t.Fatal("a new index is not to be rebuilt")
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(runCtx) }()
	if err := f.Ready(ctx); !errors.Is(err, ErrNotReady) {
		t.Fatalf("ready while rebuilding: %v", err)
	}
	if _, err := s.Search(ctx, Query{Text: "competenze"}); !errors.Is(err, ErrNotReady) {
		t.Fatalf("a search while rebuilding: %v, want not ready", err)
	}
	close(release)
	waitUntil(t, "ready after the rebuild", func() bool { return f.Ready(ctx) == nil })
	if f.Rebuilding() {
		t.Fatal("still rebuilding once ready")
	}
	if res, err := s.Search(ctx, Query{Text: "competenze"}); err != nil || res.Total != 1 {
		t.Fatalf("after the rebuild: %+v, %v", res, err)
	}
	env, err := events.NewEnvelope("test.story.published", "t", "story", "1", 1, &emptypb.Empty{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := proto.Marshal(env)
	if _, err := js.Publish(ctx, "test.story.published", data); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the event applied", func() bool {
		res, err := s.Search(ctx, Query{Text: "skill"})
		return err == nil && res.Total == 1
	})
	cancel()
	<-done
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Kept on disk: ready as soon as prepared, nothing rebuilt; Apply
	// applies the events the service's own way.
	s, err = OpenStore(StoreConfig{Dir: dir, Schema: "test", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied := make(chan uint64, 1)
	f = &Follower{Store: s, JS: js, Stream: "TEST", Subjects: []string{"test.>"}, All: all, Logger: quiet,
		Apply: func(_ context.Context, _ *eventsv1.Envelope, seq uint64) error {
			applied <- seq
			return s.Write(seq, Write{ID: "story:1", Version: 9})
		}}
	if err := f.Ready(ctx); !errors.Is(err, ErrNotReady) {
		t.Fatalf("a kept index ready before Prepare: %v", err)
	}
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Rebuilding() || f.Ready(ctx) != nil {
		t.Fatalf("a kept index: rebuilding %v, ready %v", f.Rebuilding(), f.Ready(ctx))
	}
	runCtx, cancel = context.WithCancel(ctx)
	done = make(chan struct{})
	go func() { defer close(done); _ = f.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	env2, _ := events.NewEnvelope("test.story.removed", "t", "story", "1", 9, &emptypb.Empty{}, time.Now())
	data, _ = proto.Marshal(env2)
	if _, err := js.Publish(ctx, "test.story.removed", data); err != nil {
		t.Fatal(err)
	}
	select {
	case seq := <-applied:
		if seq != 2 {
			t.Fatalf("applied at sequence %d, want 2 (the first was applied before)", seq)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the event did not reach Apply")
	}
	waitUntil(t, "the story removed", func() bool {
		res, err := s.Search(ctx, Query{Text: "skill"})
		return err == nil && res.Total == 0
	})
}

// TestWritesKeepTheNewestVersion: a write of the service's own shape
// replaces only an older version, unless Again (the same one) or Force.
func TestWritesKeepTheNewestVersion(t *testing.T) {
	s, err := OpenStore(StoreConfig{Schema: "test", Static: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(w Write) {
		t.Helper()
		if err := s.Write(0, w); err != nil {
			t.Fatal(err)
		}
	}
	version := func() int64 {
		t.Helper()
		v, err := storedVersion(s.Bleve(), "a")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	kind := func() string {
		ids, err := s.versions()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ids["a"]; ok {
			return "shown"
		}
		return "removed"
	}
	put(Write{ID: "a", Version: 3, Fields: map[string]interface{}{FieldKind: "thing"}})
	put(Write{ID: "a", Version: 2})
	put(Write{ID: "a", Version: 3})
	if version() != 3 || kind() != "shown" {
		t.Fatalf("an older or the same version replaced the document: %d %s", version(), kind())
	}
	put(Write{ID: "a", Version: 3, Again: true})
	if version() != 3 || kind() != "removed" {
		t.Fatalf("again at the same version: %d %s", version(), kind())
	}
	put(Write{ID: "a", Version: 1, Fields: map[string]interface{}{FieldKind: "thing"}, Force: true})
	if version() != 3 || kind() != "shown" {
		t.Fatalf("forced: %d %s, want version 3 kept, shown", version(), kind())
	}
	if err := s.Update(7, func(t *Txn) error {
		t.SetValue([]byte("k"), EncodeInt(42))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v, _ := s.Value([]byte("k"))
	st, _ := s.State()
	if DecodeInt(v) != 42 || st.Sequence != 7 {
		t.Fatalf("value %d, sequence %d", DecodeInt(v), st.Sequence)
	}
}
