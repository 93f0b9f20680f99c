package search

import (
	"container/list"
	"math"
	"sync"

	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Scoring reads, for every match, each query term's frequency and field
// length from the segment's postings, which the segment keeps compressed:
// decoding them is most of the cost of a search that matches thousands of
// documents. The terms people search for repeat (a catalogue's queries
// follow its vocabulary's few common words), so the postings a search
// decodes are kept, per segment, in a bounded cache: the next search of
// the same word reads plain arrays. The first search of a word pays the
// decoding, as it would without the cache.

// termPostings is one term's postings in one segment, decoded.
type termPostings struct {
	docs []uint32
	// tf is the square root of the term's frequency (as Bleve scores it),
	// length the field's length in the document.
	tf, length []float32
}

func (t *termPostings) bytes() int64 { return int64(len(t.docs)) * 12 }

// decodePostings reads a postings iterator with frequencies and norms.
func decodePostings(it segment.PostingsIterator) (*termPostings, error) {
	out := &termPostings{}
	for {
		p, err := it.Next()
		if err != nil {
			return nil, err
		}
		if p == nil {
			return out, nil
		}
		norm := p.Norm()
		length := float32(1)
		if norm > 0 {
			length = float32(1 / (norm * norm))
		}
		out.docs = append(out.docs, uint32(p.Number()))
		out.tf = append(out.tf, float32(math.Sqrt(float64(p.Frequency()))))
		out.length = append(out.length, length)
	}
}

// postingsCache bounds the decoded postings kept, across segments, by the
// bytes they take; the least recently used go first.
type postingsCache struct {
	mu      sync.Mutex
	budget  int64
	used    int64
	order   *list.List // of *cachedPostings, most recent first
	entries map[postingsKey]*list.Element
}

type postingsKey struct {
	seg         segment.Segment
	field, term string
}

type cachedPostings struct {
	key postingsKey
	p   *termPostings
}

// DefaultPostingsCacheBytes is the decoded postings a replica keeps for
// scoring unless configured otherwise.
const DefaultPostingsCacheBytes = 64 << 20

func newPostingsCache(budget int64) *postingsCache {
	return &postingsCache{budget: budget, order: list.New(), entries: map[postingsKey]*list.Element{}}
}

func (c *postingsCache) get(k postingsKey) *termPostings {
	if c == nil || c.budget <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cachedPostings).p
	}
	return nil
}

func (c *postingsCache) put(k postingsKey, p *termPostings) {
	if c == nil || p.bytes() > c.budget/4 {
		return // one term may not crowd out the others
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; ok {
		return
	}
	c.entries[k] = c.order.PushFront(&cachedPostings{key: k, p: p})
	c.used += p.bytes()
	for c.used > c.budget {
		c.remove(c.order.Back())
	}
}

func (c *postingsCache) remove(e *list.Element) {
	cp := e.Value.(*cachedPostings)
	c.order.Remove(e)
	delete(c.entries, cp.key)
	c.used -= cp.p.bytes()
}

// forget drops what the cache holds of segments no longer searched.
func (c *postingsCache) forget(dead map[segment.Segment]bool) {
	if c == nil || len(dead) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.order.Front(); e != nil; {
		next := e.Next()
		if dead[e.Value.(*cachedPostings).key.seg] {
			c.remove(e)
		}
		e = next
	}
}

// postingsOf is the decoded postings of term in field of a segment.
func (x *Index) postingsOf(seg segment.Segment, field, term string) (*termPostings, error) {
	k := postingsKey{seg: seg, field: field, term: term}
	if p := x.postings.get(k); p != nil {
		return p, nil
	}
	dict, err := seg.Dictionary(field)
	if err != nil {
		return nil, err
	}
	pl, err := dict.PostingsList([]byte(term), nil, nil)
	if err != nil {
		return nil, err
	}
	p, err := decodePostings(pl.Iterator(true, true, false, nil))
	if err != nil {
		return nil, err
	}
	x.postings.put(k, p)
	return p, nil
}
