package counterseries

import (
	"math"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func TestShapeRoundsUpToWholeSeconds(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want int64
	}{{0, 1}, {500 * time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {time.Minute, 60}} {
		s, err := ShapeOf(3, c.in)
		if err != nil || s.BucketSeconds != c.want {
			t.Errorf("ShapeOf(3, %v) = %+v, %v; want %d seconds", c.in, s, err, c.want)
		}
	}
	if _, err := ShapeOf(0, time.Second); err == nil {
		t.Error("num_buckets 0 accepted")
	}
}

func TestBucketsAgeOut(t *testing.T) {
	c := newClock()
	r := NewRegistry(c.now)
	shape, _ := ShapeOf(3, 10*time.Second)
	s := r.Define("x", shape, 5)
	s.Increment(1) // bucket 0: 6
	c.advance(10 * time.Second)
	s.Increment(2) // bucket 1: 2
	c.advance(10 * time.Second)
	s.Increment(4) // bucket 2: 4
	if got := s.Sum(); got != 12 {
		t.Fatalf("Sum = %d, want 12", got)
	}
	if got := s.SumOver(time.Second); got != 4 {
		t.Fatalf("SumOver(1s) = %d, want 4 (the current bucket)", got)
	}
	if got := s.SumOver(11 * time.Second); got != 6 {
		t.Fatalf("SumOver(11s) = %d, want 6 (two buckets)", got)
	}
	if got := s.SumOver(time.Hour); got != 12 {
		t.Fatalf("SumOver(1h) = %d, want 12 (capped)", got)
	}
	c.advance(10 * time.Second) // the first bucket ages out
	if got := s.Sum(); got != 6 {
		t.Fatalf("Sum after one rotation = %d, want 6", got)
	}
	c.advance(time.Hour)
	if got := s.Sum(); got != 0 {
		t.Fatalf("Sum after an hour = %d, want 0", got)
	}
}

func TestSaturation(t *testing.T) {
	c := newClock()
	s := NewRegistry(c.now).Define("x", Shape{NumBuckets: 2, BucketSeconds: 1}, 3)
	s.Delta(-10)
	if got := s.Sum(); got != 0 {
		t.Fatalf("underflow: %d", got)
	}
	s.Delta(math.MinInt64)
	s.Observe(math.MaxUint64 - 1)
	s.Increment(5)
	if got := s.Sum(); got != math.MaxUint64 {
		t.Fatalf("overflow: %d", got)
	}
	c.advance(time.Second)
	s.Increment(1)
	if got := s.Sum(); got != math.MaxUint64 {
		t.Fatalf("sum overflow: %d", got)
	}
}

func TestDefineCachesBySameShape(t *testing.T) {
	c := newClock()
	r := NewRegistry(c.now)
	a := r.Define("x", Shape{NumBuckets: 2, BucketSeconds: 60}, 1)
	if b := r.Define("x", Shape{NumBuckets: 2, BucketSeconds: 60}, 99); b != a || b.Sum() != 1 {
		t.Fatalf("same shape gave a new series (sum %d)", b.Sum())
	}
	if b := r.Define("x", Shape{NumBuckets: 3, BucketSeconds: 60}, 7); b == a || b.Sum() != 7 {
		t.Fatalf("new shape kept the series (sum %d)", b.Sum())
	}
}

func TestConcurrentIncrements(t *testing.T) {
	c := newClock()
	s := NewRegistry(c.now).Define("x", Shape{NumBuckets: 4, BucketSeconds: 60}, 0)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				s.Increment(1)
				_ = s.Sum()
			}
		}()
	}
	wg.Wait()
	if got := s.Sum(); got != 8000 {
		t.Fatalf("Sum = %d, want 8000", got)
	}
}
