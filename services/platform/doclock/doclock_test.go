package doclock

import (
	"sync"
	"testing"
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
