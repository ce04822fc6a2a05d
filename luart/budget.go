package luart

import (
	"context"
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Time budgets (Options.Timeout).
//
// A budget bounds one phase of Lua execution, measured from when the phase
// starts:
//
//   - each call of an event handler (State.Fire, Runtime.Fire), except the
//     handlers of spawned tasks, which are long-running by design and end
//     when the runtime closes;
//   - the policy file's top-level chunk, run once in every new state;
//   - the top-level chunk of each module loaded by `require` outside an
//     event handler.
//
// Nesting: a handler's budget bounds everything the handler runs,
// `require`d modules included; they get no budget of their own. Outside
// handlers every chunk has its own budget, and the time spent in the
// modules it requires does not count against it (the chunk's clock stops
// while a required module runs). Time spent before a phase starts (waiting
// for a state, DNS lookups made by the caller) never counts.
//
// A phase that runs out is cancelled at its next Lua instruction (or
// blocking call that honours State.Context). The cancellation cannot be
// caught by pcall: every enclosing phase is cancelled with it, the error
// names the phase that ran out (a *TimeoutError), and the state is retired,
// because a half-run chunk or handler leaves it in an unknown condition.

// phase is one running chunk or handler with a budget of its own.
type phase struct {
	name    string // "top-level chunk", "require 'x'", "event 'x' handler"
	event   string // the event, for handler phases
	handler bool
	limit   time.Duration
	used    time.Duration // spent in earlier segments (before a suspension)
	start   time.Time     // start of the current segment
	base    context.Context
	ctx     context.Context
	cancel  context.CancelFunc
	parent  *phase
}

// run starts (or resumes) the phase's clock with what is left of its budget
// and installs its context in the state.
func (p *phase) run(s *State) {
	p.start = time.Now()
	p.ctx, p.cancel = context.WithTimeout(p.base, p.limit-p.used)
	s.L.SetContext(p.ctx)
}

// suspend stops the phase's clock while a nested chunk runs.
func (p *phase) suspend() {
	p.used += time.Since(p.start)
	p.cancel()
}

// ranOut reports whether the phase's own deadline (not its base's
// cancellation) ended it.
func (p *phase) ranOut() bool {
	return errors.Is(p.ctx.Err(), context.DeadlineExceeded) && p.base.Err() == nil
}

func (p *phase) timeoutError(traceback string) *TimeoutError {
	return &TimeoutError{
		Event:     p.event,
		Phase:     p.name,
		Limit:     p.limit,
		Err:       context.DeadlineExceeded,
		After:     p.used + time.Since(p.start),
		Traceback: traceback,
	}
}

// enterChunk starts a budget for a chunk (the policy file or a required
// module) and returns the function that ends it; done tells whether the
// chunk ran to completion. Inside a handler's budget, without a Timeout,
// or in a coroutine (whose context gopher-lua fixed when it was created,
// from the phase that created it), it does nothing.
func (s *State) enterChunk(L *lua.LState, name string) (exit func(done bool)) {
	limit := s.rt.opts.Timeout
	if limit <= 0 || L != s.L || (s.phase != nil && s.phase.handler) {
		return func(bool) {}
	}
	parent := s.phase
	prevCtx := s.L.Context()
	base := s.rt.ctx
	switch {
	case parent != nil:
		base = parent.base
		parent.suspend()
	case prevCtx != nil:
		base = prevCtx
	}
	p := &phase{name: name, limit: limit, base: base, parent: parent}
	s.phase = p
	p.run(s)
	return func(done bool) {
		p.cancel()
		s.phase = parent
		if !done && p.ranOut() && s.timedOut == nil {
			// Under require the stack is still there (the error is
			// unwinding to the PCall): it shows where the chunk was
			// stopped. After a PCall, the message handler recorded it.
			tb := s.takeTraceback()
			if _, ok := L.GetStack(0); ok {
				tb = FormatTraceback(L, 0)
			}
			s.timedOut = p.timeoutError(tb)
			s.broken = true
		}
		switch {
		case s.timedOut != nil:
			// Doom the enclosing code: p's context is done, so the next
			// instruction fails whatever pcall the caller wrapped us in.
			s.L.SetContext(p.ctx)
		case parent != nil:
			parent.run(s)
		case prevCtx != nil:
			s.L.SetContext(prevCtx)
		default:
			s.L.RemoveContext()
		}
	}
}

// TimeoutError reports that a handler or chunk was cancelled: it ran out
// of its Options.Timeout budget, or the caller's context ended it.
type TimeoutError struct {
	// Event is the event whose handler was cancelled; "" for a chunk.
	Event string
	// Phase names what ran out: "event 'x' handler", "top-level chunk",
	// "require 'x'".
	Phase string
	// Limit is the budget that ran out; 0 when the caller's context
	// ended the dispatch.
	Limit time.Duration
	Err   error // context.DeadlineExceeded or context.Canceled
	After time.Duration
	// Traceback is the Lua stack where the code was stopped, if known.
	Traceback string
}

func (e *TimeoutError) Error() string {
	what := e.Phase
	if what == "" {
		what = fmt.Sprintf("event '%s' handler", e.Event)
	}
	switch {
	case e.Limit > 0:
		return fmt.Sprintf("%s did not finish within %s; it was cancelled", what, e.Limit)
	case errors.Is(e.Err, context.DeadlineExceeded):
		return fmt.Sprintf("%s did not finish within its deadline (ran %s); it was cancelled", what, e.After.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s was cancelled after %s: %v", what, e.After.Round(time.Millisecond), e.Err)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// timeoutResult returns the state's recorded timeout, with the traceback of
// the error that ended the outermost call when the phase had none (a
// chunk cancelled under `require` is recorded before the stack unwinds to
// the call that records tracebacks).
func (s *State) timeoutResult() *TimeoutError {
	te := s.timedOut
	if t := s.takeTraceback(); te.Traceback == "" {
		te.Traceback = t
	}
	return te
}
