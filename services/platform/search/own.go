package search

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
)

// What a service whose index has documents of its own shape
// (StoreConfig.Documents) reads of it to run its own queries.

// Bleve is the index itself, for the service's own queries; a rebuild
// replaces it, so it is asked for again for every search.
func (s *Store) Bleve() bleve.Index { return s.index() }

// Synonyms is the synonym list in use.
func (s *Store) Synonyms() *Synonyms { return s.synonyms }

// SynonymSeqs are, by language, the synonyms' expressions as that
// language's analysis has them.
func (s *Store) SynonymSeqs() map[string][]SynonymSeq { return s.seqs }

// Fresh tells whether the index was created empty and has never been
// rebuilt since.
func (s *Store) Fresh() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fresh
}

// WaitReady waits until the index is ready or ctx ends.
func (s *Store) WaitReady(ctx context.Context) error {
	select {
	case <-s.readyCh():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AwaitReady waits, a little and within ctx, for an index being rebuilt;
// Unavailable when it is not ready by then. Every search asks it first.
func (s *Store) AwaitReady(ctx context.Context) error { return s.awaitReady(ctx) }

// Settle waits, up to maxWait, until the index has persisted and merged
// what it was given: a benchmark measures queries on an index at rest.
func (s *Store) Settle(ctx context.Context, maxWait time.Duration) {
	deadline := time.Now().Add(maxWait)
	last, stable := uint64(0), 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		stats, _ := s.index().StatsMap()["index"].(map[string]interface{})
		mem, _ := stats["num_root_memorysegments"].(uint64)
		files, _ := stats["num_root_filesegments"].(uint64)
		if mem == 0 && files == last {
			stable++
		} else {
			stable = 0
		}
		if stable >= 5 {
			return
		}
		last = files
		time.Sleep(200 * time.Millisecond)
	}
}

// Compact merges the segments of a disk index into one, once what it was
// given is persisted: a search reads every segment, so an index loaded in
// bulk (a rebuild) answers fastest as one. Later writes add small
// segments, which the index merges by its usual policy. An index in
// memory is left as it is.
func (s *Store) Compact(ctx context.Context) error {
	if s.dir == "" {
		return nil
	}
	s.Settle(ctx, time.Minute)
	adv, err := s.index().Advanced()
	if err != nil {
		return err
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	if err := sc.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
		return fmt.Errorf("search index: compact: %w", err)
	}
	return nil
}

// DiskBytes is the size of the index's folder; 0 in memory.
func (s *Store) DiskBytes() (int64, error) {
	if s.dir == "" {
		return 0, nil
	}
	var n int64
	err := filepath.WalkDir(s.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			var info fs.FileInfo
			if info, err = d.Info(); err == nil {
				n += info.Size()
			}
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a segment merged away meanwhile
		}
		return err
	})
	return n, err
}

// EncodeInt is how a number is kept as a value (Txn.SetValue).
func EncodeInt(v int64) []byte { return encodeUint(uint64(v)) }

// DecodeInt reads a number kept by EncodeInt; 0 for none.
func DecodeInt(b []byte) int64 { return int64(decodeUint(b)) }
