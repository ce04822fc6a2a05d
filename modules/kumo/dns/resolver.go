package dns

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Resolver resolves MX and address records with KumoMTA's rules and keeps
// the results in process-wide caches. It is safe for concurrent use. The
// zero value is not usable; create one with New.
type Resolver struct {
	now func() time.Time

	mu  sync.Mutex
	cfg Config
	tr  atomic.Pointer[transport] // nil until first use

	mxTimeout atomic.Int64 // nanoseconds
	mxNegTTL  atomic.Int64 // nanoseconds
	mxLimit   atomic.Int64
	mxSem     atomic.Pointer[chan struct{}]

	mx    *ttlCache[mxKey, mxResult]
	addrs *ttlCache[addrKey, addrResult]

	stats counters
}

// counters are the resolver's network counters.
type counters struct {
	queries atomic.Uint64 // messages sent
	dials   atomic.Uint64 // connections opened
}

// Option customises a Resolver at construction.
type Option func(*resolverSettings)

type resolverSettings struct {
	now           func() time.Time
	mxCapacity    int
	mxMaxCapacity int
	addrCapacity  int
}

// WithClock makes the resolver read the time from now (for tests of TTL
// expiry).
func WithClock(now func() time.Time) Option {
	return func(s *resolverSettings) { s.now = now }
}

// WithCacheCapacity sets the number of entries the MX and address caches
// hold (defaults 65536 and 4096). The MX cache grows beyond mx when it
// holds that many unexpired results, up to its limit (WithMXCacheLimit).
func WithCacheCapacity(mx, addrs int) Option {
	return func(s *resolverSettings) {
		if mx > 0 {
			s.mxCapacity = mx
		}
		if addrs > 0 {
			s.addrCapacity = addrs
		}
	}
}

// WithMXCacheLimit sets how far the MX cache may grow to keep results that
// have not expired (default MaxMXCacheCapacity). A limit at or below the
// capacity makes the capacity fixed.
func WithMXCacheLimit(n int) Option {
	return func(s *resolverSettings) {
		if n > 0 {
			s.mxMaxCapacity = n
		}
	}
}

// New creates a resolver. With no name servers in cfg, they are read from
// cfg.ResolvConf (default /etc/resolv.conf) when the first query is made.
func New(cfg Config, opts ...Option) *Resolver {
	s := resolverSettings{now: time.Now, mxCapacity: DefaultMXCacheCapacity, mxMaxCapacity: MaxMXCacheCapacity, addrCapacity: DefaultAddrCacheCapacity}
	for _, o := range opts {
		o(&s)
	}
	r := &Resolver{
		now:   s.now,
		cfg:   cfg,
		mx:    newTTLCache[mxKey, mxResult](s.mxCapacity, s.mxMaxCapacity, s.now),
		addrs: newTTLCache[addrKey, addrResult](s.addrCapacity, s.addrCapacity, s.now),
	}
	r.mxTimeout.Store(int64(DefaultMXTimeout))
	r.mxNegTTL.Store(int64(DefaultMXNegativeTTL))
	r.mxLimit.Store(DefaultMXConcurrency)
	return r
}

// NewFromAddrs creates a resolver that queries the `IP:PORT` servers in
// addrs (or /etc/resolv.conf's servers when addrs is empty). When an
// address is malformed it returns the error together with a resolver whose
// every lookup fails with that error, so that a caller that cannot report
// errors still gets a usable value.
func NewFromAddrs(addrs []string, opts ...Option) (*Resolver, error) {
	servers, err := ParseNameServers(addrs)
	if err != nil {
		r := New(Config{}, opts...)
		r.tr.Store(&transport{err: fmt.Errorf("invalid resolver configuration: %v", err)})
		return r, err
	}
	return New(Config{NameServers: servers}, opts...), nil
}

// Configure replaces the upstream name servers and query options. The
// caches are kept, as KumoMTA keeps its MX cache when the resolver is
// reconfigured; lookups already under way finish with the old servers. The
// idle connections to the old servers are closed.
//
// When the old or the new configuration answers from Test zones, the
// caches are emptied instead: answers from name servers must not outlive
// a switch to in-memory zones (kumo.dns.configure_test_resolver makes
// lookups hermetic), nor zone answers a switch back.
func (r *Resolver) Configure(cfg Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	purge := r.cfg.UsesZones() || cfg.UsesZones()
	r.cfg = cfg
	r.tr.Swap(nil).close()
	if purge {
		r.PurgeCaches()
	}
}

// CloseIdleConnections closes the connections kept open to the name
// servers between queries. The resolver stays usable: later queries open
// new ones. Connections are also closed when the resolver is garbage
// collected.
func (r *Resolver) CloseIdleConnections() {
	if t := r.tr.Load(); t != nil && t.pools != nil {
		t.close()
		// A closed pool keeps nothing, so let the next query build a
		// fresh transport (same configuration) with open pools.
		r.tr.CompareAndSwap(t, nil)
	}
}

// Config returns the configuration last given to New or Configure.
func (r *Resolver) Config() Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// transport returns the current transport, loading resolv.conf on first
// use.
func (r *Resolver) transport() *transport {
	if t := r.tr.Load(); t != nil {
		return t
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.tr.Load(); t != nil {
		return t
	}
	t := loadTransport(r.cfg, &r.stats)
	r.tr.Store(t)
	return t
}

// SetMXTimeout sets the overall time limit of one MX resolution, waiting
// for a concurrency slot included (kumo.dns.set_mx_timeout). Default 5 s.
func (r *Resolver) SetMXTimeout(d time.Duration) error {
	if d <= 0 {
		return errors.New("set_mx_timeout: the timeout must be greater than zero")
	}
	r.mxTimeout.Store(int64(d))
	return nil
}

// MXTimeout returns the MX resolution time limit.
func (r *Resolver) MXTimeout() time.Duration { return time.Duration(r.mxTimeout.Load()) }

// SetMXNegativeCacheTTL sets how long a failed MX resolution is cached
// (kumo.dns.set_mx_negative_cache_ttl). Default 5 minutes.
func (r *Resolver) SetMXNegativeCacheTTL(d time.Duration) error {
	if d < 0 {
		return errors.New("set_mx_negative_cache_ttl: the duration must not be negative")
	}
	r.mxNegTTL.Store(int64(d))
	return nil
}

// MXNegativeCacheTTL returns the negative cache TTL for MX failures.
func (r *Resolver) MXNegativeCacheTTL() time.Duration { return time.Duration(r.mxNegTTL.Load()) }

// SetMXConcurrencyLimit sets how many MX queries may be outstanding at once
// (kumo.dns.set_mx_concurrency_limit). Default 128. Lookups already waiting
// keep the limit they started with.
func (r *Resolver) SetMXConcurrencyLimit(n int) error {
	if n < 1 {
		return errors.New("set_mx_concurrency_limit: the limit must be at least 1")
	}
	r.mxLimit.Store(int64(n))
	r.mxSem.Store(nil)
	return nil
}

// MXConcurrencyLimit returns the MX concurrency limit.
func (r *Resolver) MXConcurrencyLimit() int { return int(r.mxLimit.Load()) }

// semaphore returns the current MX concurrency semaphore.
func (r *Resolver) semaphore() chan struct{} {
	for {
		if p := r.mxSem.Load(); p != nil {
			return *p
		}
		ch := make(chan struct{}, r.mxLimit.Load())
		if r.mxSem.CompareAndSwap(nil, &ch) {
			return ch
		}
	}
}

// Stats are counters for tests and benchmarks.
type Stats struct {
	// Queries is the number of DNS messages sent (retries and TCP
	// fallbacks included).
	Queries uint64
	// Dials is the number of connections opened to name servers (UDP and
	// TCP); they are reused across queries. IdleConns is the number kept
	// open between queries.
	Dials     uint64
	IdleConns int
	// MXHits counts MX lookups answered from the cache or by joining a
	// lookup already under way; MXMisses those that started a resolution.
	MXHits, MXMisses uint64
	// MXEntries is the number of cached MX results (expired ones included
	// until they are evicted or looked up); MXCapacity the number the
	// cache holds now (it grows to keep unexpired results).
	MXEntries, MXCapacity int
}

// Stats returns the resolver's counters.
func (r *Resolver) Stats() Stats {
	return Stats{
		Queries:    r.stats.queries.Load(),
		Dials:      r.stats.dials.Load(),
		IdleConns:  r.idleConns(),
		MXHits:     r.mx.hits.Load(),
		MXMisses:   r.mx.misses.Load(),
		MXEntries:  r.mx.len(),
		MXCapacity: r.mx.cap(),
	}
}

func (r *Resolver) idleConns() int {
	if t := r.tr.Load(); t != nil && t.pools != nil {
		return t.pools.idle()
	}
	return 0
}

// PurgeCaches empties the MX and address caches.
func (r *Resolver) PurgeCaches() {
	r.mx.purge()
	r.addrs.purge()
}
