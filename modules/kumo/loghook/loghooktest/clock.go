// Package loghooktest has test helpers for the log-hook pipeline.
package loghooktest

import (
	"sync"
	"testing"
	"time"
)

// Clock is a fake loghook.Clock that only moves when told to.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock standing at 2023-11-14 22:13:20 UTC.
func NewClock() *Clock { return &Clock{now: time.Unix(1_700_000_000, 0)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives once the clock has been advanced
// by d.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// NextWait waits (in real time, up to 10 s) until a timer is pending and
// returns how far ahead of Now the earliest one is.
func (c *Clock) NextWait(t testing.TB) time.Duration {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		var next time.Time
		for _, w := range c.waiters {
			if next.IsZero() || w.at.Before(next) {
				next = w.at
			}
		}
		now := c.now
		c.mu.Unlock()
		if !next.IsZero() {
			return next.Sub(now)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no timer was started")
	return 0
}

// Advance moves the clock by d, firing the timers that are then due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}
