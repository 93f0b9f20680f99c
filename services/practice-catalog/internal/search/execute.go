package search

import (
	"container/heap"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/numeric"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// The searches of the portal run on the index's segments directly rather
// than through Bleve's searchers and collector: at 100,000 practices a
// one-word query matches thousands of them, and Bleve visits every match
// (its facets decode each one's doc values, its searchers allocate a match
// object per document and compare byte-slice ids at every step). Here the
// set of matches is computed with the segments' own posting bitmaps (AND
// of the words, OR of a word's fields and spellings, AND of the filters),
// so the total is a cardinality and the facets are counted from a cached
// per-segment index of each document's values (or by intersecting bitmaps
// when the matches are many). The matches are ranked by blocks of
// consecutive documents, the most promising block first, each term
// knowing its best score in each block (impacts.go): once the page is
// full, the blocks that cannot beat its worst hit are not scored at all.
// Only the page shown is read from the stored documents.
//
// The ranking is Bleve's BM25 as the Bleve query of the same shape scores
// it (a word's score is the sum over the fields and spellings it matched,
// times their share of them; a query's the sum of its words', or for a
// long one those matched times their share), without the query
// normalisation that changes no order. Matchmaking still asks Bleve: it
// reads few hits and no facets.

// termRef is one term looked for in one field, with its weight.
type termRef struct {
	field, term string
	boost       float64
	id          int // index into the plan's distinct terms
}

// wordPlan is one word: any of its terms.
type wordPlan struct{ terms []termRef }

// optionPlan is one way of saying a clause: all of its words.
type optionPlan struct {
	words []wordPlan
	boost float64
}

// clausePlan is a word of the query, or a synonym group: any of its options.
type clausePlan struct{ options []optionPlan }

// filterPlan keeps documents with one of the values in a keyword field.
type filterPlan struct {
	field  string
	values []string
}

// queryPlan is one search.
type queryPlan struct {
	kind string
	// clauses are the query's words; none means all documents of kind.
	clauses []clausePlan
	// min is how many clauses a document must match.
	min int
	// none: the text had only stop words, nothing matches.
	none    bool
	filters []filterPlan
	// facets counts the values of fieldFacets among the matches.
	facets        bool
	offset, limit int
}

// distinctTerms numbers the plan's terms and returns them, each once.
func (p *queryPlan) distinctTerms() []termRef {
	ids := map[[2]string]int{}
	var out []termRef
	for ci := range p.clauses {
		for oi := range p.clauses[ci].options {
			for wi := range p.clauses[ci].options[oi].words {
				terms := p.clauses[ci].options[oi].words[wi].terms
				for ti := range terms {
					key := [2]string{terms[ti].field, terms[ti].term}
					id, ok := ids[key]
					if !ok {
						id = len(out)
						ids[key] = id
						out = append(out, terms[ti])
					}
					terms[ti].id = id
				}
			}
		}
	}
	return out
}

// hitRef is a match: where it is and how it ranks.
type hitRef struct {
	seg   int
	doc   uint64
	score float64
}

// executed is what a search found: the total, the counts of the facet
// values, and the page of hits with their stored sources.
type executed struct {
	total  int
	facets map[string]int
	hits   []executedHit
}

type executedHit struct {
	score  float64
	source []byte
}

// execute runs p on the index's current snapshot, adding its phases to ph
// (when not nil).
func (x *Index) execute(p *queryPlan, ph *Phases) (executed, error) {
	at := time.Now()
	adv, err := x.index().Advanced()
	if err != nil {
		return executed{}, err
	}
	r, err := adv.Reader()
	if err != nil {
		return executed{}, err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return executed{}, fmt.Errorf("search index: reader is a %T, not a scorch snapshot", r)
	}
	segs := snap.Segments()
	cache, dead := x.segments.forSnapshot(segs)
	x.postings.forget(dead)
	out := executed{facets: map[string]int{}}
	if p.none {
		return out, nil
	}
	terms := p.distinctTerms()

	// The matches of each segment, and each term's bitmap in it.
	cands := make([]*roaring.Bitmap, len(segs))
	termBits := make([][]*roaring.Bitmap, len(segs))
	docFreq := make([]uint64, len(terms))
	for si, ss := range segs {
		sc := cache[si]
		var cand *roaring.Bitmap
		if len(p.clauses) == 0 {
			kind, err := sc.postings(ss, fieldKind, p.kind)
			if err != nil {
				return executed{}, err
			}
			cand = roaring.AndNot(kind, deletedOf(ss))
		} else {
			bits := make([]*roaring.Bitmap, len(terms))
			for ti, t := range terms {
				b, err := sc.livePostings(ss, t.field, t.term)
				if err != nil {
					return executed{}, err
				}
				bits[ti] = b
				docFreq[ti] += b.GetCardinality()
			}
			termBits[si] = bits
			cand = p.matches(bits, ss.Segment().Count())
		}
		for _, f := range p.filters {
			if cand.IsEmpty() {
				break
			}
			var values []*roaring.Bitmap
			for _, v := range f.values {
				b, err := sc.postings(ss, f.field, v)
				if err != nil {
					return executed{}, err
				}
				values = append(values, b)
			}
			cand.And(roaring.FastOr(values...))
		}
		cands[si] = cand
		out.total += int(cand.GetCardinality())
		ph.lap(phaseMatches, &at)
		if p.facets && !cand.IsEmpty() {
			fv, err := sc.facetValues(ss)
			if err != nil {
				return executed{}, err
			}
			fv.count(cand, out.facets)
		}
		ph.lap(phaseFacets, &at)
	}

	want := p.offset + p.limit
	if want <= 0 || out.total <= p.offset {
		return out, nil
	}
	var top []hitRef
	if len(p.clauses) == 0 {
		top, err = newest(segs, cache, cands, want)
	} else {
		top, err = x.best(snap, segs, p, terms, docFreq, termBits, cands, want)
	}
	if err != nil {
		return executed{}, err
	}
	ph.lap(phaseRanking, &at)
	if p.offset >= len(top) {
		return out, nil
	}
	for _, h := range top[p.offset:] {
		src, err := storedSource(segs[h.seg], h.doc)
		if err != nil {
			return executed{}, err
		}
		out.hits = append(out.hits, executedHit{score: h.score, source: src})
	}
	ph.lap(phasePage, &at)
	return out, nil
}

// matches is the set of documents that match enough clauses, from the
// bitmaps of the plan's terms in one segment.
func (p *queryPlan) matches(bits []*roaring.Bitmap, segSize uint64) *roaring.Bitmap {
	clauses := make([]*roaring.Bitmap, len(p.clauses))
	for ci, c := range p.clauses {
		var options []*roaring.Bitmap
		for _, o := range c.options {
			words := make([]*roaring.Bitmap, len(o.words))
			for wi, w := range o.words {
				ts := make([]*roaring.Bitmap, len(w.terms))
				for ti, t := range w.terms {
					ts[ti] = bits[t.id]
				}
				words[wi] = roaring.FastOr(ts...)
			}
			options = append(options, andSmallestFirst(words))
		}
		clauses[ci] = roaring.FastOr(options...)
	}
	if p.min >= len(clauses) {
		return andSmallestFirst(clauses)
	}
	// At least min of the clauses: count them per document.
	counts := make([]uint8, segSize)
	for _, c := range clauses {
		it := c.Iterator()
		for it.HasNext() {
			counts[it.Next()]++
		}
	}
	out := roaring.New()
	for d, n := range counts {
		if int(n) >= p.min {
			out.Add(uint32(d))
		}
	}
	return out
}

func andSmallestFirst(bs []*roaring.Bitmap) *roaring.Bitmap {
	if len(bs) == 0 {
		return roaring.New()
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].GetCardinality() < bs[j].GetCardinality() })
	return roaring.FastAnd(bs...)
}

// scoredTerm is what scoring needs of one term in one segment.
type scoredTerm struct {
	p      *termPostings
	at     int     // the first posting not before the document scored last
	weight float64 // boost × idf²
	avgLen float64
	max    []float32 // the blocks' greatest tfPart
}

// seek moves to the first posting at or after doc, wherever the last was.
func (t *scoredTerm) seek(doc uint32) {
	if t.p == nil {
		return
	}
	docs := t.p.docs
	t.at = sort.Search(len(docs), func(i int) bool { return docs[i] >= doc })
}

// score is the BM25 score of the term in doc, 0 when doc lacks it; docs
// are scored in increasing order (after a seek).
func (t *scoredTerm) score(doc uint32) float64 {
	if t.p == nil {
		return 0
	}
	docs := t.p.docs
	i := t.at
	if i < len(docs) && docs[i] < doc {
		// Gallop, then search: the term may be much denser than the matches.
		step := 1
		for i+step < len(docs) && docs[i+step] < doc {
			i += step
			step *= 2
		}
		hi := min(i+step, len(docs))
		for i < hi && docs[i] < doc {
			mid := (i + hi) / 2
			if docs[mid] < doc {
				i = mid + 1
			} else {
				hi = mid
			}
		}
	}
	t.at = i
	if i >= len(docs) || docs[i] != doc {
		return 0
	}
	return t.weight * tfPart(float64(t.p.tf[i]), float64(t.p.length[i]), t.avgLen)
}

// bound is the greatest score the term may have in a block.
func (t *scoredTerm) bound(block uint32) float64 {
	if t.p == nil || int(block) >= len(t.max) {
		return 0
	}
	return t.weight * float64(t.max[block])
}

// matchBlock is the matches of one segment in one block of documents:
// docs[lo:hi] of the segment's.
type matchBlock struct {
	bound  float64 // no match in it scores more
	seg    int32
	block  uint32
	lo, hi int32
}

// blockHeap pops the block with the greatest bound first.
type blockHeap []matchBlock

func (h blockHeap) Len() int           { return len(h) }
func (h blockHeap) Less(i, j int) bool { return h[i].bound > h[j].bound }
func (h blockHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *blockHeap) Push(v any)        { *h = append(*h, v.(matchBlock)) }
func (h *blockHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

// best scores the matches of every segment and keeps the want best. The
// matches are taken by blocks, the block that may hold the best first;
// once the page is full, a block whose bound is below the page's worst
// score, and every block after it, is left unread.
func (x *Index) best(snap *scorch.IndexSnapshot, segs []*scorch.SegmentSnapshot, p *queryPlan, terms []termRef,
	docFreq []uint64, termBits [][]*roaring.Bitmap, cands []*roaring.Bitmap, want int) ([]hitRef, error) {
	docTotal, err := snap.DocCount()
	if err != nil {
		return nil, err
	}
	weights := make([]float64, len(terms))
	avgLens := make([]float64, len(terms))
	for ti, t := range terms {
		// As Bleve's BM25: its idf, and its average field length (the
		// field's distinct terms per document).
		idf := math.Log(1 + (float64(docTotal)-float64(docFreq[ti])+0.5)/(float64(docFreq[ti])+0.5))
		weights[ti] = t.boost * idf * idf
		card, err := snap.FieldCardinality(t.field)
		if err != nil {
			return nil, err
		}
		avgLens[ti] = math.Max(1, math.Ceil(float64(card)/float64(max(docTotal, 1))))
	}
	scored := make([][]scoredTerm, len(segs))
	docs := make([][]uint32, len(segs))
	var blocks blockHeap
	bounds := make([]float64, len(terms))
	for si, ss := range segs {
		cand := cands[si]
		if cand.IsEmpty() {
			continue
		}
		st := make([]scoredTerm, len(terms))
		for ti, t := range terms {
			st[ti] = scoredTerm{weight: weights[ti], avgLen: avgLens[ti]}
			if termBits[si][ti].IsEmpty() {
				continue
			}
			if st[ti].p, err = x.postingsOf(ss.Segment(), t.field, t.term); err != nil {
				return nil, fmt.Errorf("search index: postings of %s:%s: %w", t.field, t.term, err)
			}
			st[ti].max = st[ti].p.blockMax(avgLens[ti])
		}
		scored[si] = st
		d := cand.ToArray()
		docs[si] = d
		for i := 0; i < len(d); {
			b := d[i] >> blockShift
			j := i + 1
			for j < len(d) && d[j]>>blockShift == b {
				j++
			}
			for ti := range st {
				bounds[ti] = st[ti].bound(b)
			}
			blocks = append(blocks, matchBlock{bound: p.score(bounds), seg: int32(si), block: b, lo: int32(i), hi: int32(j)})
			i = j
		}
	}
	heap.Init(&blocks)

	h := &hitHeap{}
	scores := make([]float64, len(terms))
	present := make([]bool, len(terms))
	for blocks.Len() > 0 {
		bl := heap.Pop(&blocks).(matchBlock)
		if h.Len() == want && bl.bound*(1+1e-9) < (*h)[0].score {
			break // no block left can do better
		}
		st := scored[bl.seg]
		inBlock := docs[bl.seg][bl.lo:bl.hi]
		for ti := range st {
			// A term absent from the block scores 0 in all of it.
			if present[ti] = st[ti].bound(bl.block) > 0; present[ti] {
				st[ti].seek(inBlock[0])
			} else {
				scores[ti] = 0
			}
		}
		for _, doc := range inBlock {
			for ti := range st {
				if present[ti] {
					scores[ti] = st[ti].score(doc)
				}
			}
			s := p.score(scores)
			hit := hitRef{seg: int(bl.seg), doc: uint64(doc), score: s}
			if h.Len() < want {
				heap.Push(h, hit)
			} else if (*h)[0].less(hit) {
				(*h)[0] = hit
				heap.Fix(h, 0)
			}
		}
	}
	out := make([]hitRef, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(hitRef)
	}
	return out, nil
}

// score combines the scores of the plan's terms in one document, or
// their bounds in a block into the block's bound: a word counts the terms
// it matched (or may match) against all of its terms, as Bleve's
// disjunction does.
func (p *queryPlan) score(termScores []float64) float64 {
	total, matched := 0.0, 0
	for _, c := range p.clauses {
		best, found := 0.0, false
		for _, o := range c.options {
			sum, all := 0.0, true
			for _, w := range o.words {
				ws, n := 0.0, 0
				for _, t := range w.terms {
					if s := termScores[t.id]; s > 0 {
						ws += s
						n++
					}
				}
				if n == 0 {
					all = false
					break
				}
				sum += ws * float64(n) / float64(len(w.terms))
			}
			if all && (!found || sum*o.boost > best) {
				best, found = sum*o.boost, true
			}
		}
		if found {
			total += best
			matched++
		}
	}
	if p.min < len(p.clauses) {
		total *= float64(matched) / float64(len(p.clauses))
	}
	return total
}

// hitHeap keeps the best hits with the worst on top; among equal scores
// the later document is the worse.
type hitHeap []hitRef

// less tells whether a ranks after b.
func (a hitRef) less(b hitRef) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	if a.seg != b.seg {
		return a.seg > b.seg
	}
	return a.doc > b.doc
}

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(v any)        { *h = append(*h, v.(hitRef)) }
func (h *hitHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

// newest keeps the want most recent matches, newest first, ties by id.
func newest(segs []*scorch.SegmentSnapshot, cache []*segmentCache, cands []*roaring.Bitmap, want int) ([]hitRef, error) {
	type timed struct {
		hitRef
		time float64
		id   string
	}
	var all []timed
	// A bounded selection: keep at most want, replacing the oldest.
	worse := func(a, b timed) bool { // a ranks after b
		if a.time != b.time {
			return a.time < b.time
		}
		return a.id > b.id
	}
	for si, ss := range segs {
		cand := cands[si]
		if cand.IsEmpty() {
			continue
		}
		times, err := cache[si].sortTimes(ss)
		if err != nil {
			return nil, err
		}
		it := cand.Iterator()
		for it.HasNext() {
			doc := it.Next()
			t := timed{hitRef: hitRef{seg: si, doc: uint64(doc)}, time: times[doc]}
			if len(all) == want && t.time < all[len(all)-1].time {
				continue // older than the oldest kept: no need for its id
			}
			id, err := ss.DocID(uint64(doc))
			if err != nil {
				return nil, err
			}
			t.id = string(id)
			i := sort.Search(len(all), func(i int) bool { return worse(all[i], t) })
			if i == want {
				continue
			}
			if len(all) < want {
				all = append(all, timed{})
			}
			copy(all[i+1:], all[i:len(all)-1])
			all[i] = t
		}
	}
	out := make([]hitRef, len(all))
	for i, t := range all {
		out[i] = t.hitRef
	}
	return out, nil
}

// storedSource reads the stored document a hit is shown from.
func storedSource(ss *scorch.SegmentSnapshot, doc uint64) ([]byte, error) {
	var out []byte
	err := ss.VisitDocument(doc, func(field string, _ byte, value []byte, _ []uint64) bool {
		if field == fieldSource {
			out = append([]byte(nil), value...)
			return false
		}
		return true
	})
	return out, err
}

func deletedOf(ss *scorch.SegmentSnapshot) *roaring.Bitmap {
	if d := ss.Deleted(); d != nil {
		return d
	}
	return roaring.New()
}

// segments caches, per segment, what every search reads the same way: the
// postings bitmaps of filter values and facet values, and the documents'
// sort times. A segment never changes (deletions are kept beside it), so
// what is cached stays right until the segment is merged away.
type segmentCaches struct {
	mu   sync.Mutex
	segs map[segment.Segment]*segmentCache
}

type segmentCache struct {
	mu     sync.Mutex
	cached map[[2]string]*roaring.Bitmap
	facets *facetIndex
	times  []float64
}

// forSnapshot returns the caches of the snapshot's segments, dropping
// those of segments no longer in it.
func (c *segmentCaches) forSnapshot(segs []*scorch.SegmentSnapshot) ([]*segmentCache, map[segment.Segment]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.segs == nil {
		c.segs = map[segment.Segment]*segmentCache{}
	}
	out := make([]*segmentCache, len(segs))
	live := make(map[segment.Segment]bool, len(segs))
	for i, ss := range segs {
		s := ss.Segment()
		live[s] = true
		sc, ok := c.segs[s]
		if !ok {
			sc = &segmentCache{cached: map[[2]string]*roaring.Bitmap{}}
			c.segs[s] = sc
		}
		out[i] = sc
	}
	var dead map[segment.Segment]bool
	if len(c.segs) > len(segs) {
		dead = map[segment.Segment]bool{}
		for s := range c.segs {
			if !live[s] {
				delete(c.segs, s)
				dead[s] = true
			}
		}
	}
	return out, dead
}

// postings is the bitmap of the documents of the segment with term in
// field, deleted ones included: the caller intersects it with live
// documents. It must not be modified.
func (sc *segmentCache) postings(ss *scorch.SegmentSnapshot, field, term string) (*roaring.Bitmap, error) {
	key := [2]string{field, term}
	sc.mu.Lock()
	b, ok := sc.cached[key]
	sc.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := postingsBitmap(ss, field, term, nil)
	if err != nil {
		return nil, err
	}
	sc.mu.Lock()
	if len(sc.cached) < maxCachedPostings {
		sc.cached[key] = b
	}
	sc.mu.Unlock()
	return b, nil
}

// maxCachedPostings bounds the filter values cached per segment: themes,
// sectors, territories and kinds are tens; organisations could be many.
const maxCachedPostings = 4096

// livePostings is the bitmap of the live documents with term in field.
func (sc *segmentCache) livePostings(ss *scorch.SegmentSnapshot, field, term string) (*roaring.Bitmap, error) {
	return postingsBitmap(ss, field, term, ss.Deleted())
}

func postingsBitmap(ss *scorch.SegmentSnapshot, field, term string, except *roaring.Bitmap) (*roaring.Bitmap, error) {
	dict, err := ss.Segment().Dictionary(field)
	if err != nil {
		return nil, fmt.Errorf("search index: dictionary of %s: %w", field, err)
	}
	pl, err := dict.PostingsList([]byte(term), except, nil)
	if err != nil {
		return nil, fmt.Errorf("search index: postings of %s:%s: %w", field, term, err)
	}
	return bitmapOf(pl.Iterator(false, false, false, nil)), nil
}

// bitmapOf is the documents of a postings iterator. Bleve's own segments
// expose them as a bitmap, or as the one document of a one-hit list; any
// other iterator is read through.
func bitmapOf(it segment.PostingsIterator) *roaring.Bitmap {
	one, isOne := it.(interface{ DocNum1Hit() (uint64, bool) })
	if isOne {
		if d, ok := one.DocNum1Hit(); ok {
			return roaring.BitmapOf(uint32(d))
		}
	}
	if bm, ok := it.(segment.OptimizablePostingsIterator); ok {
		if b := bm.ActualBitmap(); b != nil {
			return b
		}
		if isOne {
			return roaring.New() // empty, or its one document deleted
		}
	}
	out := roaring.New()
	for p, err := it.Next(); p != nil && err == nil; p, err = it.Next() {
		out.Add(uint32(p.Number()))
	}
	return out
}

// facetIndex is the facet values of one segment, both ways: each value's
// documents, and each document's values (by their number in terms).
type facetIndex struct {
	terms []string
	bits  []*roaring.Bitmap
	// The values of document d are values[starts[d]:starts[d+1]].
	starts []uint32
	values []uint16
}

// count adds to counts how many of the matches have each facet value. A
// few matches are counted one by one, from their own values; many (when
// the bitmap holds them as bit sets, over 4,096 in each 65,536 documents,
// or a quarter of a small segment), by intersecting them with each
// value's documents, which then costs the same whatever their number.
func (f *facetIndex) count(cand *roaring.Bitmap, counts map[string]int) {
	n := cand.GetCardinality()
	if n == 0 {
		return
	}
	docs := uint64(len(f.starts))
	if f.values == nil || n > 4096*((docs+65535)/65536) || n*4 > docs {
		for i, b := range f.bits {
			if c := cand.AndCardinality(b); c > 0 {
				counts[f.terms[i]] += int(c)
			}
		}
		return
	}
	per := make([]int, len(f.terms))
	it := cand.ManyIterator()
	var buf [256]uint32
	last := uint32(len(f.starts) - 1)
	for n := it.NextMany(buf[:]); n > 0; n = it.NextMany(buf[:]) {
		for _, d := range buf[:n] {
			if d >= last {
				continue
			}
			for _, v := range f.values[f.starts[d]:f.starts[d+1]] {
				per[v]++
			}
		}
	}
	for i, c := range per {
		if c > 0 {
			counts[f.terms[i]] += c
		}
	}
}

// maxFacetValues is the most facet values the per-document lists number;
// beyond, counting intersects bitmaps only.
const maxFacetValues = 1 << 16

// facetValues is the segment's facet index, built at its first search.
func (sc *segmentCache) facetValues(ss *scorch.SegmentSnapshot) (*facetIndex, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.facets != nil {
		return sc.facets, nil
	}
	dict, err := ss.Segment().Dictionary(fieldFacets)
	if err != nil {
		return nil, err
	}
	f := &facetIndex{}
	it := dict.AutomatonIterator(nil, nil, nil)
	for e, err := it.Next(); e != nil && err == nil; e, err = it.Next() {
		b, err := postingsBitmap(ss, fieldFacets, e.Term, nil)
		if err != nil {
			return nil, err
		}
		f.terms = append(f.terms, e.Term)
		f.bits = append(f.bits, b)
	}
	if len(f.terms) <= maxFacetValues {
		docs := ss.Segment().Count()
		perDoc := make([]uint32, docs+1)
		total := 0
		for _, b := range f.bits {
			it := b.Iterator()
			for it.HasNext() {
				if d := it.Next(); uint64(d) < docs {
					perDoc[d+1]++
					total++
				}
			}
		}
		for d := 1; d < len(perDoc); d++ {
			perDoc[d] += perDoc[d-1]
		}
		f.starts = perDoc
		f.values = make([]uint16, total)
		next := append([]uint32(nil), perDoc[:docs]...)
		for v, b := range f.bits {
			it := b.Iterator()
			for it.HasNext() {
				if d := it.Next(); uint64(d) < docs {
					f.values[next[d]] = uint16(v)
					next[d]++
				}
			}
		}
	}
	sc.facets = f
	return f, nil
}

// sortTimes are the documents' sort times, by their number in the segment.
func (sc *segmentCache) sortTimes(ss *scorch.SegmentSnapshot) ([]float64, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.times != nil {
		return sc.times, nil
	}
	times := make([]float64, ss.Segment().Count())
	dv, ok := ss.Segment().(segment.DocValueVisitable)
	if !ok {
		return nil, fmt.Errorf("search index: segment %T has no doc values", ss.Segment())
	}
	var state segment.DocVisitState
	fields := []string{fieldSortTime}
	for d := range times {
		var err error
		state, err = dv.VisitDocValues(uint64(d), fields, func(_ string, term []byte) {
			pc := numeric.PrefixCoded(term)
			if shift, err := pc.Shift(); err == nil && shift == 0 {
				if v, err := pc.Int64(); err == nil {
					times[d] = numeric.Int64ToFloat64(v)
				}
			}
		}, state)
		if err != nil {
			return nil, err
		}
	}
	sc.times = times
	return times, nil
}

var _ index.IndexReader = (*scorch.IndexSnapshot)(nil)
