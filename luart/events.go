package luart

import (
	"context"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// DeclareMultipleEvents names events that accept several handlers,
// dispatched in registration order until one returns at least one value.
// Every other event takes one handler (a second kumo.on for it is refused).
// The host declares its API's events before the first dispatch; the
// runtime itself knows none.
func (rt *Runtime) DeclareMultipleEvents(events ...string) {
	rt.modMu.Lock()
	defer rt.modMu.Unlock()
	next := make(map[string]bool, len(rt.multiple)+len(events))
	for e := range rt.multiple {
		next[e] = true
	}
	for _, e := range events {
		next[e] = true
	}
	rt.multiple = next
}

// IsMultipleEvent reports whether event accepts several handlers.
func (rt *Runtime) IsMultipleEvent(event string) bool {
	rt.modMu.RLock()
	defer rt.modMu.RUnlock()
	return rt.multiple[event]
}

// Register implements kumo.on for the state that owns L: it records fn as a
// handler for event, following KumoMTA's rules. Registering from inside an
// event handler (other than `main`) is refused; a second handler for a
// Single event is refused with the location of the first.
func Register(L *lua.LState, event string, fn *lua.LFunction) error {
	s := StateOf(L)
	if s.current != "" && s.current != "main" {
		return fmt.Errorf("Attempting to register an event handler via "+
			"`kumo.on('%s', ...)` from within the event handler '%s'. "+
			"You must move your event handler registration so that it is "+
			"setup directly when the policy is loaded in order for it to "+
			"consistently trigger and handle events.", event, s.current)
	}
	if !s.multiple[event] {
		if existing := s.handlers[event]; len(existing) > 0 {
			return fmt.Errorf("%s event already has a handler defined at %s", event, existing[0].source)
		}
	}
	s.handlers[event] = append(s.handlers[event], &handler{fn: fn, source: functionSource(fn), name: lua.LString(event)})
	s.registrars[event] = append(s.registrars[event], callStack(L))
	return nil
}

// functionSource renders where a Lua function was defined as source:line.
func functionSource(fn *lua.LFunction) string {
	if fn.IsG || fn.Proto == nil {
		return "[Go]:0"
	}
	return fmt.Sprintf("%s:%d", fn.Proto.SourceName, fn.Proto.LineDefined)
}

// callStack lists short_src:currentline for every Lua frame above the
// running Go function, innermost first, like kumo.get_event_registrars.
func callStack(L *lua.LState) []string {
	var out []string
	for _, f := range Traceback(L, 1) {
		out = append(out, fmt.Sprintf("%s:%d", f.ShortSrc, max(f.CurrentLine, 0)))
	}
	return out
}

// Registrars returns, for each kumo.on(event) made in this state, the call
// stack that made it (see kumo.get_event_registrars).
func (s *State) Registrars(event string) [][]string { return s.registrars[event] }

// HasHandler reports whether the policy registered a handler for event.
func (s *State) HasHandler(event string) bool { return len(s.handlers[event]) > 0 }

// HandlerCount returns how many handlers are registered for event.
func (s *State) HandlerCount(event string) int { return len(s.handlers[event]) }

// NoHandlerError is returned when an event that must be handled has no
// handler, or when every handler of a Multiple event returned nothing.
type NoHandlerError struct{ Event string }

func (e *NoHandlerError) Error() string {
	return fmt.Sprintf("no handler registered for event '%s'", e.Event)
}

// Fire dispatches event in this state with args already built in s.L.
// It returns the values produced by the handler that answered, and whether
// any handler answered: for a Single event, whether a handler exists; for a
// Multiple event, whether one returned at least one value (an explicit nil
// counts). Handler errors come back as *LuaError. A handler stopped by ctx,
// or by running out of Options.Timeout (each handler call has its own
// budget; see budget.go), comes back as *TimeoutError, and the state is
// retired afterwards.
func (s *State) Fire(ctx context.Context, event string, args ...lua.LValue) ([]lua.LValue, bool, error) {
	hs := s.handlers[event]
	if len(hs) == 0 {
		return nil, false, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	L := s.L
	prevEvent := s.current
	globals := L.G.Global
	prevGlobal := globals.RawGetString("_KUMO_CURRENT_EVENT")
	s.current = event
	globals.RawSetString("_KUMO_CURRENT_EVENT", hs[0].name)
	defer s.endEvent(prevEvent, prevGlobal)

	// A cancellable context makes gopher-lua check it before every VM
	// instruction, so it is only installed when the caller gave one or a
	// Timeout applies. Go functions that block (kumo.sleep) use
	// State.Context, which falls back to the runtime's context, so
	// shutdown still interrupts them.
	limit := s.rt.opts.Timeout
	if s.task {
		limit = 0
	}
	useCtx := ctx.Done() != nil || limit > 0
	if useCtx {
		prevCtx := L.Context()
		prevPhase := s.phase
		defer func() {
			s.phase = prevPhase
			if prevCtx != nil {
				L.SetContext(prevCtx)
			} else {
				L.RemoveContext()
			}
		}()
	}

	for _, h := range hs {
		var p *phase
		if limit > 0 {
			p = &phase{name: fmt.Sprintf("event '%s' handler", event), event: event, handler: true, limit: limit, base: ctx}
			s.phase = p
			p.run(s)
		} else if useCtx {
			L.SetContext(ctx)
		}
		start := time.Now()
		base := L.GetTop()
		L.Push(h.fn)
		for _, a := range args {
			L.Push(a)
		}
		err := s.pcall(len(args), lua.MultRet)
		if p != nil {
			p.cancel()
		}
		if err != nil {
			L.SetTop(base)
			switch {
			case s.timedOut != nil:
				return nil, false, s.timeoutResult()
			case useCtx && isContextError(ctx, err):
				s.broken = true
				return nil, false, &TimeoutError{Event: event, Err: ctx.Err(), After: time.Since(start), Traceback: s.takeTraceback()}
			case p != nil && p.ranOut():
				s.broken = true
				return nil, false, p.timeoutError(s.takeTraceback())
			case s.rt.ctx.Err() != nil && isContextError(s.rt.ctx, err):
				s.broken = true
				return nil, false, ErrClosed
			}
			return nil, false, s.luaError(err)
		}
		n := L.GetTop() - base
		if n > 0 || !s.multiple[event] {
			out := make([]lua.LValue, n)
			for i := 0; i < n; i++ {
				out[i] = L.Get(base + 1 + i)
			}
			L.SetTop(base)
			return out, true, nil
		}
		L.SetTop(base)
	}
	return nil, false, nil
}

func (s *State) endEvent(prevEvent string, prevGlobal lua.LValue) {
	s.current = prevEvent
	s.L.G.Global.RawSetString("_KUMO_CURRENT_EVENT", prevGlobal)
}

// Call takes a state from the pool, runs fn with it and returns the state.
// fn must not keep s, or any Lua value of it, after returning.
func (rt *Runtime) Call(ctx context.Context, fn func(s *State) error) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := rt.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer rt.pool.release(s)
	return fn(s)
}

// Fire dispatches event through a pooled state. Arguments and results are
// plain Go data converted with ToLua and ToGo (see convert.go). handled
// reports whether a handler answered (see State.Fire).
func (rt *Runtime) Fire(ctx context.Context, event string, args ...any) (results []any, handled bool, err error) {
	err = rt.Call(ctx, func(s *State) error {
		largs := make([]lua.LValue, len(args))
		for i, a := range args {
			largs[i] = ToLua(s.L, a)
		}
		out, ok, err := s.Fire(ctx, event, largs...)
		if err != nil {
			return err
		}
		handled = ok
		for i, v := range out {
			g, err := ToGo(v)
			if err != nil {
				return fmt.Errorf("event '%s' result %d: %w", event, i+1, err)
			}
			results = append(results, g)
		}
		return nil
	})
	return results, handled, err
}
