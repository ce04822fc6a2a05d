package luart

import (
	"context"
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// SpawnTask implements kumo.spawn_task: in a new goroutine it builds a
// dedicated state (running the policy, as every state does), then fires
// event once with args converted to a single Lua array argument. The state
// is never returned to the pool; it is closed when the handler returns.
// The task's context is the runtime's, so Close cancels it (sleeps and
// other blocking calls return, Lua code stops at its next instruction).
//
// In validate mode nothing is started. Errors are logged, as KumoMTA does.
func (rt *Runtime) SpawnTask(event string, args []any) error {
	if rt.closed.Load() {
		return ErrClosed
	}
	if !rt.RunsBackgroundWork() {
		return nil
	}
	rt.tasks.Add(1)
	go func() {
		defer rt.tasks.Done()
		if err := rt.runTask(event, args); err != nil && rt.ctx.Err() == nil {
			rt.logger.Error(fmt.Sprintf("Error while dispatching %s: %v", event, err), "task", event)
		}
	}()
	return nil
}

func (rt *Runtime) runTask(event string, args []any) error {
	s, err := rt.newState(true)
	if err != nil {
		return err
	}
	rt.taskMu.Lock()
	rt.taskStates[s] = struct{}{}
	rt.taskMu.Unlock()
	defer func() {
		rt.taskMu.Lock()
		delete(rt.taskStates, s)
		rt.taskMu.Unlock()
		s.L.Close()
	}()
	if !s.HasHandler(event) {
		return &NoHandlerError{Event: event}
	}
	arg := ToLua(s.L, args)
	if args == nil {
		arg = ToLua(s.L, []any{})
	}
	_, _, err = s.Fire(rt.ctx, event, arg)
	if err == ErrClosed {
		return nil
	}
	return err
}

// RunningTasks returns how many spawned tasks are still running.
func (rt *Runtime) RunningTasks() int {
	rt.taskMu.Lock()
	defer rt.taskMu.Unlock()
	return len(rt.taskStates)
}

// Sleep blocks for d seconds or until the dispatch context or the runtime
// is cancelled, for kumo.sleep. It returns the context error if cancelled.
func Sleep(L *lua.LState, seconds float64) error {
	s := StateOf(L)
	ctx := s.Context()
	return sleepCtx(ctx, s.rt.ctx, seconds)
}

func sleepCtx(ctx, rtCtx context.Context, seconds float64) error {
	if seconds <= 0 {
		return nil
	}
	d := secondsToDuration(seconds)
	t := newTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-rtCtx.Done():
		return rtCtx.Err()
	}
}

// RunsBackgroundWork reports whether spawned tasks and Go's work start:
// not in validate mode, nor with Options.NoBackgroundWork.
func (rt *Runtime) RunsBackgroundWork() bool {
	return !rt.opts.Validating && !rt.opts.NoBackgroundWork
}

// Go runs fn in a goroutine as native background work of the runtime
// (what a spawned task is for Lua): fn gets the runtime's context, which
// Close cancels, and Close waits for fn to return as it waits for tasks.
// Nothing starts, and Go reports false, when RunsBackgroundWork is false
// or the runtime is closed.
func (rt *Runtime) Go(fn func(ctx context.Context)) bool {
	if !rt.RunsBackgroundWork() || rt.closed.Load() {
		return false
	}
	rt.tasks.Add(1)
	go func() {
		defer rt.tasks.Done()
		fn(rt.ctx)
	}()
	return true
}
