package markdown

import (
	"container/list"
	"sync"
)

// cacheBytes bounds the HTML the cache holds.
const cacheBytes = 32 << 20

// rendered maps the SHA-256 of a body to its HTML.
var rendered = newLRU(cacheBytes)

// lru is a least-recently-used map bounded by the size of its values.
type lru struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // front: most recently used
	items map[[32]byte]*list.Element
}

type entry struct {
	key  [32]byte
	html string
}

func newLRU(maxBytes int) *lru {
	return &lru{max: maxBytes, order: list.New(), items: map[[32]byte]*list.Element{}}
}

func (c *lru) get(key [32]byte) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).html, true
}

func (c *lru) put(key [32]byte, html string) {
	if len(html) > c.max/8 {
		return // one huge body must not flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.order.PushFront(&entry{key: key, html: html})
	c.size += len(html)
	for c.size > c.max {
		oldest := c.order.Back()
		e := oldest.Value.(*entry)
		c.order.Remove(oldest)
		delete(c.items, e.key)
		c.size -= len(e.html)
	}
}
