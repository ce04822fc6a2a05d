package dns

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// ttlCache is a bounded LRU whose entries expire at their own deadlines,
// with single-flight population: concurrent misses for one key share one
// fill. It is safe for concurrent use.
//
// It can grow on demand: when storing an entry would evict one that has not
// expired yet, the capacity doubles instead, up to maxCapacity. An entry is
// evicted to make room only when it has expired (it is the least recently
// used one) or the cache is at maxCapacity.
//
// The LRU is golang-lru's; hashicorp's expirable LRU does not fit (one TTL
// for all entries, where each DNS answer has its own), nor does
// x/sync/singleflight (string keys, and a flight's result must be stored
// before its waiters wake, with a count of the lookups that joined it).
type ttlCache[K comparable, V any] struct {
	lru *lru.Cache[K, ttlEntry[V]]
	now func() time.Time

	growMu      sync.Mutex
	capacity    int // guarded by growMu
	maxCapacity int

	mu      sync.Mutex
	flights map[K]*flight[V]

	hits, misses atomic.Uint64
}

type ttlEntry[V any] struct {
	value   V
	expires time.Time
}

type flight[V any] struct {
	done  chan struct{}
	value V
}

// newTTLCache makes a cache of capacity entries that may grow up to
// maxCapacity (no growth when maxCapacity <= capacity).
func newTTLCache[K comparable, V any](capacity, maxCapacity int, now func() time.Time) *ttlCache[K, V] {
	c, err := lru.New[K, ttlEntry[V]](capacity)
	if err != nil {
		panic(err) // only for capacity <= 0, which callers never pass
	}
	return &ttlCache[K, V]{lru: c, now: now, capacity: capacity, maxCapacity: maxCapacity, flights: map[K]*flight[V]{}}
}

// add stores an entry, growing the cache rather than evicting a live one.
func (c *ttlCache[K, V]) add(key K, e ttlEntry[V]) {
	c.growMu.Lock()
	defer c.growMu.Unlock()
	if c.capacity < c.maxCapacity && c.lru.Len() >= c.capacity && !c.lru.Contains(key) {
		if _, oldest, ok := c.lru.GetOldest(); ok && c.now().Before(oldest.expires) {
			c.capacity = min(2*c.capacity, c.maxCapacity)
			c.lru.Resize(c.capacity)
		}
	}
	c.lru.Add(key, e)
}

// cap reports the current capacity.
func (c *ttlCache[K, V]) cap() int {
	c.growMu.Lock()
	defer c.growMu.Unlock()
	return c.capacity
}

// get returns the live entry for key.
func (c *ttlCache[K, V]) get(key K) (V, bool) {
	e, ok := c.lru.Get(key)
	if !ok {
		var zero V
		return zero, false
	}
	if !c.now().Before(e.expires) {
		// Left in place: the next fill overwrites it (removing it here
		// could race with that fill and drop the fresh entry).
		var zero V
		return zero, false
	}
	return e.value, true
}

// getOrFill returns the live entry for key, or runs fill once for all the
// concurrent callers that miss and stores its result until the deadline
// fill returns. fill never sees ctx: a caller whose ctx ends stops waiting
// (with ctx's error), the fill goes on in its own goroutine and its result
// is cached for the others. A caller whose ctx cannot end runs its fill
// itself.
func (c *ttlCache[K, V]) getOrFill(ctx context.Context, key K, fill func() (V, time.Time)) (V, error) {
	if v, ok := c.get(key); ok {
		c.hits.Add(1)
		return v, nil
	}
	c.mu.Lock()
	f, ok := c.flights[key]
	if !ok {
		// A fill that finished between get and Lock has stored its entry
		// before removing its flight, so look again.
		if v, ok := c.get(key); ok {
			c.mu.Unlock()
			c.hits.Add(1)
			return v, nil
		}
		c.misses.Add(1)
		f = &flight[V]{done: make(chan struct{})}
		c.flights[key] = f
		if ctx.Done() == nil {
			c.mu.Unlock()
			c.run(key, f, fill)
			return f.value, nil
		}
		go c.run(key, f, fill)
	} else {
		c.hits.Add(1)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.value, nil
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

func (c *ttlCache[K, V]) run(key K, f *flight[V], fill func() (V, time.Time)) {
	v, expires := fill()
	f.value = v
	c.add(key, ttlEntry[V]{value: v, expires: expires})
	c.mu.Lock()
	delete(c.flights, key)
	c.mu.Unlock()
	close(f.done)
}

// purge drops every entry.
func (c *ttlCache[K, V]) purge() { c.lru.Purge() }

// len reports the number of stored entries, expired ones included.
func (c *ttlCache[K, V]) len() int { return c.lru.Len() }
