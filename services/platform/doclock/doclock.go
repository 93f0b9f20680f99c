// Package doclock serialises the writes to one document inside a process.
//
// Why: the embedded FerretDB v1 applies an update by reading the document,
// changing it in Go and writing it back by _id, without a transaction, so
// two concurrent "update if version is still v" calls can both succeed and
// one write is lost (the repository contract tests show it). Real MongoDB
// does single-document writes atomically and needs none of this.
//
// So the locks are taken only where the configuration asks for them
// (config.Mongo.DocLocks, GEMELLA_<SVC>_MONGO_DOC_LOCKS, true only for the
// embedded store, which serves one process; mongox.DocLocks returns nil
// otherwise, and a nil *Locks locks nothing). Where they are taken, they
// are held around the single database call that writes, never across a
// read or the domain's decision: the stores, the idempotency keys and the
// outbox relay of one process share one set.
package doclock

import (
	"hash/fnv"
	"sync"
)

const stripes = 256

// Locks is a fixed set of mutexes chosen by hashing the document key; the
// zero value is ready to use, and a nil *Locks locks nothing.
type Locks struct {
	mu [stripes]sync.Mutex
}

// Lock locks the document id of collection and returns its unlock.
func (l *Locks) Lock(collection, id string) (unlock func()) {
	if l == nil {
		return func() {}
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(collection))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(id))
	m := &l.mu[h.Sum32()%stripes]
	m.Lock()
	return m.Unlock
}
