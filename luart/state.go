package luart

import (
	"context"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// State is one Lua state of a Runtime with its per-state bookkeeping: the
// event handlers the policy registered in it, the epoch it was built under,
// its age and use count.
//
// A State must only be used by the goroutine that acquired it.
type State struct {
	L  *lua.LState
	rt *Runtime

	epoch   uint64
	created time.Time
	uses    int
	broken  bool
	task    bool

	phase    *phase         // innermost running phase with a budget
	timedOut *TimeoutError  // the first phase that ran out; the state is broken
	trace    string         // traceback recorded by msgh for the last error
	msgh     *lua.LFunction // pcall's message handler

	multiple   map[string]bool // the runtime's Multiple events when the state was built
	handlers   map[string][]*handler
	registrars map[string][][]string
	current    string
	locals     map[any]any
}

type handler struct {
	fn     *lua.LFunction
	source string     // short_src:line_defined of the function
	name   lua.LValue // the event name, boxed once for _KUMO_CURRENT_EVENT
}

const stateRegistryKey = "kumopolicy.luart.state"

// StateOf returns the State that owns L (or the thread L was created from).
// It panics if L was not created by a Runtime, which is a programming error.
func StateOf(L *lua.LState) *State {
	ud, ok := L.G.Registry.RawGetString(stateRegistryKey).(*lua.LUserData)
	if !ok {
		panic("luart: LState was not created by a luart.Runtime")
	}
	return ud.Value.(*State)
}

// Runtime returns the runtime the state belongs to.
func (s *State) Runtime() *Runtime { return s.rt }

// Epoch returns the config epoch the state was built under.
func (s *State) Epoch() uint64 { return s.epoch }

// CurrentEvent returns the name of the event being dispatched in this state,
// or "" while the policy itself is running.
func (s *State) CurrentEvent() string { return s.current }

// IsTask reports whether the state belongs to a spawned task.
func (s *State) IsTask() bool { return s.task }

// Local returns a per-state Go value stored with SetLocal.
func (s *State) Local(key any) any { return s.locals[key] }

// SetLocal stores a Go value that lives as long as this state.
func (s *State) SetLocal(key, value any) { s.locals[key] = value }

// Context returns the context of the current dispatch: the one given to
// the dispatch call, or the runtime's context when none was given.
func (s *State) Context() context.Context {
	if ctx := s.L.Context(); ctx != nil {
		return ctx
	}
	return s.rt.ctx
}

// newState builds a state: standard libraries, compatibility shims, the
// require machinery, native modules, state hooks, then the policy file.
func (rt *Runtime) newState(task bool) (*State, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: false})
	s := &State{
		L:          L,
		rt:         rt,
		epoch:      rt.Epoch(),
		created:    time.Now(),
		task:       task,
		handlers:   map[string][]*handler{},
		registrars: map[string][][]string{},
		locals:     map[any]any{},
	}
	ud := L.NewUserData()
	ud.Value = s
	L.G.Registry.RawSetString(stateRegistryKey, ud)

	installCompat(L)
	rt.installRequire(s)
	if rt.opts.Validating {
		L.SetGlobal("_VALIDATING_CONFIG", lua.LTrue)
	}

	rt.modMu.RLock()
	s.multiple = rt.multiple
	modules := append([]namedModule(nil), rt.modules...)
	hooks := append([]StateHook(nil), rt.hooks...)
	rt.modMu.RUnlock()

	loaded := L.GetField(L.GetGlobal("package"), "loaded").(*lua.LTable)
	for _, m := range modules {
		loaded.RawSetString(m.name, m.fn(s))
	}
	for _, h := range hooks {
		if err := h(s); err != nil {
			L.Close()
			return nil, err
		}
	}

	if rt.opts.PolicyFile != "" || rt.opts.PolicySource != nil {
		if err := rt.runPolicy(s); err != nil {
			L.Close()
			return nil, err
		}
	}
	return s, nil
}

func (rt *Runtime) runPolicy(s *State) error {
	var proto *lua.FunctionProto
	var err error
	if rt.opts.PolicySource != nil {
		proto, err = compileSource(rt.opts.PolicySource, rt.opts.PolicyFile)
	} else {
		proto, err = rt.protos.load(rt.opts.PolicyFile)
	}
	if err != nil {
		return &PolicyError{File: rt.opts.PolicyFile, Err: err}
	}
	L := s.L
	L.SetContext(rt.ctx)
	defer L.RemoveContext()
	exit := s.enterChunk(L, "top-level chunk")
	fn := L.NewFunctionFromProto(proto)
	L.Push(fn)
	err = s.pcall(0, 0)
	exit(err == nil)
	if s.timedOut != nil {
		return &PolicyError{File: rt.opts.PolicyFile, Err: s.timeoutResult()}
	}
	if err != nil {
		return &PolicyError{File: rt.opts.PolicyFile, Err: s.luaError(err)}
	}
	return nil
}

// pcall calls the function below nargs arguments on the stack in
// protected mode, recording a Lua 5.4 style traceback of any error: the
// message handler runs before the stack unwinds. (Upvalues stay right
// with a handler pending thanks to kumopolicy's gopher-lua change; see
// third_party/gopher-lua/KUMOPOLICY.md.)
func (s *State) pcall(nargs, nret int) error {
	s.trace = ""
	if s.msgh == nil {
		s.msgh = s.L.NewFunction(s.messageHandler)
	}
	return s.L.PCall(nargs, nret, s.msgh)
}

// messageHandler runs where an error was raised, before the stack unwinds:
// it records the traceback, then raises the error value again, unchanged,
// so that PCall returns it as the error object.
func (s *State) messageHandler(L *lua.LState) int {
	if s.trace == "" {
		s.trace = FormatTraceback(L, 1)
	}
	L.Error(L.Get(1), 0)
	return 0
}

func (s *State) takeTraceback() string {
	t := s.trace
	s.trace = ""
	return t
}

// luaError converts a PCall error into a *LuaError with the recorded
// traceback.
func (s *State) luaError(err error) error {
	e := luaError(err)
	if le, ok := e.(*LuaError); ok {
		if t := s.takeTraceback(); t != "" {
			le.Traceback = t
		}
	}
	return e
}

// PolicyError reports that the policy file could not be loaded or run.
type PolicyError struct {
	File string
	Err  error
}

func (e *PolicyError) Error() string {
	name := e.File
	if name == "" {
		name = "policy"
	}
	return fmt.Sprintf("loading %s: %v", name, e.Err)
}

func (e *PolicyError) Unwrap() error { return e.Err }

// Close closes the underlying Lua state. States from the pool are closed by
// the pool; Close is for states made with NewStandaloneState.
func (s *State) Close() { s.L.Close() }

// NewStandaloneState builds a state outside the pool (running the policy
// as usual). The caller owns it and must Close it.
func (rt *Runtime) NewStandaloneState() (*State, error) {
	if rt.closed.Load() {
		return nil, ErrClosed
	}
	return rt.newState(false)
}
