package memoize

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Populator computes the value for a missing key. It runs in the calling
// goroutine, with no timeout of its own. Its value is stored as is and
// handed to every later caller, so it must be immutable (or safe for
// concurrent use).
type Populator func() (any, error)

// Cache is one named cache: completed entries (values and cached errors)
// in an LRU bounded by Params.Capacity, plus the populations in flight.
// It is safe for concurrent use.
type Cache struct {
	params  Params
	timeout time.Duration
	clock   Clock
	epoch   func() uint64

	mu        sync.Mutex
	entries   *simplelru.LRU[Key, *entry] // nil when Capacity is 0
	flights   map[Key]*flight
	lastSweep time.Time

	hits, errorHits, misses, waits, staleReads, timeouts, takeOvers atomic.Uint64
}

// entry is a completed population: a value (err == nil) or a cached error.
// It is never modified after it is stored.
type entry struct {
	value   any
	err     error
	expires time.Time
}

// flight is one population in progress. done is closed when it ends;
// value, err and abandoned are written before that and read after.
type flight struct {
	done     chan struct{}
	deadline time.Time // after this, the next new caller takes over

	hasStale bool // allow_stale_reads: the expired value being refreshed
	stale    any

	value     any
	err       error
	abandoned bool // the populator gave up (cancelled or panicked): retry
}

func newCache(p Params, clock Clock, epoch func() uint64) *Cache {
	c := &Cache{
		params:    p,
		timeout:   p.EffectivePopulateTimeout(),
		clock:     clock,
		epoch:     epoch,
		flights:   map[Key]*flight{},
		lastSweep: clock.Now(),
	}
	if p.Capacity > 0 {
		size := p.Capacity
		if size > math.MaxInt {
			size = math.MaxInt
		}
		c.entries, _ = simplelru.NewLRU[Key, *entry](int(size), nil)
	}
	return c
}

// Name returns the cache's name.
func (c *Cache) Name() string { return c.params.Name }

// Params returns the parameters the cache was defined with.
func (c *Cache) Params() Params { return c.params }

// KeyFor returns the key a lookup of args starting now would use: paired
// with the current epoch when the cache invalidates with the epoch (and
// does not allow stale reads).
func (c *Cache) KeyFor(args string) Key {
	k := Key{Args: args}
	if c.params.usesEpoch() {
		k.HasEpoch = true
		if c.epoch != nil {
			k.Epoch = c.epoch()
		}
	}
	return k
}

// Get returns the value cached for args, populating it on a miss:
//
//   - A present, unexpired entry is returned; its expiry is the population's
//     completion time plus the TTL. A cached error (an entry whose
//     population failed less than FailedTTL ago) is returned as the error.
//   - On a miss exactly one caller runs populate; callers arriving for the
//     same key meanwhile wait for its result until their own start plus the
//     populate timeout, then fail with *TimeoutError (or, with
//     AllowStaleReads, get the expired value being refreshed).
//   - A population still running after its populate deadline no longer
//     blocks anyone: the next new caller populates again, and whichever
//     finishes last leaves its result in the cache.
//   - A wait also ends with *CancelledError when ctx is done. When the
//     populator's own ctx ends (its populate fails while ctx.Err() != nil)
//     or populate panics, nothing is cached and the waiters start over.
//   - With RetryOnPopulateTimeout, up to 3 lookups are made in total, each
//     with a fresh key (epoch) and deadline, after any error.
func (c *Cache) Get(ctx context.Context, args string, populate Populator) (any, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	attempts := 1
	if c.params.RetryOnPopulateTimeout {
		attempts = 3
	}
	var err error
	for i := 0; i < attempts; i++ {
		var v any
		v, err = c.lookup(ctx, c.KeyFor(args), populate)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func (c *Cache) lookup(ctx context.Context, key Key, populate Populator) (any, error) {
	deadline := c.clock.Now().Add(c.timeout)
	for {
		c.mu.Lock()
		now := c.clock.Now()
		c.maybeSweepLocked(now)

		var stale *entry
		if c.entries != nil {
			if e, ok := c.entries.Get(key); ok {
				if now.Before(e.expires) {
					c.mu.Unlock()
					if e.err != nil {
						c.errorHits.Add(1)
						return nil, e.err
					}
					c.hits.Add(1)
					return e.value, nil
				}
				if c.params.AllowStaleReads && e.err == nil {
					stale = e // kept: it may serve waiters of the refresh
				} else {
					c.entries.Remove(key)
				}
			}
		}

		f := c.flights[key]
		if f != nil && !now.Before(f.deadline) {
			// The populator is stuck past its deadline: this caller takes
			// over with a new flight (the old one may still finish).
			c.takeOvers.Add(1)
			if stale == nil && f.hasStale {
				stale = &entry{value: f.stale}
			}
			f = nil
		}
		if f == nil {
			f = &flight{done: make(chan struct{}), deadline: now.Add(c.timeout)}
			if stale != nil {
				f.hasStale, f.stale = true, stale.value
			}
			c.flights[key] = f
			c.mu.Unlock()
			return c.populate(ctx, key, f, populate)
		}
		hasStale, staleValue := f.hasStale, f.stale
		if !hasStale && stale != nil {
			hasStale, staleValue = true, stale.value
		}
		c.mu.Unlock()

		c.waits.Add(1)
		v, retry, err := c.wait(ctx, key, f, deadline, hasStale, staleValue)
		if !retry {
			return v, err
		}
	}
}

// wait blocks until f ends, the deadline passes or ctx is done. retry is
// true when f was abandoned and the lookup must start over.
func (c *Cache) wait(ctx context.Context, key Key, f *flight, deadline time.Time, hasStale bool, stale any) (v any, retry bool, err error) {
	select {
	case <-f.done:
		return f.value, f.abandoned, f.err
	default:
	}
	if remaining := deadline.Sub(c.clock.Now()); remaining > 0 {
		t := c.clock.NewTimer(remaining)
		defer t.Stop()
		select {
		case <-f.done:
			return f.value, f.abandoned, f.err
		case <-ctx.Done():
			return nil, false, &CancelledError{Cache: c.params.Name, Key: key, Err: ctx.Err()}
		case <-t.C():
		}
	}
	select {
	case <-f.done:
		return f.value, f.abandoned, f.err
	default:
	}
	if hasStale {
		c.staleReads.Add(1)
		return stale, false, nil
	}
	c.timeouts.Add(1)
	return nil, false, &TimeoutError{Cache: c.params.Name, Key: key, Timeout: c.timeout}
}

// populate runs fn as the populator of f and publishes the result.
func (c *Cache) populate(ctx context.Context, key Key, f *flight, fn Populator) (v any, err error) {
	c.misses.Add(1)
	finished := false
	defer func() {
		if !finished { // fn panicked: let the waiters start over
			c.finish(key, f, nil, nil, true)
		}
	}()
	v, err = fn()
	finished = true
	if err != nil && ctx.Err() != nil {
		// The populator's own dispatch was cancelled: its error says
		// nothing about the key, so it is neither cached nor shared.
		c.finish(key, f, nil, nil, true)
		return nil, err
	}
	c.finish(key, f, v, err, false)
	return v, err
}

func (c *Cache) finish(key Key, f *flight, v any, err error, abandoned bool) {
	now := c.clock.Now()
	c.mu.Lock()
	if !abandoned && c.entries != nil {
		e := &entry{value: v, err: err}
		if err != nil {
			e.expires = now.Add(FailedTTL)
		} else {
			e.expires = now.Add(c.params.TTL)
		}
		// Last write wins, also over a newer flight that took over.
		c.entries.Add(key, e)
	}
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	f.value, f.err, f.abandoned = v, err, abandoned
	c.mu.Unlock()
	close(f.done)
}

func (c *Cache) maybeSweepLocked(now time.Time) {
	if now.Sub(c.lastSweep) < SweepInterval {
		return
	}
	c.lastSweep = now
	c.sweepLocked(now)
}

// sweepLocked drops expired entries. With AllowStaleReads, expired values
// are kept (they can still serve waiters of a refresh); the LRU capacity
// bounds them. Cached errors always go.
func (c *Cache) sweepLocked(now time.Time) int {
	if c.entries == nil {
		return 0
	}
	n := 0
	for _, k := range c.entries.Keys() {
		e, ok := c.entries.Peek(k)
		if !ok || now.Before(e.expires) || (c.params.AllowStaleReads && e.err == nil) {
			continue
		}
		c.entries.Remove(k)
		n++
	}
	return n
}

// Sweep drops expired entries now and returns how many it dropped.
func (c *Cache) Sweep() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	c.lastSweep = now
	return c.sweepLocked(now)
}

// Purge drops every completed entry (populations in flight continue) and
// returns how many it dropped.
func (c *Cache) Purge() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		return 0
	}
	n := c.entries.Len()
	c.entries.Purge()
	return n
}

// Len returns the number of completed entries (values and cached errors,
// expired ones not yet dropped included). It never exceeds the capacity.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		return 0
	}
	return c.entries.Len()
}

// Stats counts what a cache's lookups did.
type Stats struct {
	Hits       uint64 // answered by a present entry
	ErrorHits  uint64 // answered by a cached error
	Misses     uint64 // populations started (take-overs included)
	Waits      uint64 // waits for another caller's population
	StaleReads uint64 // waits answered by an expired value
	Timeouts   uint64 // waits that ended with *TimeoutError
	TakeOvers  uint64 // populations restarted past a stuck one's deadline
	Entries    int    // completed entries held
	Pending    int    // populations in flight
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	entries, pending := 0, len(c.flights)
	if c.entries != nil {
		entries = c.entries.Len()
	}
	c.mu.Unlock()
	return Stats{
		Hits:       c.hits.Load(),
		ErrorHits:  c.errorHits.Load(),
		Misses:     c.misses.Load(),
		Waits:      c.waits.Load(),
		StaleReads: c.staleReads.Load(),
		Timeouts:   c.timeouts.Load(),
		TakeOvers:  c.takeOvers.Load(),
		Entries:    entries,
		Pending:    pending,
	}
}
