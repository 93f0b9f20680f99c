package search

import (
	"container/list"
	"math"
	"sync"
	"sync/atomic"

	bsearch "github.com/blevesearch/bleve/v2/search"
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
	// maxima are the blocks' greatest scores, for one average length.
	maxima atomic.Pointer[blockMaxima]
}

// Ranking visits the matches by blocks of blockDocs consecutive document
// numbers, the most promising first, and stops when no block left can
// hold a better match than the page's worst: each term knows the best
// score its postings reach in each block.
const (
	blockShift = 6
	blockDocs  = 1 << blockShift
)

type blockMaxima struct {
	avgLen float64
	max    []float32 // by block; 0 where the term is absent
}

// tfPart is BM25's part of a term's score that depends on the document.
func tfPart(tf, length, avgLen float64) float64 {
	return tf * bsearch.BM25_k1 / (tf + bsearch.BM25_k1*(1-bsearch.BM25_b+bsearch.BM25_b*length/avgLen))
}

// blockMax is, by block of documents, the greatest tfPart of the term
// there, rounded up.
func (t *termPostings) blockMax(avgLen float64) []float32 {
	if m := t.maxima.Load(); m != nil && m.avgLen == avgLen {
		return m.max
	}
	var out []float32
	if n := len(t.docs); n > 0 {
		out = make([]float32, int(t.docs[n-1]>>blockShift)+1)
	}
	for i, d := range t.docs {
		v := float32(tfPart(float64(t.tf[i]), float64(t.length[i]), avgLen))
		v = math.Nextafter32(v, float32(math.Inf(1)))
		if b := d >> blockShift; v > out[b] {
			out[b] = v
		}
	}
	t.maxima.Store(&blockMaxima{avgLen: avgLen, max: out})
	return out
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

// DropPostings empties the cache of decoded postings, so that the next
// search decodes its terms' postings, as a search of words nobody searched
// lately does: a benchmark measures both.
func (x *Index) DropPostings() {
	if x.postings == nil {
		return
	}
	x.postings.mu.Lock()
	defer x.postings.mu.Unlock()
	x.postings.order.Init()
	x.postings.entries = map[postingsKey]*list.Element{}
	x.postings.used = 0
}
