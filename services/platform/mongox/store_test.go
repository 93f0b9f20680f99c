package mongox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
)

// item is a small aggregate with what the stores must handle: a unique
// field, an omitempty one, a list, recorded changes.
type item struct {
	ID       string
	Name     string
	Note     string
	Category string
	Tags     []string
	Version  int64
	changes  []string
}

func (i *item) record(change string) { i.changes = append(i.changes, change) }

type itemDoc struct {
	ID       string   `bson:"_id"`
	SortKey  string   `bson:"sort_key"`
	Name     string   `bson:"name"`
	Note     string   `bson:"note,omitempty"`
	Category string   `bson:"category"`
	Tags     []string `bson:"tags"`
	Version  int64    `bson:"version"`
}

func toItemDoc(i *item) itemDoc {
	return itemDoc{ID: i.ID, SortKey: i.Name + "\t" + i.ID, Name: i.Name, Note: i.Note, Category: i.Category, Tags: append([]string{}, i.Tags...), Version: i.Version}
}

func (d *itemDoc) toDomain() *item {
	return &item{ID: d.ID, Name: d.Name, Note: d.Note, Category: d.Category, Tags: append([]string(nil), d.Tags...), Version: d.Version}
}

var errNameTaken = apperr.AlreadyExists("name taken")

var eventIDs atomic.Int64

var items = mongox.Aggregate[item, itemDoc]{
	Name:     "item",
	ToDoc:    toItemDoc,
	ToDomain: (*itemDoc).toDomain,
	Version:  func(i *item) *int64 { return &i.Version },
	Events: mongox.EncodeChanges(func(i *item) []string { return i.changes }, func(_ context.Context, i *item, c string) (outbox.Record, error) {
		return outbox.Record{ID: fmt.Sprintf("ev-%d", eventIDs.Add(1)), Subject: "test.item." + c, Data: []byte(i.ID)}, nil
	}),
	NotFound:   func(key string) error { return apperr.NotFound("item %s not found", key) },
	Conflict:   func(*item) error { return errNameTaken },
	UniqueKeys: func(d *itemDoc) []string { return []string{"name:" + d.Name} },
}

// store is what both stores offer, with their queries behind one shape.
type store interface {
	Create(ctx context.Context, a *item) error
	Get(ctx context.Context, id string) (*item, error)
	Update(ctx context.Context, id string, fn func(*item) error) (*item, error)
	Upsert(ctx context.Context, id string, fresh func() *item, fn func(*item) error) (*item, error)
	Delete(ctx context.Context, id string) error
}

type harness struct {
	store
	byName   func(name string) (*item, error)
	category func(category string, page mongox.Page) ([]*item, error)
	// pending counts the events waiting in a document's outbox.
	pending func(id string) int
	// clearOutbox does what the relay does after publishing; nil where
	// there is no outbox.
	clearOutbox func(id string)
	// foreign sets a field the document type does not know, as another
	// writer would, and reads it back; nil in memory.
	foreign  func(id string, set bool) any
	notified *atomic.Int64
	// named is the last document the store named to the relay
	// (NotifyDocument), as "collection/id"; nil in memory.
	named func() string
	// handed is how many pending records the store handed the relay with
	// its last notice, -1 for none (the relay is to read them).
	handed func() int
}

func harnesses(t *testing.T, opts mongox.StoreOptions) map[string]func(t *testing.T) harness {
	return harnessesOn(t, opts, append(mongoxtest.Servers(t), processLockedServers(t)...))
}

// processLockedServers are the FerretDB of the tests with the in-process
// locks of make run (process mode) instead of leases: there a write may
// use the document it loaded for the decision when nobody held its lock
// since (doclock.Locks.Stamp), which the leases never allow.
func processLockedServers(t *testing.T) []mongoxtest.Server {
	return serversAs(t, "-process-locks", config.DocLocksProcess, config.DocLockMode.Leases)
}

// unlockedServers are the FerretDB of the tests without document locks,
// which is how the stores write on MongoDB (one version-conditioned update
// each, no read under a lock): for the tests that write from one goroutine,
// as FerretDB applies updates without atomicity.
func unlockedServers(t *testing.T) []mongoxtest.Server {
	return serversAs(t, "-as-mongodb", config.DocLocksOff, config.DocLockMode.On)
}

// serversAs are the test servers whose lock mode has, renamed with suffix
// and set to mode.
func serversAs(t *testing.T, suffix string, mode config.DocLockMode, has func(config.DocLockMode) bool) []mongoxtest.Server {
	var out []mongoxtest.Server
	for _, s := range mongoxtest.Servers(t) {
		if has(s.Config.DocLocks) {
			s.Name += suffix
			s.Config.DocLocks = mode
			out = append(out, s)
		}
	}
	return out
}

func harnessesOn(t *testing.T, opts mongox.StoreOptions, servers []mongoxtest.Server) map[string]func(t *testing.T) harness {
	out := map[string]func(t *testing.T) harness{
		"memory": func(t *testing.T) harness {
			notified := &atomic.Int64{}
			o := opts
			o.Notify = func() { notified.Add(1) }
			s := mongox.NewMemoryStore(items, o)
			return harness{
				store: s,
				byName: func(name string) (*item, error) {
					return s.FindOne(func(d *itemDoc) bool { return d.Name == name }, name)
				},
				category: func(c string, page mongox.Page) ([]*item, error) {
					return s.Find(func(d *itemDoc) bool { return d.Category == c }, page), nil
				},
				pending:  s.Pending,
				notified: notified,
			}
		},
	}
	for _, server := range servers {
		out[server.Name] = func(t *testing.T) harness {
			ctx := context.Background()
			db, cfg := server.Database(t)
			coll := db.Collection("items")
			if err := mongox.EnsureIndexes(ctx, coll,
				mongo.IndexModel{Keys: bson.D{{Key: "name", Value: 1}}, Options: options.Index().SetUnique(true)},
				mongo.IndexModel{Keys: bson.D{{Key: "category", Value: 1}, {Key: "sort_key", Value: 1}}},
			); err != nil {
				t.Fatal(err)
			}
			notified := &atomic.Int64{}
			var named atomic.Value
			named.Store("")
			o := opts
			o.Notify = func() { t.Error("the store swept (Notify) where it could name the document") }
			var handed atomic.Int64
			o.NotifyDocument = func(coll, id string, pending []bson.Raw, _ doclock.Stamp) {
				named.Store(coll + "/" + id)
				handed.Store(-1)
				if pending != nil {
					handed.Store(int64(len(pending)))
				}
				notified.Add(1)
			}
			o.Locks = replicaLocks(cfg, db)
			s := mongox.NewAggregateStore(coll, items, o)
			return harness{
				store:  s,
				byName: func(name string) (*item, error) { return s.FindOne(ctx, bson.D{{Key: "name", Value: name}}, name) },
				category: func(c string, page mongox.Page) ([]*item, error) {
					return s.Find(ctx, bson.D{{Key: "category", Value: c}}, page)
				},
				pending: func(id string) int {
					var doc struct {
						Pending []outbox.Record `bson:"pending_events"`
					}
					if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
						t.Fatal(err)
					}
					return len(doc.Pending)
				},
				clearOutbox: func(id string) {
					unlock := o.Locks.Lock(coll.Name(), id)
					defer unlock()
					if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "pending_events", Value: bson.A{}}}}}); err != nil {
						t.Fatal(err)
					}
				},
				foreign: func(id string, set bool) any {
					if set {
						if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "counter", Value: int64(7)}}}}); err != nil {
							t.Fatal(err)
						}
					}
					var doc bson.M
					if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
						t.Fatal(err)
					}
					return doc["counter"]
				},
				notified: notified,
				named:    func() string { return named.Load().(string) },
				handed:   func() int { return int(handed.Load()) },
			}
		}
	}
	return out
}

func TestAggregateStoreContract(t *testing.T) {
	for name, build := range harnesses(t, mongox.StoreOptions{}) {
		t.Run(name, func(t *testing.T) {
			t.Run("create and get", func(t *testing.T) { createAndGet(t, build(t)) })
			t.Run("update", func(t *testing.T) { update(t, build(t)) })
			t.Run("update keeps what others wrote", func(t *testing.T) { relayClearKept(t, build(t)) })
			t.Run("concurrent updates", func(t *testing.T) { concurrentUpdates(t, build(t)) })
			t.Run("upsert and delete", func(t *testing.T) { upsertAndDelete(t, build(t)) })
			t.Run("pages", func(t *testing.T) { pages(t, build(t)) })
		})
	}
	for name, build := range harnessesOn(t, mongox.StoreOptions{}, unlockedServers(t)) {
		t.Run(name, func(t *testing.T) {
			t.Run("create and get", func(t *testing.T) { createAndGet(t, build(t)) })
			t.Run("update", func(t *testing.T) { update(t, build(t)) })
			t.Run("update keeps what others wrote", func(t *testing.T) { relayClearKept(t, build(t)) })
		})
	}
	// Few attempts, so that contention ends in Aborted quickly.
	for name, build := range harnesses(t, mongox.StoreOptions{MaxAttempts: 3}) {
		t.Run(name+"/too much contention", func(t *testing.T) { contention(t, build(t)) })
	}
}

func newItem(id, name, category string) *item {
	i := &item{ID: id, Name: name, Category: category}
	i.record("created")
	return i
}

func createAndGet(t *testing.T, h harness) {
	ctx := context.Background()
	a := newItem("i1", "alpha", "c")
	a.Note, a.Tags = "a note", []string{"x", "y"}
	if err := h.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.Version != 1 {
		t.Fatalf("created at version %d, want 1", a.Version)
	}
	got, err := h.Get(ctx, "i1")
	if err != nil || got.Name != "alpha" || got.Note != "a note" || fmt.Sprint(got.Tags) != "[x y]" || got.Version != 1 {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if n := h.pending("i1"); n != 1 {
		t.Fatalf("outbox after create holds %d events, want 1", n)
	}
	if h.notified.Load() == 0 {
		t.Fatal("the relay was not woken after a write with events")
	}
	if h.named != nil && h.named() != "items/i1" {
		t.Fatalf("the store named %q to the relay, want items/i1", h.named())
	}
	assertHanded(t, h, 1)
	byName, err := h.byName("alpha")
	if err != nil || byName.ID != "i1" {
		t.Fatalf("by name: %v %v", byName, err)
	}
	if err := h.Create(ctx, newItem("i1", "other", "c")); apperr.KindOf(err) != apperr.KindAlreadyExists || errors.Is(err, errNameTaken) {
		t.Fatalf("taken id: %v", err)
	}
	if err := h.Create(ctx, newItem("i2", "alpha", "c")); !errors.Is(err, errNameTaken) {
		t.Fatalf("taken name: %v, want the aggregate's conflict", err)
	}
	if _, err := h.byName("other"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("a refused create left something behind: %v", err)
	}
	if _, err := h.Get(ctx, "nope"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown id: %v", err)
	}
}

func update(t *testing.T, h harness) {
	ctx := context.Background()
	a := newItem("i1", "alpha", "c")
	a.Note = "to be emptied"
	for _, x := range []*item{a, newItem("i2", "beta", "c")} {
		if err := h.Create(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	refused := errors.New("refused")
	if _, err := h.Update(ctx, "i1", func(i *item) error { i.Name = "changed"; return refused }); !errors.Is(err, refused) {
		t.Fatalf("fn error not returned: %v", err)
	}
	if got, _ := h.Get(ctx, "i1"); got.Name != "alpha" || got.Version != 1 {
		t.Fatalf("a refused update was stored: %+v", got)
	}
	if _, err := h.Update(ctx, "i1", func(i *item) error { i.Name = "beta"; return nil }); !errors.Is(err, errNameTaken) {
		t.Fatalf("taking another's name: %v", err)
	}
	if got, _ := h.Get(ctx, "i1"); got.Name != "alpha" || got.Version != 1 {
		t.Fatalf("a clash changed the item: %+v", got)
	}
	updated, err := h.Update(ctx, "i1", func(i *item) error {
		if i.Version != 1 {
			return fmt.Errorf("fn sees version %d, want the stored 1", i.Version)
		}
		i.Note, i.Tags = "", []string{"t"}
		i.record("changed")
		return nil
	})
	if err != nil || updated.Version != 2 {
		t.Fatalf("update: %+v %v", updated, err)
	}
	got, _ := h.Get(ctx, "i1")
	if got.Note != "" || fmt.Sprint(got.Tags) != "[t]" || got.Version != 2 || got.Name != "alpha" {
		t.Fatalf("after update (an emptied omitempty field must go): %+v", got)
	}
	if n := h.pending("i1"); n != 2 {
		t.Fatalf("outbox holds %d events, want created and changed", n)
	}
	assertHanded(t, h, 2)
	if _, err := h.Update(ctx, "missing", func(*item) error { return nil }); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("update of unknown: %v", err)
	}
}

// The relay clears a document's outbox while a write is between its read
// and its write: the write must append its own events, not bring the
// cleared ones back (they would be published again after the stream's
// duplicate window).
func relayClearKept(t *testing.T, h harness) {
	if h.clearOutbox == nil {
		return // no outbox in memory
	}
	ctx := context.Background()
	if err := h.Create(ctx, newItem("i1", "alpha", "c")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Update(ctx, "i1", func(i *item) error {
		h.clearOutbox("i1") // published and cleared after this write's read
		i.record("changed")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := h.pending("i1"); n != 1 {
		t.Fatalf("outbox holds %d events, want only the new one", n)
	}
	assertHanded(t, h, 1)
	// Nor does a write touch a field its document type does not know.
	h.foreign("i1", true)
	if _, err := h.Update(ctx, "i1", func(i *item) error { i.Note = "again"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := h.foreign("i1", false); got != int64(7) {
		t.Fatalf("another writer's field after an update: %v, want 7", got)
	}
}

// assertHanded checks that the last write handed the relay its document's
// pending records, as many as the outbox holds: the relay publishes them
// without reading the document.
func assertHanded(t *testing.T, h harness, want int) {
	t.Helper()
	if h.handed != nil && h.handed() != want {
		t.Fatalf("the store handed the relay %d pending records (-1: none, read them), want %d", h.handed(), want)
	}
}

func concurrentUpdates(t *testing.T, h harness) {
	ctx := context.Background()
	if err := h.Create(ctx, newItem("i1", "busy", "c")); err != nil {
		t.Fatal(err)
	}
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			_, err := h.Update(ctx, "i1", func(i *item) error {
				i.Tags = append(i.Tags, fmt.Sprintf("w%d", w))
				i.record("tagged")
				return nil
			})
			errs <- err
		}(w)
	}
	wg.Wait()
	close(errs)
	applied := 0
	for err := range errs {
		switch {
		case err == nil:
			applied++
		case apperr.KindOf(err) != apperr.KindAborted:
			t.Fatal(err)
		}
	}
	got, _ := h.Get(ctx, "i1")
	if applied == 0 || len(got.Tags) != applied || got.Version != int64(1+applied) || h.pending("i1") != 1+applied {
		t.Fatalf("lost update: %d applied, tags %v, version %d, %d events", applied, got.Tags, got.Version, h.pending("i1"))
	}
}

// A writer that always loses (someone else writes the document while it
// decides) gives up with Aborted and writes nothing of its own. The inner
// write also shows that no lock is held while fn runs.
func contention(t *testing.T, h harness) {
	ctx := context.Background()
	if err := h.Create(ctx, newItem("i1", "contended", "c")); err != nil {
		t.Fatal(err)
	}
	rounds := 0
	_, err := h.Update(ctx, "i1", func(i *item) error {
		rounds++
		_, err := h.Update(ctx, "i1", func(other *item) error { other.Tags = append(other.Tags, "other"); return nil })
		i.Note = "mine"
		return err
	})
	if apperr.KindOf(err) != apperr.KindAborted || rounds != 3 {
		t.Fatalf("after %d rounds: %v, want Aborted after 3", rounds, err)
	}
	got, _ := h.Get(ctx, "i1")
	if got.Note != "" || len(got.Tags) != 3 || got.Version != 4 {
		t.Fatalf("the loser's change was written, or another's lost: %+v", got)
	}
}

func upsertAndDelete(t *testing.T, h harness) {
	ctx := context.Background()
	fresh := func() *item { return &item{ID: "k", Name: "counter", Category: "c"} }
	bump := func(i *item) error { i.Tags = append(i.Tags, "hit"); return nil }
	before := h.notified.Load()
	for round := 1; round <= 3; round++ {
		got, err := h.Upsert(ctx, "k", fresh, bump)
		if err != nil || len(got.Tags) != round || got.Version != int64(round) {
			t.Fatalf("upsert %d: %+v %v", round, got, err)
		}
	}
	if n := h.notified.Load(); n != before {
		t.Fatalf("writes without events woke the relay %d times", n-before)
	}
	if err := h.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Get(ctx, "k"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := h.Delete(ctx, "k"); err != nil {
		t.Fatalf("deleting nothing: %v", err)
	}
	// The deleted item's unique name is free again.
	if err := h.Create(ctx, newItem("k2", "counter", "c")); err != nil {
		t.Fatal(err)
	}
}

func pages(t *testing.T, h harness) {
	ctx := context.Background()
	for i, name := range []string{"delta", "alpha", "echo", "charlie", "bravo"} {
		cat := "even"
		if i%2 == 1 {
			cat = "odd"
		}
		if err := h.Create(ctx, newItem(fmt.Sprintf("i%d", i), name, cat)); err != nil {
			t.Fatal(err)
		}
	}
	names := func(list []*item) string {
		var out []string
		for _, i := range list {
			out = append(out, i.Name)
		}
		return fmt.Sprint(out)
	}
	read := func(ascending bool) string {
		var seen []*item
		var after *paging.Cursor
		for page := 0; page < 5; page++ {
			list, err := h.category("even", mongox.Page{After: after, Ascending: ascending, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, list...)
			if len(list) < 2 {
				break
			}
			last := list[len(list)-1]
			after = &paging.Cursor{Key: last.Name + "\t" + last.ID, ID: last.ID}
		}
		return names(seen)
	}
	if got := read(true); got != "[bravo delta echo]" {
		t.Fatalf("ascending pages: %s", got)
	}
	if got := read(false); got != "[echo delta bravo]" {
		t.Fatalf("descending pages: %s", got)
	}
	all, err := h.category("odd", mongox.Page{Ascending: true, Omit: []string{"tags"}})
	if err != nil || names(all) != "[alpha charlie]" {
		t.Fatalf("no limit: %s %v", names(all), err)
	}
}

// With the in-process locks, an update that nobody interferes with reads
// the document once, to decide, and writes it once; the write under the
// lock reads it again only when another writer held the lock in between
// (relayClearKept checks that case). With leases, which cannot tell what
// other processes did, it always reads again under the lock.
func TestLockedUpdateReadsOnceWhenNobodyWroteInBetween(t *testing.T) {
	for _, server := range append(mongoxtest.Servers(t), processLockedServers(t)...) {
		if !server.Config.DocLocks.On() {
			continue
		}
		t.Run(server.Name, func(t *testing.T) {
			ctx := context.Background()
			var finds, replaces atomic.Int64
			monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
				switch e.CommandName {
				case "find":
					finds.Add(1)
				case "update":
					replaces.Add(1)
				}
			}}
			_, cfg := server.Database(t)
			client, err := mongo.Connect(options.Client().ApplyURI(cfg.URI).SetMonitor(monitor))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Disconnect(ctx) })
			db := client.Database(cfg.Database)
			s := mongox.NewAggregateStore(db.Collection("items"), items, mongox.StoreOptions{Locks: replicaLocks(cfg, db)})
			if err := s.Create(ctx, newItem("i1", "alpha", "c")); err != nil {
				t.Fatal(err)
			}
			finds.Store(0)
			replaces.Store(0)
			if _, err := s.Update(ctx, "i1", func(i *item) error { i.Note = "n"; i.record("noted"); return nil }); err != nil {
				t.Fatal(err)
			}
			want := int64(1)
			if cfg.DocLocks.Leases() {
				want = 2
			}
			if finds.Load() != want || replaces.Load() != 1 {
				t.Fatalf("an update read the document %d times and wrote it %d times, want %d and 1", finds.Load(), replaces.Load(), want)
			}
			if got, _ := s.Get(ctx, "i1"); got.Note != "n" || got.Version != 2 {
				t.Fatalf("after the update: %+v", got)
			}
		})
	}
}
