package luart

import (
	"context"
	"fmt"
	"time"
)

// pool bounds the number of dispatch states and keeps idle ones for reuse.
// A state is retired (closed instead of reused) when it was built under an
// older config epoch, is older than MaxAge, has served MaxUses dispatches,
// or was left in an unknown condition by a cancelled dispatch.
//
// slots holds one token per state that exists or is being built; idle holds
// the states waiting for reuse. A waiter takes whichever comes first: an
// idle state being released, or a slot freed by a retired state.
type pool struct {
	rt    *Runtime
	slots chan struct{}
	idle  chan *State
}

func newPool(rt *Runtime, max int) *pool {
	return &pool{rt: rt, slots: make(chan struct{}, max), idle: make(chan *State, max)}
}

// acquire returns a state for one dispatch, waiting while every state is
// busy. It builds a new state when no usable idle one exists and the limit
// allows.
func (p *pool) acquire(ctx context.Context) (*State, error) {
	if p.rt.closed.Load() {
		return nil, ErrClosed
	}
	for {
		// Prefer a warm idle state.
		select {
		case s := <-p.idle:
			if p.usable(s) {
				return s, nil
			}
			p.retire(s)
			continue
		default:
		}
		select {
		case s := <-p.idle:
			if p.usable(s) {
				return s, nil
			}
			p.retire(s)
			continue
		case p.slots <- struct{}{}:
			s, err := p.rt.newState(false)
			if err != nil {
				<-p.slots
				return nil, err
			}
			return s, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a free Lua state: %w", ctx.Err())
		case <-p.rt.ctx.Done():
			return nil, ErrClosed
		}
	}
}

func (p *pool) usable(s *State) bool {
	return !s.broken &&
		s.epoch == p.rt.Epoch() &&
		int64(s.uses) < p.rt.maxUses.Load() &&
		time.Since(s.created) < time.Duration(p.rt.maxAge.Load())
}

func (p *pool) retire(s *State) {
	s.L.Close()
	<-p.slots
}

// release returns a state after a dispatch. Retired states are closed and
// their slot freed. The idle channel has room for every slot, so the send
// never blocks.
func (p *pool) release(s *State) {
	s.uses++
	if p.rt.closed.Load() || !p.usable(s) || int64(len(p.idle)) >= p.rt.maxSpare.Load() {
		p.retire(s)
		return
	}
	p.idle <- s
	if p.rt.closed.Load() {
		p.closeIdle()
	}
}

func (p *pool) closeIdle() {
	for {
		select {
		case s := <-p.idle:
			p.retire(s)
		default:
			return
		}
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
	return PoolStats{Idle: len(rt.pool.idle), Live: len(rt.pool.slots), Limit: cap(rt.pool.slots)}
}
