package memoize

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestCache(t *testing.T, p Params) (*Cache, *ManualClock) {
	t.Helper()
	clock := NewManualClock(t0)
	reg := NewRegistry(WithClock(clock))
	if p.Name == "" {
		p.Name = "test"
	}
	c, err := reg.Define(p)
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

// value returns a Populator that counts its calls and returns v.
func value(calls *atomic.Int64, v any) Populator {
	return func() (any, error) {
		calls.Add(1)
		return v, nil
	}
}

func mustGet(t *testing.T, c *Cache, args string, p Populator) any {
	t.Helper()
	// A lookup that blocks is a bug: fail rather than hang.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.Get(ctx, args, p)
	if err != nil {
		t.Fatalf("Get(%q): %v", args, err)
	}
	return v
}

// waitFor polls cond until it holds or fails the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type result struct {
	v   any
	err error
}

// recv receives from ch, failing the test after 5 s.
func recv(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a lookup")
		return result{}
	}
}

func goGet(ctx context.Context, c *Cache, args string, p Populator) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, err := c.Get(ctx, args, p)
		ch <- result{v, err}
	}()
	return ch
}

// blocker is a Populator that blocks until released.
type blocker struct {
	started chan struct{}
	release chan struct{}
	v       any
	err     error
}

func newBlocker(v any) *blocker {
	return &blocker{started: make(chan struct{}), release: make(chan struct{}), v: v}
}

func (b *blocker) populate() (any, error) {
	close(b.started)
	<-b.release
	return b.v, b.err
}

func TestRegistryIdentity(t *testing.T) {
	reg := NewRegistry(WithClock(NewManualClock(t0)))
	p := Params{Name: "user.x", TTL: time.Minute, Capacity: 10}
	c1, err := reg.Define(p)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	mustGet(t, c1, "k", value(&calls, 1))

	c2, _ := reg.Define(p)
	if c2 != c1 {
		t.Fatal("identical params must reuse the cache")
	}
	if v := mustGet(t, c2, "k", value(&calls, 2)); v != 1 || calls.Load() != 1 {
		t.Fatalf("reused cache lost its entry: v=%v calls=%d", v, calls.Load())
	}

	p2 := p
	p2.Capacity = 11
	c3, _ := reg.Define(p2)
	if c3 == c1 || c3.Len() != 0 {
		t.Fatal("different params must replace the cache with an empty one")
	}
	if reg.Lookup("user.x") != c3 {
		t.Fatal("the registry must hold the replacement")
	}
	// A function bound to the name follows the replacement.
	if v, _ := reg.Get(context.Background(), "user.x", "k", value(&calls, 3)); v != 3 {
		t.Fatalf("Get by name after replacement = %v, want 3", v)
	}

	// Populate timeout given as the default is still a different param set.
	p3 := p
	p3.PopulateTimeout, p3.PopulateTimeoutSet = DefaultPopulateTimeout, true
	c4, _ := reg.Define(p)
	c5, _ := reg.Define(p3)
	if c4 == c5 {
		t.Fatal("populate_timeout given vs absent must be different params")
	}
	if got := reg.Names(); len(got) != 1 || got[0] != "user.x" {
		t.Fatalf("Names = %v", got)
	}
}

func TestBuiltinNameCollision(t *testing.T) {
	reg := NewRegistry()
	_, err := reg.Define(Params{Name: "dns_resolver_mx", TTL: time.Second, Capacity: 1})
	want := "cannot use name `dns_resolver_mx` for a memoize cache, as it collides with a built-in cache. " +
		"Suggestion: prefix your cache name with `user.` to avoid conflicts with current and future caches."
	if err == nil || err.Error() != want {
		t.Fatalf("got %v", err)
	}
	if _, err := reg.Define(Params{Name: "user.dns_resolver_mx", TTL: time.Second, Capacity: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestTTLFromCompletion(t *testing.T) {
	c, clock := newTestCache(t, Params{TTL: 10 * time.Second, Capacity: 4})
	var calls atomic.Int64
	slow := func() (any, error) {
		calls.Add(1)
		clock.Advance(5 * time.Second) // population takes 5 s
		return calls.Load(), nil
	}
	if v := mustGet(t, c, "k", slow); v != int64(1) {
		t.Fatal(v)
	}
	clock.Advance(9 * time.Second) // 14 s after the start, 9 s after completion
	if v := mustGet(t, c, "k", slow); v != int64(1) {
		t.Fatalf("entry expired early: %v", v)
	}
	clock.Advance(time.Second) // 10 s after completion
	if v := mustGet(t, c, "k", slow); v != int64(2) {
		t.Fatalf("entry did not expire: %v", v)
	}
}

func TestCapacityLRU(t *testing.T) {
	c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 40})
	var calls atomic.Int64
	for i := 0; i < 100; i++ {
		mustGet(t, c, fmt.Sprint(i), value(&calls, i))
		if i >= 5 {
			mustGet(t, c, "0", value(&calls, -1)) // keep "0" recently used
		}
	}
	if n := c.Len(); n != 40 {
		t.Fatalf("Len = %d, want 40", n)
	}
	before := calls.Load()
	if v := mustGet(t, c, "0", value(&calls, -1)); v != 0 {
		t.Fatalf("recently used entry was evicted: %v", v)
	}
	mustGet(t, c, "99", value(&calls, -1))
	mustGet(t, c, "1", value(&calls, -1)) // least recently used: evicted
	if got := calls.Load() - before; got != 1 {
		t.Fatalf("populations = %d, want 1 (only the evicted key)", got)
	}
}

func TestPendingEntriesAreNotEvicted(t *testing.T) {
	c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 1})
	b := newBlocker("slow")
	first := goGet(context.Background(), c, "slow", b.populate)
	<-b.started
	var calls atomic.Int64
	waiter := goGet(context.Background(), c, "slow", value(&calls, "never"))
	waitFor(t, "waiter", func() bool { return c.Stats().Waits == 1 })
	for i := 0; i < 5; i++ {
		mustGet(t, c, fmt.Sprint(i), value(&calls, i))
	}
	if st := c.Stats(); st.Entries != 1 || st.Pending != 1 {
		t.Fatalf("stats = %+v", st)
	}
	close(b.release)
	for _, ch := range []<-chan result{first, waiter} {
		if r := recv(t, ch); r.err != nil || r.v != "slow" {
			t.Fatalf("got %+v", r)
		}
	}
	if v := mustGet(t, c, "slow", value(&calls, "again")); v != "slow" {
		t.Fatalf("got %v", v)
	}
}

func TestSingleFlight(t *testing.T) {
	c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 10})
	var calls atomic.Int64
	release := make(chan struct{})
	populate := func() (any, error) {
		calls.Add(1)
		<-release
		return "v", nil
	}
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Get(context.Background(), "k", populate)
			if err != nil || v != "v" {
				errs <- fmt.Errorf("got %v, %v", v, err)
			}
		}()
	}
	waitFor(t, "waiters", func() bool { return c.Stats().Waits == n-1 })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("populate ran %d times", calls.Load())
	}
}

func TestWaiterTimeout(t *testing.T) {
	c, clock := newTestCache(t, Params{TTL: time.Hour, Capacity: 10, PopulateTimeout: 2 * time.Second, PopulateTimeoutSet: true})
	b := newBlocker(1)
	first := goGet(context.Background(), c, `"k"`, b.populate)
	<-b.started
	var calls atomic.Int64
	waiter := goGet(context.Background(), c, `"k"`, value(&calls, 2))
	waitFor(t, "waiter timer", func() bool { return clock.Timers() == 1 })
	clock.Advance(2 * time.Second)
	r := recv(t, waiter)
	want := `test lookup for (None, "\"k\"") timed out after 2s on semaphore acquire while waiting for cache to populate`
	var te *TimeoutError
	if !errors.As(r.err, &te) || r.err.Error() != want {
		t.Fatalf("got %v, want %s", r.err, want)
	}
	close(b.release)
	if r := recv(t, first); r.v != 1 {
		t.Fatalf("populator got %+v", r)
	}
	if calls.Load() != 0 {
		t.Fatal("the waiter must not populate")
	}
}

func TestTakeOverAfterDeadline(t *testing.T) {
	c, clock := newTestCache(t, Params{TTL: time.Hour, Capacity: 10, PopulateTimeout: 2 * time.Second, PopulateTimeoutSet: true})
	stuck := newBlocker("first")
	first := goGet(context.Background(), c, "k", stuck.populate)
	<-stuck.started

	var calls atomic.Int64
	// Before the deadline a new caller waits (and here times out).
	early := goGet(context.Background(), c, "k", value(&calls, "early"))
	waitFor(t, "waiter timer", func() bool { return clock.Timers() == 1 })
	clock.Advance(2 * time.Second)
	if r := recv(t, early); r.err == nil {
		t.Fatalf("early caller got %v", r.v)
	}

	// Past the stuck populator's deadline, the next caller takes over.
	if v := mustGet(t, c, "k", value(&calls, "second")); v != "second" {
		t.Fatalf("take-over got %v", v)
	}
	if calls.Load() != 1 || c.Stats().TakeOvers != 1 {
		t.Fatalf("calls=%d stats=%+v", calls.Load(), c.Stats())
	}
	if v := mustGet(t, c, "k", value(&calls, "x")); v != "second" {
		t.Fatalf("hit got %v", v)
	}

	// The stuck one finishes last: its result is returned to it, and last
	// write wins.
	close(stuck.release)
	if r := recv(t, first); r.v != "first" {
		t.Fatalf("stuck populator got %+v", r)
	}
	if v := mustGet(t, c, "k", value(&calls, "x")); v != "first" {
		t.Fatalf("last write did not win: %v", v)
	}
}

func TestErrorsCachedSixtySeconds(t *testing.T) {
	for _, ttl := range []time.Duration{time.Second, time.Hour} {
		c, clock := newTestCache(t, Params{TTL: ttl, Capacity: 10})
		var calls atomic.Int64
		boom := errors.New("boom")
		failing := func() (any, error) { calls.Add(1); return nil, boom }
		for i := 0; i < 3; i++ {
			if _, err := c.Get(context.Background(), "k", failing); err != boom {
				t.Fatalf("ttl %v call %d: err = %v", ttl, i, err)
			}
			clock.Advance(19 * time.Second)
		}
		if calls.Load() != 1 {
			t.Fatalf("ttl %v: populate ran %d times within 60 s", ttl, calls.Load())
		}
		clock.Advance(3 * time.Second) // 60 s after the failure
		if v := mustGet(t, c, "k", value(&calls, "ok")); v != "ok" || calls.Load() != 2 {
			t.Fatalf("ttl %v: after 60 s got %v (calls %d)", ttl, v, calls.Load())
		}
	}
}

func TestWaitersShareTheError(t *testing.T) {
	c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 10})
	b := newBlocker(nil)
	b.err = errors.New("populate failed")
	first := goGet(context.Background(), c, "k", b.populate)
	<-b.started
	var calls atomic.Int64
	waiter := goGet(context.Background(), c, "k", value(&calls, 1))
	waitFor(t, "waiter", func() bool { return c.Stats().Waits == 1 })
	close(b.release)
	for _, ch := range []<-chan result{first, waiter} {
		if r := recv(t, ch); r.err != b.err {
			t.Fatalf("got %+v", r)
		}
	}
}

func TestRetryOnPopulateTimeout(t *testing.T) {
	t.Run("timeout then take-over", func(t *testing.T) {
		c, clock := newTestCache(t, Params{TTL: time.Hour, Capacity: 10, RetryOnPopulateTimeout: true,
			PopulateTimeout: time.Second, PopulateTimeoutSet: true})
		stuck := newBlocker("stuck")
		go c.Get(context.Background(), "k", stuck.populate)
		<-stuck.started
		var calls atomic.Int64
		waiter := goGet(context.Background(), c, "k", value(&calls, "retried"))
		waitFor(t, "waiter timer", func() bool { return clock.Timers() == 1 })
		clock.Advance(time.Second)
		if r := recv(t, waiter); r.err != nil || r.v != "retried" {
			t.Fatalf("got %+v", r)
		}
		if st := c.Stats(); st.Timeouts != 1 || st.TakeOvers != 1 || calls.Load() != 1 {
			t.Fatalf("stats %+v calls %d", st, calls.Load())
		}
		close(stuck.release)
	})
	t.Run("without retry the timeout is returned", func(t *testing.T) {
		c, clock := newTestCache(t, Params{TTL: time.Hour, Capacity: 10, PopulateTimeout: time.Second, PopulateTimeoutSet: true})
		stuck := newBlocker("stuck")
		go c.Get(context.Background(), "k", stuck.populate)
		<-stuck.started
		var calls atomic.Int64
		waiter := goGet(context.Background(), c, "k", value(&calls, "retried"))
		waitFor(t, "waiter timer", func() bool { return clock.Timers() == 1 })
		clock.Advance(time.Second)
		var te *TimeoutError
		if r := recv(t, waiter); !errors.As(r.err, &te) {
			t.Fatalf("got %+v", r)
		}
		close(stuck.release)
	})
	t.Run("three attempts in total on any error", func(t *testing.T) {
		// Capacity 0 keeps nothing, so each attempt populates again.
		for _, retry := range []bool{false, true} {
			c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 0, RetryOnPopulateTimeout: retry})
			var calls atomic.Int64
			_, err := c.Get(context.Background(), "k", func() (any, error) {
				return nil, fmt.Errorf("attempt %d", calls.Add(1))
			})
			want := int64(1)
			if retry {
				want = 3
			}
			if calls.Load() != want || err == nil || err.Error() != fmt.Sprintf("attempt %d", want) {
				t.Fatalf("retry=%v: calls %d, err %v", retry, calls.Load(), err)
			}
		}
	})
	t.Run("retries return the cached error", func(t *testing.T) {
		c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 10, RetryOnPopulateTimeout: true})
		var calls atomic.Int64
		_, err := c.Get(context.Background(), "k", func() (any, error) { calls.Add(1); return nil, errors.New("nope") })
		if err == nil || calls.Load() != 1 || c.Stats().ErrorHits != 2 {
			t.Fatalf("err %v calls %d stats %+v", err, calls.Load(), c.Stats())
		}
	})
}

func TestAllowStaleReads(t *testing.T) {
	epoch := atomic.Uint64{}
	clock := NewManualClock(t0)
	reg := NewRegistry(WithClock(clock), WithEpoch(epoch.Load))
	c, _ := reg.Define(Params{Name: "stale", TTL: 10 * time.Second, Capacity: 10, AllowStaleReads: true,
		InvalidateWithEpoch: true, PopulateTimeout: time.Second, PopulateTimeoutSet: true})
	if k := c.KeyFor("x"); k.HasEpoch {
		t.Fatal("allow_stale_reads keeps the epoch out of the key")
	}
	var calls atomic.Int64
	mustGet(t, c, "k", value(&calls, "v1"))
	epoch.Add(1)
	clock.Advance(11 * time.Second)
	c.Sweep() // expired values survive sweeps in a stale-reads cache

	refresh := newBlocker("v2")
	refresher := goGet(context.Background(), c, "k", refresh.populate)
	<-refresh.started
	waiter := goGet(context.Background(), c, "k", value(&calls, "never"))
	waitFor(t, "waiter timer", func() bool { return clock.Timers() == 1 })
	select {
	case r := <-waiter:
		t.Fatalf("waiter returned before its deadline: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
	clock.Advance(time.Second)
	if r := recv(t, waiter); r.err != nil || r.v != "v1" {
		t.Fatalf("waiter got %+v, want the stale v1", r)
	}
	close(refresh.release)
	if r := recv(t, refresher); r.v != "v2" {
		t.Fatalf("refresher got %+v", r)
	}
	if v := mustGet(t, c, "k", value(&calls, "x")); v != "v2" {
		t.Fatalf("got %v", v)
	}
	if calls.Load() != 1 || c.Stats().StaleReads != 1 {
		t.Fatalf("calls %d stats %+v", calls.Load(), c.Stats())
	}
}

func TestStaleReadsOffExpiredEntryTimesOut(t *testing.T) {
	c, clock := newTestCache(t, Params{TTL: 10 * time.Second, Capacity: 10, PopulateTimeout: time.Second, PopulateTimeoutSet: true})
	var calls atomic.Int64
	mustGet(t, c, "k", value(&calls, "v1"))
	clock.Advance(11 * time.Second)
	refresh := newBlocker("v2")
	go c.Get(context.Background(), "k", refresh.populate)
	<-refresh.started
	waiter := goGet(context.Background(), c, "k", value(&calls, "never"))
	waitFor(t, "waiter timer", func() bool { return clock.Timers() == 1 })
	clock.Advance(time.Second)
	var te *TimeoutError
	if r := recv(t, waiter); !errors.As(r.err, &te) {
		t.Fatalf("got %+v, want a timeout", r)
	}
	close(refresh.release)
}

func TestInvalidateWithEpoch(t *testing.T) {
	var epoch atomic.Uint64
	reg := NewRegistry(WithClock(NewManualClock(t0)), WithEpoch(epoch.Load))
	c, _ := reg.Define(Params{Name: "e", TTL: time.Hour, Capacity: 10, InvalidateWithEpoch: true})
	var calls atomic.Int64
	populate := func() (any, error) { return calls.Add(1), nil }
	if v := mustGet(t, c, "k", populate); v != int64(1) {
		t.Fatal(v)
	}
	if v := mustGet(t, c, "k", populate); v != int64(1) {
		t.Fatal(v)
	}
	epoch.Store(7)
	if v := mustGet(t, c, "k", populate); v != int64(2) {
		t.Fatalf("epoch bump did not invalidate: %v", v)
	}
	if c.Len() != 2 {
		t.Fatalf("old-epoch entry should age out, not vanish: Len %d", c.Len())
	}
	if k := c.KeyFor("k"); !k.HasEpoch || k.Epoch != 7 || k.String() != `(Some(ConfigEpoch(7)), "k")` {
		t.Fatalf("key %v", k)
	}

	// Without the flag the epoch is ignored.
	c2, _ := reg.Define(Params{Name: "n", TTL: time.Hour, Capacity: 10})
	mustGet(t, c2, "k", populate)
	epoch.Store(8)
	mustGet(t, c2, "k", populate)
	if calls.Load() != 3 {
		t.Fatalf("calls %d", calls.Load())
	}
}

func TestPopulateUnderOldEpochStoresUnderOldKey(t *testing.T) {
	var epoch atomic.Uint64
	reg := NewRegistry(WithClock(NewManualClock(t0)), WithEpoch(epoch.Load))
	c, _ := reg.Define(Params{Name: "e", TTL: time.Hour, Capacity: 10, InvalidateWithEpoch: true})
	var calls atomic.Int64
	mustGet(t, c, "k", func() (any, error) {
		epoch.Store(1) // bumped while populating
		return "old", nil
	})
	if v := mustGet(t, c, "k", value(&calls, "new")); v != "new" || calls.Load() != 1 {
		t.Fatalf("got %v", v)
	}
}

func TestWaiterContextCancelled(t *testing.T) {
	c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 10})
	b := newBlocker("v")
	first := goGet(context.Background(), c, "k", b.populate)
	<-b.started
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	waiter := goGet(ctx, c, "k", value(&calls, "never"))
	waitFor(t, "waiter", func() bool { return c.Stats().Waits == 1 })
	cancel()
	r := recv(t, waiter)
	var ce *CancelledError
	if !errors.As(r.err, &ce) || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %+v", r)
	}
	close(b.release)
	if r := recv(t, first); r.v != "v" {
		t.Fatalf("populator got %+v", r)
	}
}

func TestPopulatorCancelledCachesNothing(t *testing.T) {
	c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 10})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	first := goGet(ctx, c, "k", func() (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	<-started
	var calls atomic.Int64
	waiter := goGet(context.Background(), c, "k", value(&calls, "from waiter"))
	waitFor(t, "waiter", func() bool { return c.Stats().Waits == 1 })
	cancel()
	if r := recv(t, first); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("populator got %+v", r)
	}
	if r := recv(t, waiter); r.err != nil || r.v != "from waiter" {
		t.Fatalf("waiter got %+v", r)
	}
	if v := mustGet(t, c, "k", value(&calls, "x")); v != "from waiter" {
		t.Fatalf("got %v", v)
	}
}

func TestPopulatorPanicReleasesWaiters(t *testing.T) {
	c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 10})
	started, release := make(chan struct{}), make(chan struct{})
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		c.Get(context.Background(), "k", func() (any, error) {
			close(started)
			<-release
			panic("kaboom")
		})
	}()
	<-started
	var calls atomic.Int64
	waiter := goGet(context.Background(), c, "k", value(&calls, "ok"))
	waitFor(t, "waiter", func() bool { return c.Stats().Waits == 1 })
	close(release)
	if p := <-panicked; p != "kaboom" {
		t.Fatalf("panic = %v", p)
	}
	if r := recv(t, waiter); r.v != "ok" {
		t.Fatalf("waiter got %+v", r)
	}
}

func TestExpiredEntriesAreSwept(t *testing.T) {
	c, clock := newTestCache(t, Params{TTL: 10 * time.Second, Capacity: 100})
	var calls atomic.Int64
	for i := 0; i < 50; i++ {
		mustGet(t, c, fmt.Sprint(i), value(&calls, i))
	}
	clock.Advance(SweepInterval)
	mustGet(t, c, "fresh", value(&calls, "f")) // the lookup runs the sweep
	if n := c.Len(); n != 1 {
		t.Fatalf("Len after sweep = %d, want 1", n)
	}
	// A lookup of an expired key drops it at once too.
	clock.Advance(11 * time.Second)
	if _, err := c.Get(context.Background(), "fresh", func() (any, error) { return nil, errors.New("x") }); err == nil {
		t.Fatal("expected the repopulation's error")
	}
}

func TestCapacityZeroStillCoalesces(t *testing.T) {
	c, _ := newTestCache(t, Params{TTL: time.Hour, Capacity: 0})
	b := newBlocker("v")
	first := goGet(context.Background(), c, "k", b.populate)
	<-b.started
	var calls atomic.Int64
	waiter := goGet(context.Background(), c, "k", value(&calls, "other"))
	waitFor(t, "waiter", func() bool { return c.Stats().Waits == 1 })
	close(b.release)
	recv(t, first)
	if r := recv(t, waiter); r.v != "v" {
		t.Fatalf("got %+v", r)
	}
	if c.Len() != 0 {
		t.Fatal("capacity 0 keeps nothing")
	}
}

func TestConcurrentStress(t *testing.T) {
	reg := NewRegistry()
	c, _ := reg.Define(Params{Name: "stress", TTL: 2 * time.Millisecond, Capacity: 8, PopulateTimeout: time.Second, PopulateTimeoutSet: true})
	var wg sync.WaitGroup
	var populates atomic.Int64
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for i := 0; i < 300; i++ {
				k := fmt.Sprint(rng.Intn(20))
				v, err := c.Get(context.Background(), k, func() (any, error) {
					populates.Add(1)
					if rng.Intn(10) == 0 {
						time.Sleep(time.Millisecond)
					}
					if k == "13" {
						return nil, errors.New("13 is unlucky")
					}
					return "v" + k, nil
				})
				if k == "13" {
					if err == nil {
						t.Errorf("key 13: no error")
					}
					continue
				}
				if err != nil || v != "v"+k {
					t.Errorf("key %s: %v, %v", k, v, err)
					return
				}
			}
		}(int64(g))
	}
	wg.Wait()
	if st := c.Stats(); st.Entries > 8 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	if populates.Load() == 0 {
		t.Fatal("nothing populated")
	}
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{2 * time.Second, "2s"}, {120 * time.Second, "120s"}, {1500 * time.Millisecond, "1.5s"},
		{250 * time.Millisecond, "250ms"}, {10 * time.Microsecond, "10µs"}, {7, "7ns"}, {0, "0ns"}} {
		if got := formatRustDuration(c.d); got != c.want {
			t.Errorf("formatRustDuration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	k := Key{Args: "[\"a\\\\b\",\"\n\",\"\xff\"]"}
	if got, want := k.String(), `(None, "[\"a\\\\b\",\"\n\",\"\xff\"]")`; got != want {
		t.Errorf("Key.String = %s, want %s", got, want)
	}
	if !strings.HasPrefix(Key{HasEpoch: true, Epoch: 2, Args: "null"}.String(), "(Some(ConfigEpoch(2)), ") {
		t.Error("epoch key format")
	}
}
