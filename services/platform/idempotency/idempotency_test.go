package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/idempotency"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
)

// note is the resource the tests create; notes is where they are saved.
type note struct {
	ID   string
	Text string
}

type notes struct {
	mu    sync.Mutex
	byID  map[string]note
	saves atomic.Int64
}

func (n *notes) save(_ context.Context, x note) error {
	n.saves.Add(1)
	if x.Text == "refused" {
		return apperr.FailedPrecondition("refused")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.byID[x.ID]; ok {
		return apperr.AlreadyExists("note %s exists", x.ID)
	}
	n.byID[x.ID] = x
	return nil
}

func (n *notes) get(_ context.Context, id string) (note, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	x, ok := n.byID[id]
	if !ok {
		return note{}, apperr.NotFound("note %s", id)
	}
	return x, nil
}

func (n *notes) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.byID)
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	store idempotency.Store
	keys  *idempotency.Keys
	notes *notes
	clock *clock
	ids   atomic.Int64
}

// create is a "CreateNote" call of caller with a request id and a text.
func (f *fixture) create(caller, requestID, text string) (note, error) {
	return idempotency.Create(context.Background(), f.keys,
		idempotency.Request{Key: idempotency.Key{Caller: caller, Method: "test.CreateNote", RequestID: requestID}, Body: text},
		idempotency.Creator[note]{
			NewID: func() string { return fmt.Sprintf("n%d", f.ids.Add(1)) },
			Build: func(_ context.Context, id string) (note, error) {
				if text == "" {
					return note{}, apperr.Invalid("text", "is required")
				}
				return note{ID: id, Text: text}, nil
			},
			Save: f.notes.save,
			Get:  f.notes.get,
		})
}

// stores returns the key stores under test: memory, the embedded FerretDB
// and, with GEMELLA_TEST_MONGO_URI, a real MongoDB.
func stores(t *testing.T) map[string]func(t *testing.T) *fixture {
	build := func(store func(t *testing.T) idempotency.Store) func(t *testing.T) *fixture {
		return func(t *testing.T) *fixture {
			c := &clock{now: time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)}
			s := store(t)
			return &fixture{store: s, keys: idempotency.New(s, idempotency.Config{TTL: time.Hour, Now: c.Now}), notes: &notes{byID: map[string]note{}}, clock: c}
		}
	}
	out := map[string]func(t *testing.T) *fixture{
		"memory": build(func(*testing.T) idempotency.Store { return idempotency.NewMemoryStore() }),
	}
	for _, server := range mongoxtest.Servers(t) {
		out[server.Name] = build(func(t *testing.T) idempotency.Store {
			db, cfg := server.Database(t)
			var locks *doclock.Locks // a replica's: leases on the embedded store
			if cfg.DocLocks.On() {
				locks = doclock.New(db, doclock.Options{})
			}
			s := idempotency.NewMongoStore(db, locks)
			for i := 0; i < 2; i++ { // a restart creates the indexes again
				if err := s.EnsureIndexes(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			return s
		})
	}
	return out
}

func TestIdempotency(t *testing.T) {
	for name, build := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("same caller, key and body get the first result", func(t *testing.T) { sameRequestTwice(t, build(t)) })
			t.Run("same key with another body is refused", func(t *testing.T) { otherBody(t, build(t)) })
			t.Run("another caller's identical key is its own", func(t *testing.T) { otherCaller(t, build(t)) })
			t.Run("a claimed key whose resource was never saved", func(t *testing.T) { crashAfterClaim(t, build(t)) })
			t.Run("concurrent retries make one resource", func(t *testing.T) { concurrentRetries(t, build(t)) })
			t.Run("a refused create frees its key", func(t *testing.T) { refusedFreesKey(t, build(t)) })
			t.Run("keys expire", func(t *testing.T) { expiry(t, build(t)) })
		})
	}
}

func sameRequestTwice(t *testing.T, f *fixture) {
	first, err := f.create("member:ada", "r1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.create("member:ada", "r1", "hello")
	if err != nil || again != first {
		t.Fatalf("retry: %+v %v, want %+v", again, err, first)
	}
	if f.notes.count() != 1 || f.notes.saves.Load() != 1 {
		t.Fatalf("%d notes after %d saves, want one of one", f.notes.count(), f.notes.saves.Load())
	}
	// Without a request id every call is a new resource.
	a, _ := f.create("member:ada", "", "hello")
	b, _ := f.create("member:ada", "", "hello")
	if a.ID == b.ID || a.ID == first.ID || f.notes.count() != 3 {
		t.Fatalf("creates without a request id: %+v %+v, %d notes", a, b, f.notes.count())
	}
}

func otherBody(t *testing.T, f *fixture) {
	if _, err := f.create("member:ada", "r1", "hello"); err != nil {
		t.Fatal(err)
	}
	_, err := f.create("member:ada", "r1", "goodbye")
	var ae *apperr.Error
	if apperr.KindOf(err) != apperr.KindAlreadyExists || !errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "request_id" {
		t.Fatalf("same key, other body: %v, want AlreadyExists naming request_id", err)
	}
	if ae.Reason != apperr.ReasonRequestIDReused || ae.Violations[0].Reason != apperr.ReasonRequestIDReused {
		t.Errorf("same key, other body: reasons %q / %q, want %s (the registry's reason for exactly this)", ae.Reason, ae.Violations[0].Reason, apperr.ReasonRequestIDReused)
	}
	if f.notes.count() != 1 {
		t.Fatalf("%d notes, want 1", f.notes.count())
	}
}

func otherCaller(t *testing.T, f *fixture) {
	ada, err := f.create("member:ada", "r1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := f.create("member:bob", "r1", "hello")
	if err != nil || bob.ID == ada.ID {
		t.Fatalf("bob's create with ada's key: %+v %v, want a note of his own", bob, err)
	}
	// Another method is another key too.
	other, err := idempotency.Create(context.Background(), f.keys,
		idempotency.Request{Key: idempotency.Key{Caller: "member:ada", Method: "test.CreateOther", RequestID: "r1"}, Body: "different"},
		idempotency.Creator[note]{
			NewID: func() string { return "other-1" },
			Build: func(_ context.Context, id string) (note, error) { return note{ID: id, Text: "different"}, nil },
			Save:  f.notes.save, Get: f.notes.get,
		})
	if err != nil || other.ID != "other-1" || f.notes.count() != 3 {
		t.Fatalf("same key, other method: %+v %v (%d notes)", other, err, f.notes.count())
	}
}

// The first call recorded its key and stopped (crashed, or timed out)
// before saving: the retry saves the resource under the recorded id, once.
func crashAfterClaim(t *testing.T, f *fixture) {
	ctx := context.Background()
	key := idempotency.Key{Caller: "member:ada", Method: "test.CreateNote", RequestID: "r1"}
	fingerprint := idempotency.Fingerprint("hello")
	if _, err := f.store.Claim(ctx, key, idempotency.Record{ResourceID: "crashed-1", Fingerprint: fingerprint, ExpiresAt: f.clock.Now().Add(time.Hour)}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := f.create("member:ada", "r1", "hello")
	if err != nil || got.ID != "crashed-1" {
		t.Fatalf("retry after a crash: %+v %v, want the recorded id crashed-1", got, err)
	}
	again, err := f.create("member:ada", "r1", "hello")
	if err != nil || again.ID != "crashed-1" || f.notes.count() != 1 {
		t.Fatalf("second retry: %+v %v, %d notes, want crashed-1 alone", again, err, f.notes.count())
	}
}

func concurrentRetries(t *testing.T, f *fixture) {
	const callers = 8
	var wg sync.WaitGroup
	ids := make(chan string, callers)
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.create("member:ada", "r1", "hello")
			if err != nil {
				errs <- err
				return
			}
			ids <- n.ID
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || f.notes.count() != 1 {
		t.Fatalf("concurrent retries answered %v and saved %d notes, want one", seen, f.notes.count())
	}
}

func refusedFreesKey(t *testing.T, f *fixture) {
	if _, err := f.create("member:ada", "r1", ""); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("invalid body: %v", err)
	}
	if _, err := f.create("member:ada", "r1", "refused"); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("refused save: %v", err)
	}
	// Neither claimed the key for good: the corrected request goes through.
	n, err := f.create("member:ada", "r1", "hello")
	if err != nil || n.Text != "hello" || f.notes.count() != 1 {
		t.Fatalf("corrected request: %+v %v", n, err)
	}
}

func expiry(t *testing.T, f *fixture) {
	first, err := f.create("member:ada", "r1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.create("member:ada", "r2", "kept"); err != nil {
		t.Fatal(err)
	}
	f.clock.add(59 * time.Minute)
	if again, err := f.create("member:ada", "r1", "hello"); err != nil || again.ID != first.ID {
		t.Fatalf("retry within the TTL: %+v %v", again, err)
	}
	if _, err := f.create("member:ada", "r3", "young"); err != nil {
		t.Fatal(err)
	}
	f.clock.add(2 * time.Minute)
	// Expired and not swept yet: the key is forgotten all the same.
	later, err := f.create("member:ada", "r1", "another day")
	if err != nil || later.ID == first.ID {
		t.Fatalf("same key after the TTL: %+v %v, want a new note", later, err)
	}
	n, err := f.store.Sweep(context.Background(), f.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("sweep deleted %d keys (%v), want r2's", n, err)
	}
	if again, err := f.create("member:ada", "r3", "young"); err != nil || f.notes.count() != 4 || again.Text != "young" {
		t.Fatalf("a young key was swept: %+v %v, %d notes", again, err, f.notes.count())
	}
}

// Run sweeps on its own and stops with its context.
func TestRunSweeps(t *testing.T) {
	store := idempotency.NewMemoryStore()
	c := &clock{now: time.Now()}
	keys := idempotency.New(store, idempotency.Config{TTL: time.Minute, SweepInterval: time.Millisecond, Now: c.Now})
	f := &fixture{store: store, keys: keys, notes: &notes{byID: map[string]note{}}, clock: c}
	if _, err := f.create("member:ada", "r1", "hello"); err != nil {
		t.Fatal(err)
	}
	c.add(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- keys.Run(ctx, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for store.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || store.Len() != 0 {
		t.Fatalf("run: %v, %d keys left", err, store.Len())
	}
}

// Bodies that differ only in an unexported field (a domain enum) differ
// in their fingerprints.
func TestFingerprintSeesUnexportedFields(t *testing.T) {
	type kind struct{ s string }
	type body struct {
		Name string
		Kind kind
		Tags []string
	}
	a := idempotency.Fingerprint(body{"x", kind{"region"}, []string{"a"}})
	if a != idempotency.Fingerprint(body{"x", kind{"region"}, []string{"a"}}) {
		t.Fatal("equal bodies differ")
	}
	if a == idempotency.Fingerprint(body{"x", kind{"network"}, []string{"a"}}) {
		t.Fatal("bodies of another kind are the same")
	}
}

// Members and services are told apart, so that no member id can pass for
// a service acting on its own.
func TestCallerID(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range []auth.Caller{{MemberID: "catalog"}, auth.System("catalog"), auth.Anonymous, {MemberID: "ada"}} {
		ids[idempotency.CallerID(c)] = true
	}
	if len(ids) != 4 {
		t.Fatalf("caller ids collide: %v", ids)
	}
}
