package mpsc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestDefineKeepsTheFirstQueue(t *testing.T) {
	r := NewRegistry()
	a := r.Define("q", 0)
	if b := r.Define("q", 5); b != a || b.Limit() != 0 {
		t.Fatalf("redefinition made a new queue (limit %d)", b.Limit())
	}
}

func TestBoundedQueue(t *testing.T) {
	q := NewRegistry().Define("b", 1)
	if !q.TrySend(1) || q.TrySend(2) {
		t.Fatal("bound not enforced")
	}
	err := q.SendTimeout(context.Background(), 2, time.Millisecond)
	if err == nil {
		t.Fatal("SendTimeout on a full queue succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Send(ctx, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a cancelled context: %v", err)
	}
	if v, ok, _ := q.TryRecv(); !ok || v != 1 {
		t.Fatalf("TryRecv = %v %v", v, ok)
	}
	if !q.TrySend(2) {
		t.Fatal("no room after a receive")
	}
}

func TestRecvManyAndClose(t *testing.T) {
	q := NewRegistry().Define("u", 0)
	for i := 0; i < 5; i++ {
		q.TrySend(i)
	}
	got, ok, err := q.RecvMany(context.Background(), 3)
	if err != nil || !ok || len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("RecvMany = %v %v %v", got, ok, err)
	}
	q.Close()
	if q.TrySend(9) || !errors.Is(q.Send(context.Background(), 9), ErrClosed) {
		t.Fatal("send after Close accepted")
	}
	got, ok, _ = q.RecvMany(context.Background(), 10)
	if !ok || len(got) != 2 {
		t.Fatalf("items queued before Close: %v %v", got, ok)
	}
	if _, ok, err := q.Recv(context.Background()); ok || err != nil {
		t.Fatalf("Recv on closed empty queue: %v %v", ok, err)
	}
}

func TestRecvWaitsAndHonoursContext(t *testing.T) {
	q := NewRegistry().Define("w", 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, _, err := q.Recv(ctx); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after cancel: %v", err)
	}
}

func TestSingleConsumer(t *testing.T) {
	q := NewRegistry().Define("c", 0)
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		q.consumer.Lock() // stands for a Recv in progress
		close(started)
		<-done
		q.consumer.Unlock()
	}()
	<-started
	if _, _, err := q.TryRecv(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second consumer: %v", err)
	}
	if _, err := q.Len(); !errors.Is(err, ErrBusy) {
		t.Fatalf("Len with a consumer busy: %v", err)
	}
	close(done)
}

func TestManyProducers(t *testing.T) {
	q := NewRegistry().Define("p", 4)
	const producers, each = 8, 200
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := q.Send(context.Background(), i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	total := 0
	for total < producers*each {
		got, ok, err := q.RecvMany(context.Background(), 3)
		if err != nil || !ok {
			t.Fatalf("RecvMany: %v %v", ok, err)
		}
		total += len(got)
	}
	wg.Wait()
	if n, _ := q.Len(); n != 0 {
		t.Fatalf("left over: %d", n)
	}
}
