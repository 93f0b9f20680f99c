package doclock

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Writers of one document take turns: a read-modify-write under the lock
// never loses an update, as the embedded store's own writes would.
func TestOneDocumentOneWriterAtATime(t *testing.T) {
	var locks Locks
	counter := 0
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := locks.Lock("practices", "p1")
			v := counter // read
			for j := 0; j < 1000; j++ {
				_ = j
			}
			counter = v + 1 // write back
			unlock()
		}()
	}
	wg.Wait()
	if counter != 50 {
		t.Fatalf("lost updates: counter %d, want 50", counter)
	}
}

func TestNilLocksLockNothing(t *testing.T) {
	var l *Locks
	l.Lock("c", "id")()
	l.Lock("c", "id")() // would deadlock if it locked
}

// InProcess hands every caller naming one database the same locks, so
// that two instances of a service in one process exclude each other.
func TestInProcessSharesLocksByDatabase(t *testing.T) {
	a, b, other := InProcess("test-shared-db"), InProcess("test-shared-db"), InProcess("test-other-db")
	if a != b || a == other {
		t.Fatalf("InProcess: same database %p %p, other %p", a, b, other)
	}
	release, err := a.Acquire(context.Background(), "items", "i1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(ctx, "items", "i1"); err == nil {
		t.Fatal("a second instance took a held lock")
	}
	release()
	release2, err := b.Acquire(context.Background(), "items", "i1")
	if err != nil {
		t.Fatal(err)
	}
	release2()
}

// A stamp stays unchanged until a holder of its document's lock releases
// it, whichever way the lock was taken; a lease's never is (other
// processes' writes are not counted), nor a nil Locks'.
func TestStampChangesWithEveryRelease(t *testing.T) {
	ctx := context.Background()
	var locks Locks
	s := locks.Stamp("items", "i1")
	release, err := locks.Acquire(ctx, "items", "i1")
	if err != nil {
		t.Fatal(err)
	}
	if !locks.Unchanged(s) {
		t.Fatal("a stamp changed before anyone released the lock")
	}
	release()
	if locks.Unchanged(s) {
		t.Fatal("a stamp is unchanged after a release by Acquire's holder")
	}
	s = locks.Stamp("items", "i1")
	locks.Lock("items", "i1")()
	if locks.Unchanged(s) {
		t.Fatal("a stamp is unchanged after a release by Lock's holder")
	}
	s = locks.Stamp("items", "i1")
	if !locks.Unchanged(s) {
		t.Fatal("a fresh stamp is not unchanged")
	}
	var zero Stamp
	if locks.Unchanged(zero) {
		t.Fatal("the zero stamp says unchanged")
	}
	var none *Locks
	if none.Unchanged(none.Stamp("items", "i1")) {
		t.Fatal("a nil Locks' stamp says unchanged")
	}
	leased := &Locks{leases: &mongo.Collection{}}
	if leased.Unchanged(leased.Stamp("items", "i1")) {
		t.Fatal("a lease's stamp says unchanged")
	}
	if locks.Shared() || none.Shared() || !leased.Shared() {
		t.Fatalf("Shared: in-process %v, nil %v, leases %v; want only the leases", locks.Shared(), none.Shared(), leased.Shared())
	}
}
