// Package mpsc is kumo.mpsc's core: named multi-producer, single-consumer
// queues shared by every Lua state of a runtime. It is Lua-free: values are
// whatever the binding stores (frozen, state-independent data). Waits
// honour a context.
package mpsc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClosed is returned by sends on a closed queue.
var ErrClosed = errors.New("queue is closed")

// ErrBusy is returned when another consumer holds the queue's receive side.
var ErrBusy = errors.New("unable to acquire exclusive access to the consumer side of the queue: only a single consumer may receive from it at a time")

// Registry holds the named queues of one runtime. It is safe for
// concurrent use.
type Registry struct {
	mu     sync.Mutex
	queues map[string]*Queue
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{queues: map[string]*Queue{}} }

// Define returns the queue called name, creating it with limit (0:
// unbounded) if it does not exist; the limit of an existing queue stays.
func (r *Registry) Define(name string, limit int) *Queue {
	r.mu.Lock()
	defer r.mu.Unlock()
	if q, ok := r.queues[name]; ok {
		return q
	}
	q := &Queue{name: name, limit: limit, changed: make(chan struct{})}
	r.queues[name] = q
	return q
}

// Queue is one named queue.
type Queue struct {
	name  string
	limit int

	consumer sync.Mutex // held by the receiving side while it works

	mu      sync.Mutex
	items   []any
	head    int
	closed  bool
	changed chan struct{} // closed, and replaced, on every change
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// Limit returns the queue's bound; 0 means unbounded.
func (q *Queue) Limit() int { return q.limit }

// notify wakes every waiter. The caller holds q.mu.
func (q *Queue) notify() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *Queue) length() int { return len(q.items) - q.head }

// TrySend adds v if there is room now; it reports whether it did.
func (q *Queue) TrySend(v any) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.trySendLocked(v) == nil
}

func (q *Queue) trySendLocked(v any) error {
	if q.closed {
		return ErrClosed
	}
	if q.limit > 0 && q.length() >= q.limit {
		return errFull
	}
	if q.head > 0 && q.head >= len(q.items)/2 {
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	q.items = append(q.items, v)
	q.notify()
	return nil
}

var errFull = errors.New("queue is full")

// Send adds v, waiting for room until ctx ends.
func (q *Queue) Send(ctx context.Context, v any) error {
	return q.send(ctx, v, nil)
}

// SendTimeout adds v, waiting up to d for room (an unbounded queue always
// has room).
func (q *Queue) SendTimeout(ctx context.Context, v any, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	return q.send(ctx, v, t.C)
}

func (q *Queue) send(ctx context.Context, v any, timeout <-chan time.Time) error {
	for {
		q.mu.Lock()
		err := q.trySendLocked(v)
		ch := q.changed
		q.mu.Unlock()
		if err != errFull {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for room in queue %q: %w", q.name, ctx.Err())
		case <-timeout:
			return fmt.Errorf("timed out waiting for room in queue %q (it holds %d items)", q.name, q.limit)
		}
	}
}

// Close stops further sends; items already queued can still be received.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		q.notify()
	}
}

// IsClosed reports whether Close was called.
func (q *Queue) IsClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// Len returns the number of queued items (a consumer operation).
func (q *Queue) Len() (int, error) {
	if !q.consumer.TryLock() {
		return 0, ErrBusy
	}
	defer q.consumer.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.length(), nil
}

// take removes up to n items. The caller holds q.mu.
func (q *Queue) take(n int) []any {
	if l := q.length(); n > l {
		n = l
	}
	out := make([]any, n)
	copy(out, q.items[q.head:q.head+n])
	clear(q.items[q.head : q.head+n])
	q.head += n
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	if n > 0 {
		q.notify()
	}
	return out
}

// TryRecv takes the oldest item if there is one.
func (q *Queue) TryRecv() (any, bool, error) {
	if !q.consumer.TryLock() {
		return nil, false, ErrBusy
	}
	defer q.consumer.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if got := q.take(1); len(got) == 1 {
		return got[0], true, nil
	}
	return nil, false, nil
}

// Recv takes the oldest item, waiting for one until ctx ends. It returns
// ok false when the queue is closed and empty.
func (q *Queue) Recv(ctx context.Context) (v any, ok bool, err error) {
	items, ok, err := q.RecvMany(ctx, 1)
	if !ok || err != nil {
		return nil, ok, err
	}
	return items[0], true, nil
}

// RecvMany takes up to limit (>= 1) items, waiting for at least one until
// ctx ends. It returns ok false when the queue is closed and empty.
func (q *Queue) RecvMany(ctx context.Context, limit int) ([]any, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("the limit must be at least 1, got %d", limit)
	}
	if !q.consumer.TryLock() {
		return nil, false, ErrBusy
	}
	defer q.consumer.Unlock()
	for {
		q.mu.Lock()
		if q.length() > 0 {
			out := q.take(limit)
			q.mu.Unlock()
			return out, true, nil
		}
		closed, ch := q.closed, q.changed
		q.mu.Unlock()
		if closed {
			return nil, false, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false, fmt.Errorf("waiting to receive from queue %q: %w", q.name, ctx.Err())
		}
	}
}
