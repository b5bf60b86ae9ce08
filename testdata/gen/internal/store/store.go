// Package store is a small generic LRU-ish cache whose entries the fixture
// program deliberately keeps alive, so heap snapshots grow over time.
package store

import "sync"

type entry[V any] struct {
	val  V
	hits int
}

// Cache is a bounded map guarded by a mutex (contended on purpose).
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	m     map[K]*entry[V]
	order []K
	limit int
}

// New returns a cache that evicts the oldest key beyond limit entries.
func New[K comparable, V any](limit int) *Cache[K, V] {
	return &Cache[K, V]{m: make(map[K]*entry[V]), limit: limit}
}

// Put stores v under k.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.val = v
		return
	}
	c.m[k] = &entry[V]{val: v}
	c.order = append(c.order, k)
	if c.limit > 0 && len(c.order) > c.limit {
		old := c.order[0]
		c.order = c.order[1:]
		delete(c.m, old)
	}
}

// Get returns the value under k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	e.hits++
	return e.val, true
}

// Len reports the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
