package luart

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// pool bounds the number of dispatch states and keeps idle ones for reuse.
// A state is retired (closed instead of reused) when it was built under an
// older config epoch, is older than MaxAge, has served MaxUses dispatches,
// or was left in an unknown condition by a cancelled dispatch.
type pool struct {
	rt    *Runtime
	slots chan struct{} // one token per state that exists or is being built

	mu   sync.Mutex
	idle []*State
}

func newPool(rt *Runtime, max int) *pool {
	return &pool{rt: rt, slots: make(chan struct{}, max)}
}

// acquire returns a state for one dispatch, waiting for a free slot while
// every state is busy. It builds a new state when no usable idle one exists.
func (p *pool) acquire(ctx context.Context) (*State, error) {
	if p.rt.closed.Load() {
		return nil, ErrClosed
	}
	for {
		if s := p.popIdle(); s != nil {
			if p.usable(s) {
				return s, nil
			}
			s.L.Close()
			<-p.slots
			continue
		}
		break
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free Lua state: %w", ctx.Err())
	case <-p.rt.ctx.Done():
		return nil, ErrClosed
	}
	// A state may have been released while we waited for the slot.
	if s := p.popIdle(); s != nil {
		<-p.slots
		if p.usable(s) {
			return s, nil
		}
		s.L.Close()
	}
	s, err := p.rt.newState(false)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return s, nil
}

func (p *pool) popIdle() *State {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	s := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return s
}

func (p *pool) usable(s *State) bool {
	return !s.broken &&
		s.epoch == p.rt.Epoch() &&
		s.uses < p.rt.opts.MaxUses &&
		time.Since(s.created) < p.rt.opts.MaxAge
}

// release returns a state after a dispatch. Retired states are closed and
// their slot freed.
func (p *pool) release(s *State) {
	s.uses++
	if p.rt.closed.Load() || !p.usable(s) {
		s.L.Close()
		<-p.slots
		return
	}
	p.mu.Lock()
	p.idle = append(p.idle, s)
	p.mu.Unlock()
}

func (p *pool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, s := range idle {
		s.L.Close()
		<-p.slots
	}
}

// PoolStats describes the dispatch pool.
type PoolStats struct {
	Idle  int // states waiting for reuse
	Live  int // states in existence (idle, in use or being built)
	Limit int // MaxStates
}

// PoolStats returns a snapshot of the pool's counters.
func (rt *Runtime) PoolStats() PoolStats {
	rt.pool.mu.Lock()
	idle := len(rt.pool.idle)
	rt.pool.mu.Unlock()
	return PoolStats{Idle: idle, Live: len(rt.pool.slots), Limit: cap(rt.pool.slots)}
}
