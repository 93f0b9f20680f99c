package server

import (
	"bytes"
	"hash/maphash"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// encodedCache keeps the JSON of recent answers, keyed by the message
// itself: its type and its deterministic binary encoding. protojson costs
// several times the binary encoding of the same message (`make bench` (a)
// profiles it), and most reads are of the same few resources, so an answer
// already seen is written from the cache after one binary encoding and a
// hash, and encoded once more only when it changed.
//
// Keying by content rather than by a resource's etag or version makes the
// cache exact whatever the message: equal bytes are an equal message,
// whose JSON is the same; a new etag, a changed field, a list that moved,
// an answer that differs by caller are all other bytes. Nothing is ever
// stale, so every replica keeps its own cache and none needs to hear of
// another's writes. Memory is bounded by maxBytes.
type encodedCache struct {
	seed     maphash.Seed
	maxBytes int
	maxEntry int

	mu      sync.RWMutex
	entries map[uint64]*encodedEntry
	bytes   int
}

type encodedEntry struct {
	name protoreflect.FullName
	wire []byte
	json []byte
}

const (
	// encodedCacheBytes bounds the cache (binary and JSON of every entry).
	encodedCacheBytes = 16 << 20
	// encodedEntryBytes is the largest answer kept (binary plus JSON), a
	// few full pages of a list.
	encodedEntryBytes = 256 << 10
)

func newEncodedCache(maxBytes, maxEntry int) *encodedCache {
	return &encodedCache{seed: maphash.MakeSeed(), maxBytes: maxBytes, maxEntry: maxEntry, entries: map[uint64]*encodedEntry{}}
}

// wireBuffers are scratch space for the binary encoding of a lookup.
var wireBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

var (
	deterministic = proto.MarshalOptions{Deterministic: true}
	// cachedSize marshals after a Size call without sizing again.
	cachedSize = proto.MarshalOptions{Deterministic: true, UseCachedSize: true}
)

// encoder is what writes a message's JSON on a miss (runtime.JSONPb).
type encoder interface {
	Marshal(v any) ([]byte, error)
}

// marshal returns m's JSON from the cache, or from enc (and keeps it).
// The bytes returned are shared: callers must not change them.
func (c *encodedCache) marshal(m proto.Message, enc encoder) ([]byte, error) {
	// An answer too large to keep (its JSON is rarely smaller than its
	// binary form) is not encoded twice: sizing it costs a fraction of
	// encoding it, and the encoding below reuses the sizes.
	if deterministic.Size(m) > c.maxEntry/2 {
		return enc.Marshal(m)
	}
	bufp := wireBuffers.Get().(*[]byte)
	defer wireBuffers.Put(bufp)
	wire, err := cachedSize.MarshalAppend((*bufp)[:0], m)
	if err != nil {
		return enc.Marshal(m)
	}
	*bufp = wire[:0]
	name := m.ProtoReflect().Descriptor().FullName()
	key := maphash.Bytes(c.seed, wire) ^ maphash.String(c.seed, string(name))

	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e != nil && e.name == name && bytes.Equal(e.wire, wire) {
		return e.json, nil
	}

	out, err := enc.Marshal(m)
	if err != nil {
		return nil, err
	}
	size := len(wire) + len(out)
	if size > c.maxEntry {
		return out, nil
	}
	// Full slice expressions: an append by a caller copies, never writes
	// into the cached array.
	e = &encodedEntry{name: name, wire: bytes.Clone(wire), json: out[:len(out):len(out)]}
	c.mu.Lock()
	if old := c.entries[key]; old != nil {
		c.bytes -= len(old.wire) + len(old.json)
		delete(c.entries, key)
	}
	// Over the bound, forget entries in map order, which Go randomises:
	// random eviction, which keeps what is read often with a high chance
	// and needs no bookkeeping on the read path.
	for k, victim := range c.entries {
		if c.bytes+size <= c.maxBytes {
			break
		}
		c.bytes -= len(victim.wire) + len(victim.json)
		delete(c.entries, k)
	}
	c.entries[key] = e
	c.bytes += size
	c.mu.Unlock()
	return e.json, nil
}

// size is the number of entries and their bytes, for tests.
func (c *encodedCache) size() (entries, bytes int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries), c.bytes
}
