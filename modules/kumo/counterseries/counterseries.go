// Package counterseries holds kumo.counter_series' rolling counters: named
// rings of time buckets of saturating unsigned 64-bit counts. It is
// Lua-free; the clock is injectable so tests control time.
package counterseries

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Shape is a series' bucket layout.
type Shape struct {
	NumBuckets    int   // >= 1
	BucketSeconds int64 // >= 1
}

// ShapeOf validates a definition's shape: bucketSize is rounded up to whole
// seconds (at least one).
func ShapeOf(numBuckets uint64, bucketSize time.Duration) (Shape, error) {
	if numBuckets < 1 {
		return Shape{}, fmt.Errorf("num_buckets must be >= 1")
	}
	if numBuckets > 1<<20 {
		return Shape{}, fmt.Errorf("num_buckets %d is too large (at most %d)", numBuckets, 1<<20)
	}
	if bucketSize < 0 {
		return Shape{}, fmt.Errorf("bucket_size must not be negative")
	}
	secs := int64(bucketSize / time.Second)
	if bucketSize%time.Second != 0 || secs == 0 {
		secs++
	}
	return Shape{NumBuckets: int(numBuckets), BucketSeconds: secs}, nil
}

// Registry holds the named series of one runtime. It is safe for
// concurrent use.
type Registry struct {
	now    func() time.Time
	mu     sync.Mutex
	series map[string]*Series
}

// NewRegistry returns an empty registry on clock now (nil: time.Now).
func NewRegistry(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{now: now, series: map[string]*Series{}}
}

// Define returns the series called name. An existing series of the same
// shape is returned as it is (initial is ignored); otherwise a fresh series
// whose current bucket holds initial replaces it.
func (r *Registry) Define(name string, shape Shape, initial uint64) *Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.series[name]; ok && s.shape == shape {
		return s
	}
	s := &Series{name: name, shape: shape, now: r.now, buckets: make([]uint64, shape.NumBuckets)}
	s.current = s.bucketNumber()
	s.buckets[s.index(s.current)] = initial
	r.series[name] = s
	return s
}

// Series is one rolling counter. It is safe for concurrent use.
type Series struct {
	name  string
	shape Shape
	now   func() time.Time

	mu      sync.Mutex
	buckets []uint64
	current int64 // the bucket number (unix seconds / bucket size) of the newest bucket
}

// Name returns the series' name.
func (s *Series) Name() string { return s.name }

// Shape returns the series' bucket layout.
func (s *Series) Shape() Shape { return s.shape }

func (s *Series) bucketNumber() int64 {
	return floorDiv(s.now().Unix(), s.shape.BucketSeconds)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (s *Series) index(n int64) int {
	m := int64(len(s.buckets))
	return int(((n % m) + m) % m)
}

// rotate zeroes the buckets that aged out since the last access and
// returns the index of the current bucket. The caller holds s.mu.
func (s *Series) rotate() int {
	n := s.bucketNumber()
	if n > s.current {
		steps := n - s.current
		if steps > int64(len(s.buckets)) {
			steps = int64(len(s.buckets))
		}
		for k := int64(1); k <= steps; k++ {
			s.buckets[s.index(s.current+k)] = 0
		}
		s.current = n
	}
	// A clock that went backwards keeps counting into the newest bucket.
	return s.index(s.current)
}

// Increment adds v to the current bucket, saturating at the maximum.
func (s *Series) Increment(v uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.rotate()
	s.buckets[i] = satAdd(s.buckets[i], v)
}

// Delta adds a signed amount to the current bucket, saturating at zero and
// at the maximum.
func (s *Series) Delta(d int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.rotate()
	if d >= 0 {
		s.buckets[i] = satAdd(s.buckets[i], uint64(d))
		return
	}
	neg := uint64(-(d + 1)) + 1 // |d| without overflowing at MinInt64
	if neg >= s.buckets[i] {
		s.buckets[i] = 0
	} else {
		s.buckets[i] -= neg
	}
}

// Observe sets the current bucket to v.
func (s *Series) Observe(v uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[s.rotate()] = v
}

// Sum returns the total of every bucket.
func (s *Series) Sum() uint64 {
	return s.sumBuckets(len(s.buckets))
}

// SumOver returns the total of the newest buckets covering span, rounded up
// to whole buckets and capped at the whole series.
func (s *Series) SumOver(span time.Duration) uint64 {
	if span <= 0 {
		return s.sumBuckets(0)
	}
	size := time.Duration(s.shape.BucketSeconds) * time.Second
	n := int64(span / size)
	if span%size != 0 {
		n++
	}
	if n > int64(len(s.buckets)) {
		n = int64(len(s.buckets))
	}
	return s.sumBuckets(int(n))
}

func (s *Series) sumBuckets(n int) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate()
	var total uint64
	for k := 0; k < n; k++ {
		total = satAdd(total, s.buckets[s.index(s.current-int64(k))])
	}
	return total
}

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
