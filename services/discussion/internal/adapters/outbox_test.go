package adapters

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
	"github.com/gemella/gemella/services/platform/outbox"
)

// recordingPublisher keeps the subjects it was handed.
type recordingPublisher struct {
	mu       sync.Mutex
	subjects []string
}

func (p *recordingPublisher) Publish(_ context.Context, subject, _ string, _ []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subjects = append(p.subjects, subject)
	return nil
}

// TestIndexedSweepRelaysEveryDiscussionEvent: the repositories write
// pending_since, so the relay's indexed sweep, without LegacySweep, finds
// and clears the events of every outbox collection of the discussion.
func TestIndexedSweepRelaysEveryDiscussionEvent(t *testing.T) {
	for _, server := range mongoxtest.Servers(t) {
		t.Run(server.Name, func(t *testing.T) {
			ctx := context.Background()
			db, cfg := server.Database(t)
			if err := EnsureIndexes(ctx, db); err != nil {
				t.Fatal(err)
			}
			for _, name := range OutboxCollections {
				if err := outbox.Prepare(ctx, db.Collection(name)); err != nil {
					t.Fatal(err)
				}
			}
			locks := mongox.DocLocks(cfg)
			m := NewMongoRepositories(db, mongox.StoreOptions{Locks: locks})
			if err := m.Members.Create(ctx, newMember(t, "m1", "Isabella Russo", "m1@example.it", t0)); err != nil {
				t.Fatal(err)
			}
			th := newThread(t, "t1", thread.General, "", t0)
			if err := m.Threads.Create(ctx, th); err != nil {
				t.Fatal(err)
			}
			p, _ := post.New("p1", th, "", "m1", "Isabella", "Ciao", t0)
			if err := m.Posts.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Posts.Update(ctx, "p1", func(p *post.Post) error { return p.Hide("mod", "fuori tema", t0.Add(time.Minute)) }); err != nil {
				t.Fatal(err)
			}
			pub := &recordingPublisher{}
			var colls []*mongo.Collection
			for _, name := range OutboxCollections {
				colls = append(colls, db.Collection(name))
			}
			relay := outbox.NewRelay(outbox.RelayConfig{Locks: locks, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, pub, colls...)
			n, err := relay.RelayOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(pub.subjects)
			want := []string{string(member.Joined), string(post.EventAdded), string(post.EventHidden), string(thread.Opened)}
			slices.Sort(want)
			if n != 4 || !slices.Equal(pub.subjects, want) {
				t.Fatalf("relayed %d: %v, want %v", n, pub.subjects, want)
			}
			for coll, id := range map[string]string{MembersCollection: "m1", ThreadsCollection: "t1", PostsCollection: "p1"} {
				if left := pendingOf(t, db.Collection(coll), id); left != 0 {
					t.Fatalf("%s %s: %d events still pending", coll, id, left)
				}
			}
		})
	}
}
