package api

import (
	"container/list"
	"sync"
	"time"
)

// lru is a map bounded in cost: each entry costs what its put says (its
// bytes, or 1 to bound a count), and when the entries cost more than max
// in all the least recently used go first. An entry may expire: get does
// not return it past its time. Safe for concurrent use; every method holds
// one mutex for a map access and a list move, no more.
type lru[K comparable, V any] struct {
	mu      sync.Mutex
	max     int64
	cost    int64
	order   *list.List // of *lruEntry[K, V], the most recent first
	entries map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key     K
	value   V
	cost    int64
	expires time.Time // zero: never
}

func newLRU[K comparable, V any](max int64) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), entries: map[K]*list.Element{}}
}

// get returns the value of key, unless there is none or it expired by
// now (then it is removed).
func (c *lru[K, V]) get(key K, now time.Time) (v V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return v, false
	}
	e := el.Value.(*lruEntry[K, V])
	if !e.expires.IsZero() && !now.Before(e.expires) {
		c.remove(el)
		return v, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// put sets key's value, which costs cost and expires at expires (zero:
// never), and removes the least recently used entries while the whole
// costs more than the bound. A value costing more than the bound is not
// kept (and removes key's).
func (c *lru[K, V]) put(key K, v V, cost int64, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	if cost > c.max {
		return
	}
	c.entries[key] = c.order.PushFront(&lruEntry[K, V]{key: key, value: v, cost: cost, expires: expires})
	c.cost += cost
	for c.cost > c.max {
		c.remove(c.order.Back())
	}
}

func (c *lru[K, V]) remove(el *list.Element) {
	e := c.order.Remove(el).(*lruEntry[K, V])
	delete(c.entries, e.key)
	c.cost -= e.cost
}

// len is the number of entries and what they cost.
func (c *lru[K, V]) len() (n int, cost int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.cost
}
