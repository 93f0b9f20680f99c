package doclock

import (
	"context"
	"sync"
	"testing"
	"time"
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
