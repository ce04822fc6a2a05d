package httpapi

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
)

// Ingester takes one decoded record for asynchronous processing. Enqueue
// returns nil once the record is queued (it will be processed even if the
// daemon is shut down right after); it may wait while the queue is full,
// at most until ctx is done, and then returns ctx's error without queuing.
type Ingester interface {
	Enqueue(ctx context.Context, rec *logrecord.Record) error
}

// ErrClosed is returned by Enqueue after Close has begun.
var ErrClosed = errors.New("ingest queue is closed")

// Queue defaults, as KumoMTA's tsa-daemon sizes its queue.
const (
	DefaultQueueCapacity = 131072
	DefaultBatchSize     = 1024
	DefaultBatchWait     = 100 * time.Millisecond
)

// QueueConfig configures NewQueue. Zero fields take the defaults.
type QueueConfig struct {
	// Capacity bounds the records accepted and not yet processed (queued,
	// waiting for a batch, or in a batch being processed); Enqueue waits
	// while it is reached. Default DefaultQueueCapacity.
	Capacity int
	// BatchSize is the largest batch given to Process. Default
	// DefaultBatchSize.
	BatchSize int
	// BatchWait is how long a record waits for its batch to fill before
	// the partial batch is processed. Default DefaultBatchWait.
	BatchWait time.Duration
	// Workers is how many batches may be processed at once. Default
	// runtime.GOMAXPROCS(0). Records of one batch are given in arrival
	// order; batches processed concurrently have no order between them.
	Workers int
	// Process is the consumer; required. It owns the slice it is given.
	// A panic in it is recovered and reported through OnPanic: the batch
	// counts as processed.
	Process func(batch []*logrecord.Record)
	// OnPanic, when set, is told about a panic in Process.
	OnPanic func(v any)
	// Metrics, when set, is told about each batch.
	Metrics Metrics
}

// Queue is a bounded ingest queue processed in batches: the Ingester
// behind POST /publish_log_v1.
type Queue struct {
	cfg   QueueConfig
	slots chan struct{} // one token per record accepted and not processed
	done  chan struct{} // closed when Close begins
	wake  chan struct{} // cap 1: a batch may be ready
	work  chan []*logrecord.Record

	mu      sync.Mutex
	pending []*logrecord.Record
	first   time.Time // arrival of pending[0]
	closed  bool

	batcherDone chan struct{}
	workers     sync.WaitGroup
	closeOnce   sync.Once
}

// NewQueue starts a queue's batcher and workers.
func NewQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.Process == nil {
		return nil, errors.New("ingest queue: Process is required")
	}
	if cfg.Capacity < 0 || cfg.BatchSize < 0 || cfg.BatchWait < 0 || cfg.Workers < 0 {
		return nil, fmt.Errorf("ingest queue: negative size (capacity %d, batch size %d, batch wait %v, workers %d)",
			cfg.Capacity, cfg.BatchSize, cfg.BatchWait, cfg.Workers)
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = DefaultQueueCapacity
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchWait == 0 {
		cfg.BatchWait = DefaultBatchWait
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NopMetrics{}
	}
	q := &Queue{
		cfg:         cfg,
		slots:       make(chan struct{}, cfg.Capacity),
		done:        make(chan struct{}),
		wake:        make(chan struct{}, 1),
		work:        make(chan []*logrecord.Record),
		batcherDone: make(chan struct{}),
	}
	q.workers.Add(cfg.Workers)
	for range cfg.Workers {
		go q.worker()
	}
	go q.batcher()
	return q, nil
}

// Enqueue queues rec. While the queue holds Capacity records it waits for
// room, until ctx is done (then it returns ctx.Err() and rec is not
// queued) or Close begins (ErrClosed). A nil return means rec will be
// processed, also when Close follows at once.
func (q *Queue) Enqueue(ctx context.Context, rec *logrecord.Record) error {
	if rec == nil {
		return errors.New("ingest queue: nil record")
	}
	select {
	case <-q.done:
		return ErrClosed
	default:
	}
	select {
	case q.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-q.done:
		return ErrClosed
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		<-q.slots
		return ErrClosed
	}
	if len(q.pending) == 0 {
		q.first = time.Now()
	}
	q.pending = append(q.pending, rec)
	n := len(q.pending)
	q.mu.Unlock()
	if n == 1 || n >= q.cfg.BatchSize {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Depth is the number of records accepted and not yet processed.
func (q *Queue) Depth() int { return len(q.slots) }

// Capacity is the configured bound of Depth.
func (q *Queue) Capacity() int { return q.cfg.Capacity }

// Close stops accepting records (Enqueue returns ErrClosed, also to callers
// waiting for room), processes everything already accepted and returns
// when the consumer is done with it. If ctx ends first, Close returns
// ctx's error and processing goes on in the background.
func (q *Queue) Close(ctx context.Context) error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		close(q.done)
	})
	finished := make(chan struct{})
	go func() {
		<-q.batcherDone
		q.workers.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest queue: %d records still being processed: %w", q.Depth(), ctx.Err())
	}
}

// take cuts the batches that are ready: full ones, and the partial one
// when it has waited BatchWait (or always when flush). It returns how long
// until the partial batch left behind is due (0 if none).
func (q *Queue) take(now time.Time, flush bool) (batches [][]*logrecord.Record, due time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) >= q.cfg.BatchSize {
		b := make([]*logrecord.Record, q.cfg.BatchSize)
		copy(b, q.pending)
		batches = append(batches, b)
		q.pending = q.pending[q.cfg.BatchSize:]
		// q.first stays: the rest arrived later, so they are flushed at
		// the latest BatchWait after it, never later than their due time.
	}
	if len(q.pending) == 0 {
		q.pending = nil
		return batches, 0
	}
	waited := now.Sub(q.first)
	if flush || waited >= q.cfg.BatchWait {
		batches = append(batches, q.pending)
		q.pending = nil
		return batches, 0
	}
	return batches, q.cfg.BatchWait - waited
}

func (q *Queue) batcher() {
	defer close(q.batcherDone)
	defer close(q.work)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var closing bool
		select {
		case <-q.wake:
		case <-timer.C:
		case <-q.done:
			closing = true
		}
		batches, due := q.take(time.Now(), closing)
		for _, b := range batches {
			q.work <- b
		}
		if closing {
			return
		}
		timer.Stop()
		if due > 0 {
			timer.Reset(due)
		}
	}
}

func (q *Queue) worker() {
	defer q.workers.Done()
	for b := range q.work {
		q.process(b)
	}
}

func (q *Queue) process(b []*logrecord.Record) {
	start := time.Now()
	defer func() {
		if v := recover(); v != nil && q.cfg.OnPanic != nil {
			q.cfg.OnPanic(v)
		}
		q.cfg.Metrics.Batch(len(b), time.Since(start))
		for range b {
			<-q.slots
		}
	}()
	q.cfg.Process(b)
}
