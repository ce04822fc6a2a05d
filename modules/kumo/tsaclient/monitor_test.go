package tsaclient

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestConfigMonitor: the first load bumps once, an unchanged hash does
// not bump, a changed one does, and a failing load is logged and skipped.
func TestConfigMonitor(t *testing.T) {
	hashes := []string{"a", "a", "", "b", "b"} // "" stands for a failed load
	var mu sync.Mutex
	loads, bumps := 0, 0
	var bumpedAt []int
	ctx, cancel := context.WithCancel(context.Background())
	m := &ConfigMonitor{
		Interval: time.Millisecond,
		Load: func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			i := loads
			loads++
			if i >= len(hashes) {
				cancel()
				return "b", nil
			}
			if hashes[i] == "" {
				return "", errors.New("daemon down")
			}
			return hashes[i], nil
		},
		Bump: func() {
			mu.Lock()
			defer mu.Unlock()
			bumps++
			bumpedAt = append(bumpedAt, loads-1)
		},
	}
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the monitor did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if bumps != 2 || bumpedAt[0] != 0 || bumpedAt[1] != 3 {
		t.Errorf("bumps %d at loads %v, want 2 at [0 3]", bumps, bumpedAt)
	}
}

func TestConfigMonitorStopsWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	loaded := make(chan struct{}, 1)
	m := &ConfigMonitor{Interval: time.Hour, Bump: func() {},
		Load: func(context.Context) (string, error) { loaded <- struct{}{}; return "h", nil }}
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	<-loaded
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the monitor did not stop on cancel")
	}
}
