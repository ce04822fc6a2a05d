package httpapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
)

// rec returns a record told apart by its ID.
func rec(i int) *logrecord.Record { return &logrecord.Record{ID: fmt.Sprint(i)} }

// collector is a Process that keeps what it got.
type collector struct {
	mu      sync.Mutex
	batches [][]*logrecord.Record
	ids     map[string]int
}

func (c *collector) process(b []*logrecord.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]int{}
	}
	c.batches = append(c.batches, b)
	for _, r := range b {
		c.ids[r.ID]++
	}
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestQueueBatchesInOrder(t *testing.T) {
	var c collector
	var m Counters
	q, err := NewQueue(QueueConfig{BatchSize: 4, BatchWait: time.Hour, Workers: 1, Process: c.process, Metrics: &m})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := q.Enqueue(context.Background(), rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Two full batches go without waiting; the partial one waits an hour
	// unless Close flushes it.
	waitFor(t, "two full batches", func() bool { return c.count() == 8 })
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	next := 0
	for _, b := range c.batches {
		sizes = append(sizes, len(b))
		for _, r := range b {
			if r.ID != fmt.Sprint(next) {
				t.Fatalf("record %s where %d was expected (one worker keeps arrival order)", r.ID, next)
			}
			next++
		}
	}
	if fmt.Sprint(sizes) != "[4 4 2]" {
		t.Errorf("batch sizes %v, want [4 4 2]", sizes)
	}
	if v := m.Snapshot(); v.Batches != 3 || v.BatchedRecs != 10 {
		t.Errorf("metrics %+v", v)
	}
	if q.Depth() != 0 {
		t.Errorf("depth %d after drain", q.Depth())
	}
}

func TestQueuePartialBatchIsProcessedWithoutClose(t *testing.T) {
	var c collector
	q, err := NewQueue(QueueConfig{BatchSize: 100, BatchWait: 5 * time.Millisecond, Process: c.process})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	for i := range 3 {
		q.Enqueue(context.Background(), rec(i))
	}
	waitFor(t, "the partial batch", func() bool { return c.count() == 3 })
	for i := 3; i < 5; i++ { // a second partial batch after the first went
		q.Enqueue(context.Background(), rec(i))
	}
	waitFor(t, "the second partial batch", func() bool { return c.count() == 5 })
}

// blockingQueue is a queue of capacity 2 whose consumer holds each batch
// of one record until released.
func blockingQueue(t *testing.T) (*Queue, chan struct{}, *collector) {
	var c collector
	release := make(chan struct{})
	q, err := NewQueue(QueueConfig{Capacity: 2, BatchSize: 1, Workers: 1, Process: func(b []*logrecord.Record) {
		<-release
		c.process(b)
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := q.Enqueue(context.Background(), rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	return q, release, &c
}

func TestQueueBackPressure(t *testing.T) {
	q, release, c := blockingQueue(t)
	if q.Depth() != 2 || q.Capacity() != 2 {
		t.Fatalf("depth %d capacity %d", q.Depth(), q.Capacity())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.Enqueue(ctx, rec(2)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enqueue on a full queue: %v, want the context's deadline", err)
	}
	if q.Depth() != 2 {
		t.Fatalf("a refused record is counted: depth %d", q.Depth())
	}
	done := make(chan error)
	go func() { done <- q.Enqueue(context.Background(), rec(3)) }()
	release <- struct{}{} // one record processed: room for the waiting one
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.count() != 3 || c.ids["2"] != 0 {
		t.Errorf("processed %v, want 0, 1 and 3", c.ids)
	}
}

func TestQueueCloseReleasesWaitersAndDrains(t *testing.T) {
	q, release, c := blockingQueue(t)
	waiting := make(chan error)
	go func() { waiting <- q.Enqueue(context.Background(), rec(9)) }()
	closed := make(chan error)
	go func() { closed <- q.Close(context.Background()) }()
	if err := <-waiting; !errors.Is(err, ErrClosed) {
		t.Fatalf("a producer waiting for room: %v, want ErrClosed", err)
	}
	if err := q.Enqueue(context.Background(), rec(10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
	// Close does not return before the accepted records are processed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := q.Close(ctx); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with records in the consumer: %v", err)
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if c.count() != 2 || c.ids["0"] != 1 || c.ids["1"] != 1 {
		t.Errorf("processed %v, want 0 and 1", c.ids)
	}
}

func TestQueueConsumerPanic(t *testing.T) {
	var panics []any
	var mu sync.Mutex
	q, err := NewQueue(QueueConfig{Capacity: 1, BatchSize: 1, Workers: 1,
		Process: func(b []*logrecord.Record) { panic("boom " + b[0].ID) },
		OnPanic: func(v any) { mu.Lock(); panics = append(panics, v); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Capacity 1: the second Enqueue only returns if the panicking batch
	// gave its slot back.
	for i := range 2 {
		if err := q.Enqueue(context.Background(), rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(panics) != "[boom 0 boom 1]" {
		t.Errorf("panics %v", panics)
	}
}

func TestQueueConcurrentProducers(t *testing.T) {
	var c collector
	q, err := NewQueue(QueueConfig{Capacity: 64, BatchSize: 16, BatchWait: time.Millisecond, Workers: 4, Process: c.process})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for p := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if err := q.Enqueue(context.Background(), rec(p*1000+i)); err != nil {
					t.Error(err)
					return
				}
				if d := q.Depth(); d > 64 {
					t.Errorf("depth %d over capacity", d)
				}
			}
		}()
	}
	wg.Wait()
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.count() != 16*200 {
		t.Fatalf("processed %d distinct records, want %d", c.count(), 16*200)
	}
	for id, n := range c.ids {
		if n != 1 {
			t.Fatalf("record %s processed %d times", id, n)
		}
	}
	for _, b := range c.batches {
		if len(b) == 0 || len(b) > 16 {
			t.Fatalf("batch of %d", len(b))
		}
	}
}

func TestNewQueueErrors(t *testing.T) {
	if _, err := NewQueue(QueueConfig{}); err == nil || err.Error() != "ingest queue: Process is required" {
		t.Errorf("no Process: %v", err)
	}
	_, err := NewQueue(QueueConfig{Capacity: -1, Process: func([]*logrecord.Record) {}})
	if err == nil || err.Error() != "ingest queue: negative size (capacity -1, batch size 0, batch wait 0s, workers 0)" {
		t.Errorf("negative capacity: %v", err)
	}
}
