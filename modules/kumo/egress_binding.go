package kumo

import (
	"fmt"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Config constructors, as KumoMTA's kumod module provides them:
//
//	kumo.make_egress_path{...}   -> EgressPathConfig
//	kumo.make_queue_config{...}  -> QueueConfig
//	kumo.make_egress_source{...} -> EgressSource
//	kumo.make_egress_pool{...}   -> EgressPool
//
// Each decodes its table strictly with package egress and returns an
// opaque, immutable userdata. EgressPathConfig and QueueConfig read back in
// their serialized form: `cfg.connection_limit` is {limit=32,
// force_local=false}, `cfg.idle_timeout` is "5s"; `pairs(cfg)` iterates
// the fields in declaration order; `#cfg` is 0 (a map). EgressSource and
// EgressPool expose no fields, as upstream.
//
// Errors read as KumoMTA's, which policy helpers (typing.lua, sources.lua,
// queue.lua) parse:
//
//	deserialize error: <message>, while processing <the input as JSON>
//
// where <message> is serde's text, prefixed with the path of the offending
// field ("max_ready: invalid type: floating point `1.5`, expected usize").
//
// Differences from upstream, deliberate:
//   - Fields that are None read as nil through __index and are skipped by
//     __pairs (upstream yields its null sentinel, which is truthy); in
//     json_encode they are null, as upstream.
//   - The input JSON has its keys sorted (upstream: table iteration order).
//   - json_encode works on every config object, including sources and
//     pools (upstream: only on those with __pairs).

// egressConfigObject is the Go value of a config userdata: the typed config and,
// built on first use, its serialized form. It is immutable, so memoized
// copies are shared between states.
type egressConfigObject struct {
	kind  *egressConfigKind
	typed any // *egress.EgressPathConfig, *egress.QueueConfig, ...

	once       sync.Once
	serialized *plain.Map
}

// egressConfigKind describes one kind of config object.
type egressConfigKind struct {
	name      string // the userdata's __name
	metaKey   string // registry key of its metatable
	readable  bool   // __index, __pairs and __len over the serialized form
	serialize func(typed any) *plain.Map
}

var (
	egressPathKind = &egressConfigKind{name: "EgressPathConfig", metaKey: "kumopolicy.kumo.EgressPathConfig", readable: true,
		serialize: func(t any) *plain.Map { return t.(*egress.EgressPathConfig).Serialize() }}
	queueConfigKind = &egressConfigKind{name: "QueueConfig", metaKey: "kumopolicy.kumo.QueueConfig", readable: true,
		serialize: func(t any) *plain.Map { return t.(*egress.QueueConfig).Serialize() }}
	egressSourceKind = &egressConfigKind{name: "EgressSource", metaKey: "kumopolicy.kumo.EgressSource",
		serialize: func(t any) *plain.Map { return t.(*egress.EgressSource).Serialize() }}
	egressPoolKind = &egressConfigKind{name: "EgressPool", metaKey: "kumopolicy.kumo.EgressPool",
		serialize: func(t any) *plain.Map { return t.(*egress.EgressPool).Serialize() }}
)

func (o *egressConfigObject) fields() *plain.Map {
	o.once.Do(func() { o.serialized = o.kind.serialize(o.typed) })
	return o.serialized
}

// LuaToGo returns the serialized form as plain data (luart.GoValuer), so
// json_encode and handler results see the fields; None fields are nil.
func (o *egressConfigObject) LuaToGo() (any, error) { return o.fields().Plain(true), nil }

// MemoizeValue lets kumo.memoize cache the object by reference.
func (o *egressConfigObject) MemoizeValue() MemoizedUserData { return o }

// NewLuaUserData wraps the object in a userdata of L.
func (o *egressConfigObject) NewLuaUserData(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = o
	ud.Metatable = egressConfigMetatable(L, o.kind)
	return ud
}

// openEgress installs the constructors.
func openEgress(s *luart.State, mod *lua.LTable) {
	L := s.L
	mod.RawSetString("make_egress_path", L.NewFunction(makeEgressConfig(egressPathKind, func(v any) (any, error) { return egress.DecodeEgressPathConfig(v) })))
	mod.RawSetString("make_queue_config", L.NewFunction(makeEgressConfig(queueConfigKind, func(v any) (any, error) { return egress.DecodeQueueConfig(v) })))
	mod.RawSetString("make_egress_source", L.NewFunction(makeEgressConfig(egressSourceKind, func(v any) (any, error) { return egress.DecodeEgressSource(v) })))
	mod.RawSetString("make_egress_pool", L.NewFunction(makeEgressConfig(egressPoolKind, func(v any) (any, error) { return egress.DecodeEgressPool(v) })))
}

// makeEgressConfig returns the Lua constructor of a kind.
func makeEgressConfig(kind *egressConfigKind, decode func(any) (any, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		arg := L.Get(1)
		data, err := luart.ToGo(arg)
		if err != nil {
			raise(L, fmt.Errorf("deserialize error: %v, while processing a value that cannot be represented as data", err))
		}
		typed, err := decode(data)
		if err != nil {
			raise(L, deserializeError(err, data))
		}
		o := &egressConfigObject{kind: kind, typed: typed}
		L.Push(o.NewLuaUserData(L))
		return 1
	}
}

// deserializeError renders a decoding failure as KumoMTA's from_lua_value
// does.
func deserializeError(err error, data any) error {
	text, jerr := plain.EncodeJSON(data)
	if jerr != nil {
		text = fmt.Sprintf("<unable to encode as json: %v>", jerr)
	}
	return fmt.Errorf("deserialize error: %v, while processing %s", err, text)
}

// egressConfigMetatable returns the state's metatable for a kind.
func egressConfigMetatable(L *lua.LState, kind *egressConfigKind) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(kind.metaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString(kind.name))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(fmt.Sprintf("%s: %p", kind.name, L.CheckUserData(1))))
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only: build a new one with the changed fields", kind.name)
		return 0
	}))
	if kind.readable {
		mt.RawSetString("__index", L.NewFunction(egressConfigIndex))
		mt.RawSetString("__pairs", L.NewFunction(egressConfigPairs))
		mt.RawSetString("__len", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LNumber(0)) // the serialized form is a map
			return 1
		}))
	}
	L.G.Registry.RawSetString(kind.metaKey, mt)
	return mt
}

func checkEgressConfig(L *lua.LState) *egressConfigObject {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if o, ok := ud.Value.(*egressConfigObject); ok {
			return o
		}
	}
	L.ArgError(1, "config object expected")
	return nil
}

// egressConfigIndex is __index: a field's serialized value (a fresh table for
// maps and sequences), nil for unknown keys and None fields.
func egressConfigIndex(L *lua.LState) int {
	o := checkEgressConfig(L)
	key, ok := L.Get(2).(lua.LString)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	v, _ := o.fields().Get(string(key))
	L.Push(luart.ToLua(L, v))
	return 1
}

// egressConfigPairs is __pairs: an iterator over the fields in declaration
// order, skipping None fields.
func egressConfigPairs(L *lua.LState) int {
	o := checkEgressConfig(L)
	m := o.fields()
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		for i < m.Len() {
			k, v := m.At(i)
			i++
			if v == nil {
				continue
			}
			L.Push(lua.LString(k))
			L.Push(luart.ToLua(L, v))
			return 2
		}
		L.Push(lua.LNil)
		return 1
	}))
	L.Push(L.Get(1))
	L.Push(lua.LNil)
	return 3
}

// egressConfigFromLua returns the typed config behind a userdata of kind.
func egressConfigFromLua(v lua.LValue, kind *egressConfigKind) (any, bool) {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return nil, false
	}
	o, ok := ud.Value.(*egressConfigObject)
	if !ok || o.kind != kind {
		return nil, false
	}
	return o.typed, true
}

// EgressPathFromLua returns the configuration behind an EgressPathConfig
// userdata (a result of kumo.make_egress_path). The value is shared: do
// not modify it.
func EgressPathFromLua(v lua.LValue) (*egress.EgressPathConfig, bool) {
	t, ok := egressConfigFromLua(v, egressPathKind)
	if !ok {
		return nil, false
	}
	return t.(*egress.EgressPathConfig), true
}

// QueueConfigFromLua returns the configuration behind a QueueConfig
// userdata (a result of kumo.make_queue_config).
func QueueConfigFromLua(v lua.LValue) (*egress.QueueConfig, bool) {
	t, ok := egressConfigFromLua(v, queueConfigKind)
	if !ok {
		return nil, false
	}
	return t.(*egress.QueueConfig), true
}

// EgressSourceFromLua returns the source behind an EgressSource userdata
// (a result of kumo.make_egress_source).
func EgressSourceFromLua(v lua.LValue) (*egress.EgressSource, bool) {
	t, ok := egressConfigFromLua(v, egressSourceKind)
	if !ok {
		return nil, false
	}
	return t.(*egress.EgressSource), true
}

// EgressPoolFromLua returns the pool behind an EgressPool userdata (a
// result of kumo.make_egress_pool).
func EgressPoolFromLua(v lua.LValue) (*egress.EgressPool, bool) {
	t, ok := egressConfigFromLua(v, egressPoolKind)
	if !ok {
		return nil, false
	}
	return t.(*egress.EgressPool), true
}

// NewEgressPathUserData returns an EgressPathConfig userdata for cfg, as
// kumo.make_egress_path would, for Go code that builds the config itself.
// cfg must not be modified afterwards.
func NewEgressPathUserData(L *lua.LState, cfg *egress.EgressPathConfig) *lua.LUserData {
	return (&egressConfigObject{kind: egressPathKind, typed: cfg}).NewLuaUserData(L)
}

// NewQueueConfigUserData returns a QueueConfig userdata for cfg.
func NewQueueConfigUserData(L *lua.LState, cfg *egress.QueueConfig) *lua.LUserData {
	return (&egressConfigObject{kind: queueConfigKind, typed: cfg}).NewLuaUserData(L)
}
