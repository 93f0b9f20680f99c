package idempotency

import (
	"context"
	"sync"
	"time"
)

// MemoryStore keeps keys in the process, for a service on in-memory
// repositories (tests, benchmarks). The zero value is not ready: use
// NewMemoryStore.
type MemoryStore struct {
	mu   sync.Mutex
	keys map[string]Record
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{keys: map[string]Record{}} }

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, key Key, rec Record, now time.Time) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := key.id()
	if held, ok := s.keys[id]; ok && held.ExpiresAt.After(now) {
		return held, nil
	}
	s.keys[id] = rec
	return rec, nil
}

// Release implements Store.
func (s *MemoryStore) Release(_ context.Context, key Key, resourceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := key.id()
	if held, ok := s.keys[id]; ok && held.ResourceID == resourceID {
		delete(s.keys, id)
	}
	return nil
}

// Sweep implements Store.
func (s *MemoryStore) Sweep(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, rec := range s.keys {
		if !rec.ExpiresAt.After(now) {
			delete(s.keys, id)
			n++
		}
	}
	return n, nil
}

// Len is how many keys the store holds, expired ones not yet swept
// included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}
