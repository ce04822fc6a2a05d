package luart

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Options configures a Runtime. The zero value of every field is a sensible
// default.
type Options struct {
	// PolicyFile is the Lua file run in every new state. Empty means no
	// policy: states only have the modules installed.
	PolicyFile string

	// PolicySource, when not nil, is used instead of reading PolicyFile
	// from disk (PolicyFile then only names the chunk).
	PolicySource []byte

	// SearchRoots are directories prepended to package.path as
	// ROOT/?.lua;ROOT/?/init.lua, ahead of /opt/kumomta/share and
	// /opt/kumomta/etc/policy (KumoMTA's debug builds do the same with
	// assets/).
	SearchRoots []string

	// SystemRoots replaces the default /opt/kumomta/share and
	// /opt/kumomta/etc/policy roots. Nil means the defaults.
	SystemRoots []string

	// Embedded holds Lua modules used when a `require` finds nothing on
	// package.path: module `a.b` is looked up as `a/b.lua` then
	// `a/b/init.lua`.
	Embedded fs.FS

	// MaxStates bounds the number of states that exist for event dispatch
	// at once (in use plus idle). Acquisition waits when all are in use.
	// Default: 8 × GOMAXPROCS, at least 16.
	MaxStates int

	// MaxUses retires a state after this many dispatches. Default 1024.
	MaxUses int

	// MaxAge retires a state older than this. Default 300 s.
	MaxAge time.Duration

	// Validating marks the runtime as running `validate`: the global
	// _VALIDATING_CONFIG is true in every state and spawn_task does nothing.
	Validating bool

	// NoBackgroundWork makes spawn_task (and Go, the native equivalent)
	// start nothing, as in validate mode, for hosts that fire init once to
	// answer one question (`kumopolicy resolve`) and must not open the
	// connections a policy's tasks would.
	NoBackgroundWork bool

	// Logger receives kumo.log_* output and runtime diagnostics.
	// Default: slog.Default().
	Logger *slog.Logger

	// Timeout, when positive, is the time budget of each event handler
	// call, of the policy file's top-level chunk in each new state, and of
	// each module chunk run by `require` outside a handler. A handler's
	// budget also bounds the modules it requires; spawned tasks' handlers
	// have none. A phase that runs out fails with a *TimeoutError naming
	// it, and its state is retired. See budget.go for the details.
	Timeout time.Duration

	// TaskShutdownGrace is how long Close waits for spawned tasks to end
	// after cancelling them. Default 5 s.
	TaskShutdownGrace time.Duration
}

// ModuleFunc builds the value of a native module for one state. It is
// called once for every new state, before the policy runs, and its result is
// stored in package.loaded[name].
type ModuleFunc func(s *State) lua.LValue

// StateHook is called for every new state after the modules are installed
// and before the policy runs.
type StateHook func(s *State) error

// Runtime is a Lua policy host. Create it with New, install modules with
// AddModule before the first dispatch, and Close it when done.
type Runtime struct {
	opts   Options
	logger *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	modMu   sync.RWMutex
	modules []namedModule
	hooks   []StateHook
	// multiple holds the events declared with DeclareMultipleEvents; it
	// is replaced, never changed in place, so states keep a snapshot.
	multiple map[string]bool

	epoch     atomic.Uint64
	epochMu   sync.Mutex
	epochSubs map[int]chan uint64
	nextSub   int

	validationFailed atomic.Bool

	protos *protoCache
	pool   *pool

	maxUses  atomic.Int64
	maxAge   atomic.Int64 // nanoseconds
	maxSpare atomic.Int64

	tasks      sync.WaitGroup
	taskMu     sync.Mutex
	taskStates map[*State]struct{}
	closed     atomic.Bool
}

type namedModule struct {
	name string
	fn   ModuleFunc
}

// ErrClosed is returned by dispatch calls made after Close.
var ErrClosed = errors.New("luart: runtime is closed")

// New creates a Runtime. No Lua state is built until the first dispatch.
func New(opts Options) *Runtime {
	if opts.MaxStates <= 0 {
		opts.MaxStates = 8 * runtime.GOMAXPROCS(0)
		if opts.MaxStates < 16 {
			opts.MaxStates = 16
		}
	}
	if opts.MaxUses <= 0 {
		opts.MaxUses = 1024
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 300 * time.Second
	}
	if opts.TaskShutdownGrace <= 0 {
		opts.TaskShutdownGrace = 5 * time.Second
	}
	if opts.SystemRoots == nil {
		opts.SystemRoots = []string{"/opt/kumomta/share", "/opt/kumomta/etc/policy"}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	rt := &Runtime{
		opts:       opts,
		logger:     logger,
		ctx:        ctx,
		cancel:     cancel,
		epochSubs:  map[int]chan uint64{},
		protos:     newProtoCache(),
		taskStates: map[*State]struct{}{},
	}
	rt.pool = newPool(rt, opts.MaxStates)
	rt.maxUses.Store(int64(opts.MaxUses))
	rt.maxAge.Store(int64(opts.MaxAge))
	rt.maxSpare.Store(int64(opts.MaxStates))
	return rt
}

// Options returns the options the runtime was created with, defaults filled in.
func (rt *Runtime) Options() Options { return rt.opts }

// Logger returns the runtime's logger.
func (rt *Runtime) Logger() *slog.Logger { return rt.logger }

// Context is cancelled when the runtime closes. Long-running Go work started
// on behalf of Lua (spawned tasks, sleeps) should honour it.
func (rt *Runtime) Context() context.Context { return rt.ctx }

// AddModule registers a native module: every new state gets
// package.loaded[name] = fn(state). Modules are installed in the order they
// were added. A later AddModule with the same name replaces the earlier one.
func (rt *Runtime) AddModule(name string, fn ModuleFunc) {
	rt.modMu.Lock()
	defer rt.modMu.Unlock()
	for i, m := range rt.modules {
		if m.name == name {
			rt.modules[i].fn = fn
			return
		}
	}
	rt.modules = append(rt.modules, namedModule{name, fn})
}

// AddStateHook registers a function run on every new state after modules
// are installed and before the policy runs.
func (rt *Runtime) AddStateHook(h StateHook) {
	rt.modMu.Lock()
	defer rt.modMu.Unlock()
	rt.hooks = append(rt.hooks, h)
}

// SetMaxUses changes how many dispatches a pooled state serves before it is
// retired (kumo.set_max_lua_context_use_count). Values below 1 mean 1.
func (rt *Runtime) SetMaxUses(n int) { rt.maxUses.Store(int64(max(n, 1))) }

// SetMaxAge changes the age after which a pooled state is retired
// (kumo.set_max_lua_context_age).
func (rt *Runtime) SetMaxAge(d time.Duration) { rt.maxAge.Store(int64(max(d, 0))) }

// SetMaxSpare changes how many idle states the pool keeps for reuse
// (kumo.set_max_spare_lua_contexts); extra states are closed on release.
// It cannot raise the number of states above MaxStates.
func (rt *Runtime) SetMaxSpare(n int) { rt.maxSpare.Store(int64(max(n, 0))) }

// Validating reports whether the runtime runs in validate mode.
func (rt *Runtime) Validating() bool { return rt.opts.Validating }

// MarkValidationFailed records that a validate_config handler called
// kumo.validation_failed().
func (rt *Runtime) MarkValidationFailed() { rt.validationFailed.Store(true) }

// ValidationFailed reports whether kumo.validation_failed() was called.
func (rt *Runtime) ValidationFailed() bool { return rt.validationFailed.Load() }

// Epoch returns the current config epoch. It starts at 0.
func (rt *Runtime) Epoch() uint64 { return rt.epoch.Load() }

// BumpEpoch advances the config epoch, which retires pooled states built
// under the old epoch, and notifies subscribers. It returns the new epoch.
func (rt *Runtime) BumpEpoch() uint64 {
	n := rt.epoch.Add(1)
	rt.epochMu.Lock()
	for _, ch := range rt.epochSubs {
		// Keep only the newest value in each subscriber's buffer.
		select {
		case ch <- n:
		default:
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- n:
			default:
			}
		}
	}
	rt.epochMu.Unlock()
	rt.logger.Debug("config epoch bumped", "epoch", n)
	return n
}

// SubscribeEpoch returns a channel that receives the new epoch after each
// bump (coalesced: a slow reader sees the latest value) and a function that
// ends the subscription.
func (rt *Runtime) SubscribeEpoch() (<-chan uint64, func()) {
	ch := make(chan uint64, 1)
	rt.epochMu.Lock()
	id := rt.nextSub
	rt.nextSub++
	rt.epochSubs[id] = ch
	rt.epochMu.Unlock()
	return ch, func() {
		rt.epochMu.Lock()
		delete(rt.epochSubs, id)
		rt.epochMu.Unlock()
	}
}

// Close cancels spawned tasks and in-flight sleeps, waits up to
// TaskShutdownGrace for tasks to end, and closes every idle state.
func (rt *Runtime) Close() error {
	if rt.closed.Swap(true) {
		return nil
	}
	rt.cancel()
	done := make(chan struct{})
	go func() { rt.tasks.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(rt.opts.TaskShutdownGrace):
		err = fmt.Errorf("luart: spawned tasks still running %s after shutdown", rt.opts.TaskShutdownGrace)
	}
	rt.pool.closeIdle()
	return err
}
