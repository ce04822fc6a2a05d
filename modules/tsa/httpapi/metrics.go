package httpapi

import (
	"sync"
	"sync/atomic"
	"time"
)

// Reasons a publish request is rejected, as given to Metrics.Rejected.
const (
	RejectContentEncoding = "content_encoding" // 415, unsupported Content-Encoding
	RejectUnauthorized    = "unauthorized"     // 401, peer not in trusted_hosts
	RejectContentType     = "content_type"     // 415, not application/json
	RejectTooLarge        = "too_large"        // 413, body over request_body_limit
	RejectBadBody         = "bad_body"         // 400, body unreadable (corrupt gzip/deflate)
	RejectJSONSyntax      = "json_syntax"      // 400, not JSON
	RejectDecode          = "decode"           // 422, JSON but not a log record
	RejectQueueTimeout    = "queue_timeout"    // 503, queue stayed full for EnqueueTimeout
	RejectClientGone      = "client_gone"      // client went away while the queue was full
	RejectShuttingDown    = "shutting_down"    // 503, the queue is closed
)

// Metrics receives the ingest side's measurements. Implementations must be
// safe for concurrent use and fast; the queue depth is read on demand
// through Queue.Depth instead (a gauge function).
type Metrics interface {
	// Received counts a record accepted (queued; answered 200).
	Received()
	// Rejected counts a publish request not answered 200, by reason (one
	// of the Reject constants).
	Rejected(reason string)
	// Batch reports a batch given to the consumer: its size and how long
	// the consumer took.
	Batch(size int, took time.Duration)
}

// NopMetrics discards everything.
type NopMetrics struct{}

func (NopMetrics) Received()                {}
func (NopMetrics) Rejected(string)          {}
func (NopMetrics) Batch(int, time.Duration) {}

// Counters is a Metrics that keeps plain totals, readable with Snapshot.
type Counters struct {
	received  atomic.Uint64
	batches   atomic.Uint64
	batched   atomic.Uint64
	batchTime atomic.Int64 // nanoseconds
	mu        sync.Mutex
	rejected  map[string]uint64
}

// CounterValues is a copy of a Counters' totals.
type CounterValues struct {
	Received      uint64
	Rejected      map[string]uint64
	Batches       uint64        // batches processed
	BatchedRecs   uint64        // records in them
	BatchDuration time.Duration // total time the consumer took
}

func (c *Counters) Received() { c.received.Add(1) }

func (c *Counters) Rejected(reason string) {
	c.mu.Lock()
	if c.rejected == nil {
		c.rejected = map[string]uint64{}
	}
	c.rejected[reason]++
	c.mu.Unlock()
}

func (c *Counters) Batch(size int, took time.Duration) {
	c.batches.Add(1)
	c.batched.Add(uint64(size))
	c.batchTime.Add(int64(took))
}

// Snapshot returns the current totals.
func (c *Counters) Snapshot() CounterValues {
	v := CounterValues{
		Received:      c.received.Load(),
		Batches:       c.batches.Load(),
		BatchedRecs:   c.batched.Load(),
		BatchDuration: time.Duration(c.batchTime.Load()),
		Rejected:      map[string]uint64{},
	}
	c.mu.Lock()
	for k, n := range c.rejected {
		v.Rejected[k] = n
	}
	c.mu.Unlock()
	return v
}
