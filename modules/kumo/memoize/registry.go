package memoize

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// Registry holds the caches of one process (kumopolicy keeps one per
// luart.Runtime), keyed by name. It is safe for concurrent use.
type Registry struct {
	clock Clock
	epoch func() uint64

	mu     sync.Mutex                        // serialises Define
	caches atomic.Pointer[map[string]*Cache] // copy-on-write: lookups take no lock
}

// Option configures a Registry.
type Option func(*Registry)

// WithClock sets the clock (default SystemClock).
func WithClock(c Clock) Option { return func(r *Registry) { r.clock = c } }

// WithEpoch sets the source of the config epoch used in the keys of caches
// that invalidate with the epoch (default: always 0).
func WithEpoch(epoch func() uint64) Option { return func(r *Registry) { r.epoch = epoch } }

// NewRegistry returns an empty registry.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{clock: SystemClock{}}
	for _, o := range opts {
		o(r)
	}
	empty := map[string]*Cache{}
	r.caches.Store(&empty)
	return r
}

// Clock returns the registry's clock.
func (r *Registry) Clock() Clock { return r.clock }

// Define returns the cache named p.Name, applying KumoMTA's identity
// rules: when a cache of that name exists with identical
// params it is reused with its entries (whatever function the caller
// memoizes); otherwise a new, empty cache replaces it. A name that collides
// with a built-in cache is an error (see CheckName).
func (r *Registry) Define(p Params) (*Cache, error) {
	if err := CheckName(p.Name); err != nil {
		return nil, err
	}
	if c := r.Lookup(p.Name); c != nil && c.params == p {
		return c, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.caches.Load()
	if c := old[p.Name]; c != nil && c.params == p {
		return c, nil
	}
	c := newCache(p, r.clock, r.epoch)
	next := make(map[string]*Cache, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[p.Name] = c
	r.caches.Store(&next)
	return c, nil
}

// Lookup returns the current cache named name, or nil.
func (r *Registry) Lookup(name string) *Cache {
	return (*r.caches.Load())[name]
}

// Get looks args up in the current cache named name (see Cache.Get). Like
// KumoMTA, a memoized function resolves its cache by name on every call,
// so it follows a redefinition of the cache with other params.
func (r *Registry) Get(ctx context.Context, name, args string, populate Populator) (any, error) {
	c := r.Lookup(name)
	if c == nil {
		return nil, fmt.Errorf("memoize cache `%s` is not defined", name)
	}
	return c.Get(ctx, args, populate)
}

// Names returns the names of the defined caches, sorted.
func (r *Registry) Names() []string {
	m := *r.caches.Load()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Sweep drops the expired entries of every cache and returns how many.
func (r *Registry) Sweep() int {
	n := 0
	for _, c := range *r.caches.Load() {
		n += c.Sweep()
	}
	return n
}

// Purge drops the completed entries of every cache (for memory pressure)
// and returns how many.
func (r *Registry) Purge() int {
	n := 0
	for _, c := range *r.caches.Load() {
		n += c.Purge()
	}
	return n
}
