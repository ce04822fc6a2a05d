// Package memoize is the Lua-free core of kumo.memoize:
// a registry of named caches with TTL, LRU capacity, single-flight
// population, cached errors, stale reads and config-epoch invalidation.
//
// Values are opaque to the package: a Populator returns an `any` that is
// stored as is and handed to every later caller of the same key, whichever
// goroutine (and Lua state) it runs on, so values must be immutable. The
// kumo binding stores a frozen, state-independent form of Lua values and
// builds a fresh Lua table from it on every hit.
//
// Differences from KumoMTA's lruttl, all deliberate:
//   - Eviction is exact LRU (hashicorp/golang-lru) rather than sampled LRU.
//     Entries being populated live outside the LRU, so they are never
//     evicted; they do not count against the capacity either.
//   - Expired entries are dropped lazily: on lookup, and by a sweep of the
//     whole cache at most every SweepInterval, run by a lookup. There is no
//     background goroutine. With AllowStaleReads, expired values are kept
//     (bounded by the capacity) so a refresh can always fall back on them.
//   - Waiters get the populator's result directly rather than re-reading
//     the cache, so a capacity of 0 (nothing retained) still coalesces
//     concurrent callers.
//   - A populator whose own context is cancelled caches nothing; its
//     waiters start over and one of them populates.
//   - A take-over also applies to the refresh of a stale entry, carrying the
//     stale value over to the new population.
package memoize
