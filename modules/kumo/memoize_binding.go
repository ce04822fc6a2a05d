package kumo

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/memoize"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.memoize(FUNC, PARAMS).
//
// The caches live in a memoize.Registry shared by every state of the
// runtime (Services.Memoize); only Go data is stored in them. A result is
// frozen into an immutable memoValue when it is stored, and every hit builds
// a fresh, real Lua table from it in the caller's state. Mutating what a
// hit returned therefore never affects other callers, and pairs/ipairs
// work on it (upstream returns a read-mostly proxy userdata instead).
//
// Cache keys are the compact JSON of the arguments with object keys
// sorted: zero arguments are `null`, one is that value, several are an
// array; explicit trailing nils count. gopher-lua has only float64 numbers,
// so f(1) and f(1.0) share a key here (KumoMTA's Lua 5.4 keeps integers and
// floats apart).

// Memoizable is implemented by the Go value (LUserData.Value) of a userdata
// that kumo.memoize may cache: kumopolicy's counterpart of KumoMTA's
// `__memoize` metamethod. A userdata whose value does not implement it
// cannot be a memoized result.
type Memoizable interface {
	// MemoizeValue returns what the cache stores. Every Lua state that hits
	// the entry shares it, so it must be immutable or safe for concurrent
	// use. Typically it is the receiver itself: no data is copied.
	MemoizeValue() MemoizedUserData
}

// MemoizedUserData is a cached userdata's shared Go object. On every cache
// hit NewLuaUserData wraps it in a new userdata of the calling state, with
// that state's metatable, for example:
//
//	func (s *Shaping) MemoizeValue() kumo.MemoizedUserData { return s }
//	func (s *Shaping) NewLuaUserData(L *lua.LState) *lua.LUserData {
//		ud := L.NewUserData()
//		ud.Value = s
//		L.SetMetatable(ud, shapingMetatable(L))
//		return ud
//	}
type MemoizedUserData interface {
	NewLuaUserData(L *lua.LState) *lua.LUserData
}

// openMemoize installs kumo.memoize.
func (svc *Services) openMemoize(s *luart.State, mod *lua.LTable) {
	reg := svc.Memoize
	mod.RawSetString("memoize", s.L.NewFunction(func(L *lua.LState) int {
		return kumoMemoize(L, reg)
	}))
}

func kumoMemoize(L *lua.LState, reg *memoize.Registry) int {
	fn := L.CheckFunction(1)
	data, err := luart.ToGo(L.Get(2))
	if err != nil {
		raise(L, fmt.Errorf("deserialize error: %v, while processing a value that cannot be represented as data", err))
	}
	params, err := memoize.DecodeParams(data)
	if err != nil {
		raise(L, deserializeError(err, data))
	}
	if _, err := reg.Define(params); err != nil {
		raise(L, err)
	}
	L.Push(L.NewFunction(memoizeWrapper(reg, params.Name, fn)))
	return 1
}

// memoizeLuaError is a population that raised a Lua error. Its text is the
// error as Lua's tostring shows it (position included); it is what cached
// errors report to later callers in any state.
type memoizeLuaError struct{ msg string }

func (e *memoizeLuaError) Error() string { return e.msg }

// memoizeWrapper builds the memoized function. It resolves the cache by name
// on every call (like KumoMTA, it follows a redefinition of the name) and
// calls fn in the calling state, with the original arguments, on a miss.
func memoizeWrapper(reg *memoize.Registry, name string, fn *lua.LFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		nargs := L.GetTop()
		key, err := memoizeKey(L, nargs)
		if err != nil {
			raise(L, err)
		}
		cache := reg.Lookup(name)
		if cache == nil {
			raise(L, fmt.Errorf("memoize cache `%s` is not defined", name))
		}

		// The error object of a population run by this very call, which is
		// re-raised as is (a cached error is only its text).
		var ownErr error
		var ownObj lua.LValue
		v, err := cache.Get(luart.StateOf(L).Context(), key, func() (any, error) {
			stored, obj, err := memoizeCall(L, fn, nargs)
			if err != nil {
				if obj != nil {
					ownErr, ownObj = err, obj
				}
				return nil, err
			}
			return stored, nil
		})
		if err != nil {
			var le *memoizeLuaError
			switch {
			case ownErr != nil && err == ownErr:
				L.Error(ownObj, 0)
			case errors.As(err, &le):
				L.Error(lua.LString(le.msg), 0)
			default:
				raise(L, err)
			}
		}
		if mv, ok := v.(*memoValue); ok {
			L.Push(mv.lua(L))
		} else {
			L.Push(luart.ToLua(L, v)) // plain Go data stored by Go code
		}
		return 1
	}
}

// memoizeCall calls fn with the nargs arguments at the bottom of L's stack
// and freezes its results. A Lua error comes back with its error object.
func memoizeCall(L *lua.LState, fn *lua.LFunction, nargs int) (*memoValue, lua.LValue, error) {
	base := L.GetTop()
	L.Push(fn)
	for i := 1; i <= nargs; i++ {
		L.Push(L.Get(i))
	}
	if err := L.PCall(nargs, lua.MultRet, nil); err != nil {
		L.SetTop(base)
		var api *lua.ApiError
		if errors.As(err, &api) && api.Object != nil {
			return nil, api.Object, &memoizeLuaError{msg: memoizeErrorText(api.Object)}
		}
		return nil, nil, err
	}
	defer L.SetTop(base)
	switch n := L.GetTop() - base; n {
	case 0:
		return &memoValue{scalar: lua.LNil}, nil, nil
	case 1:
		v, err := memoFreeze(L.Get(base+1), nil)
		if err != nil {
			return nil, nil, err
		}
		return &v, nil, nil
	default:
		// Several results come back as one plain array table.
		t := &memoTable{array: make([]memoValue, n)}
		for i := 0; i < n; i++ {
			v, err := memoFreeze(L.Get(base+1+i), nil)
			if err != nil {
				return nil, nil, err
			}
			t.array[i] = v
		}
		return &memoValue{table: t}, nil, nil
	}
}

// memoizeErrorText renders a Lua error value as tostring would.
func memoizeErrorText(obj lua.LValue) string {
	switch x := obj.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return formatNumber(float64(x))
	case *lua.LUserData:
		if e, ok := x.Value.(error); ok {
			return e.Error()
		}
	}
	return obj.String()
}

// memoValue is the frozen, state-independent form of one Lua value. Exactly
// one field is set. It is never modified after it is built, so any number
// of goroutines may materialise it at once.
type memoValue struct {
	scalar lua.LValue       // nil, boolean, number or string: immutable
	table  *memoTable       // a table
	ud     MemoizedUserData // a userdata that opted in
}

// memoTable is a frozen table, laid out so that materialising it is a
// preallocated table and one raw set per field.
type memoTable struct {
	array       []memoValue // values of keys 1..len(array)
	strKeys     []string    // sorted
	strVals     []memoValue
	intKeys     []int // integer keys outside 1..len(array)
	intVals     []memoValue
	arrayMarked bool // had luart's array metatable (empty JSON arrays)
}

func (v *memoValue) lua(L *lua.LState) lua.LValue {
	switch {
	case v.scalar != nil:
		return v.scalar
	case v.table != nil:
		return v.table.lua(L)
	default:
		return v.ud.NewLuaUserData(L)
	}
}

func (t *memoTable) lua(L *lua.LState) lua.LValue {
	out := L.CreateTable(len(t.array), len(t.strKeys)+len(t.intKeys))
	for i := range t.array {
		out.RawSetInt(i+1, t.array[i].lua(L))
	}
	for i, k := range t.strKeys {
		out.RawSetString(k, t.strVals[i].lua(L))
	}
	for i, k := range t.intKeys {
		out.RawSetInt(k, t.intVals[i].lua(L))
	}
	if t.arrayMarked {
		out.Metatable = luart.ArrayMetatable(L)
	}
	return out
}

// memoFreeze converts a result value to its stored form.
// inProgress holds the tables being frozen, to refuse cycles.
func memoFreeze(v lua.LValue, inProgress []*lua.LTable) (memoValue, error) {
	switch x := v.(type) {
	case *lua.LNilType, lua.LBool, lua.LNumber, lua.LString:
		return memoValue{scalar: x}, nil
	case *lua.LTable:
		for _, t := range inProgress {
			if t == x {
				return memoValue{}, errors.New("cannot memoize a table that contains itself")
			}
		}
		t, err := memoFreezeTable(x, append(inProgress, x))
		if err != nil {
			return memoValue{}, err
		}
		return memoValue{table: t}, nil
	case *lua.LUserData:
		m, ok := x.Value.(Memoizable)
		if !ok {
			return memoValue{}, fmt.Errorf("cannot memoize a userdata value (%s): it does not support memoization", memoUserDataName(x))
		}
		mv := m.MemoizeValue()
		if mv == nil {
			return memoValue{}, fmt.Errorf("cannot memoize a userdata value (%s): it has no memoizable form", memoUserDataName(x))
		}
		return memoValue{ud: mv}, nil
	default:
		return memoValue{}, fmt.Errorf("cannot memoize a %s value", v.Type())
	}
}

func memoUserDataName(ud *lua.LUserData) string {
	if mt, ok := ud.Metatable.(*lua.LTable); ok {
		if name, ok := mt.RawGetString("__name").(lua.LString); ok {
			return string(name)
		}
	}
	return fmt.Sprintf("%T", ud.Value)
}

func memoFreezeTable(src *lua.LTable, inProgress []*lua.LTable) (*memoTable, error) {
	type kv struct {
		key lua.LValue
		val lua.LValue
	}
	var ints []int
	intVals := map[int]lua.LValue{}
	var strs []kv
	var keyErr error
	src.ForEach(func(k, v lua.LValue) {
		if keyErr != nil {
			return
		}
		switch kk := k.(type) {
		case lua.LString:
			strs = append(strs, kv{kk, v})
			return
		case lua.LNumber:
			f := float64(kk)
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				ints = append(ints, int(f))
				intVals[int(f)] = v
				return
			}
		}
		keyErr = fmt.Errorf("table key %s cannot be used as a key in a memoizable table", memoDebugValue(k))
	})
	if keyErr != nil {
		return nil, keyErr
	}
	sort.Ints(ints)
	sort.Slice(strs, func(i, j int) bool { return strs[i].key.(lua.LString) < strs[j].key.(lua.LString) })

	out := &memoTable{arrayMarked: luart.IsArrayMarked(src)}
	n := 0
	for n < len(ints) && ints[n] == n+1 {
		n++
	}
	var err error
	if n > 0 {
		out.array = make([]memoValue, n)
		for i := 0; i < n; i++ {
			if out.array[i], err = memoFreeze(intVals[i+1], inProgress); err != nil {
				return nil, err
			}
		}
	}
	if rest := ints[n:]; len(rest) > 0 {
		out.intKeys = rest
		out.intVals = make([]memoValue, len(rest))
		for i, k := range rest {
			if out.intVals[i], err = memoFreeze(intVals[k], inProgress); err != nil {
				return nil, err
			}
		}
	}
	if len(strs) > 0 {
		out.strKeys = make([]string, len(strs))
		out.strVals = make([]memoValue, len(strs))
		for i, e := range strs {
			out.strKeys[i] = string(e.key.(lua.LString))
			if out.strVals[i], err = memoFreeze(e.val, inProgress); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// memoDebugValue renders a Lua value the way mlua's Debug does in
// KumoMTA's messages: Boolean(true), Number(1.5), Table(Ref(0x...)).
func memoDebugValue(v lua.LValue) string {
	switch x := v.(type) {
	case lua.LBool:
		return fmt.Sprintf("Boolean(%v)", bool(x))
	case lua.LNumber:
		return "Number(" + x.String() + ")"
	case lua.LString:
		return fmt.Sprintf("String(%q)", string(x))
	case *lua.LNilType:
		return "Nil"
	}
	ref := v.String()
	if i := strings.LastIndex(ref, ": "); i >= 0 {
		ref = ref[i+2:]
	}
	name := v.Type().String()
	switch v.Type() {
	case lua.LTTable:
		name = "Table"
	case lua.LTFunction:
		name = "Function"
	case lua.LTUserData:
		name = "UserData"
	case lua.LTThread:
		name = "Thread"
	}
	return fmt.Sprintf("%s(Ref(%s))", name, ref)
}

// memoizeKey builds the cache key of a call from its nargs arguments.
func memoizeKey(L *lua.LState, nargs int) (string, error) {
	bp := keyBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			keyBuffers.Put(bp)
		}
	}()
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0] }()
	var err error
	switch nargs {
	case 0:
		return "null", nil
	case 1:
		buf, err = memoAppendKey(buf, L.Get(1), nil)
		if err != nil {
			return "", fmt.Errorf("cannot use the argument as a memoize key: %w", err)
		}
	default:
		buf = append(buf, '[')
		for i := 1; i <= nargs; i++ {
			if i > 1 {
				buf = append(buf, ',')
			}
			buf, err = memoAppendKey(buf, L.Get(i), nil)
			if err != nil {
				return "", fmt.Errorf("cannot use argument %d as a memoize key: %w", i, err)
			}
		}
		buf = append(buf, ']')
	}
	return string(buf), nil
}

// keyBuffers hold the buffers keys are built in: a key is built on every
// call of a memoized function, hit or miss.
var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// memoAppendKey appends the compact JSON of v, with object keys sorted. A
// table whose keys are exactly 1..n is an array, an empty table is {} (or
// [] when marked as an array), other tables are objects whose integer keys
// are written in decimal. Strings are escaped so that distinct byte strings
// give distinct keys: invalid UTF-8 bytes become \u00XX escapes, which no
// valid character is written as.
func memoAppendKey(b []byte, v lua.LValue, inProgress []*lua.LTable) ([]byte, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return append(b, "null"...), nil
	case lua.LBool:
		return strconv.AppendBool(b, bool(x)), nil
	case lua.LNumber:
		return memoAppendNumber(b, float64(x)), nil
	case lua.LString:
		return memoAppendString(b, string(x)), nil
	case *lua.LTable:
		for _, t := range inProgress {
			if t == x {
				return nil, errors.New("a table that contains itself cannot be converted to JSON")
			}
		}
		return memoAppendTable(b, x, append(inProgress, x))
	case *lua.LUserData:
		if gv, ok := x.Value.(luart.GoValuer); ok {
			g, err := gv.LuaToGo()
			if err != nil {
				return nil, err
			}
			return plain.AppendJSON(b, g, memoKeyJSON)
		}
		return nil, fmt.Errorf("a userdata value (%s) cannot be converted to JSON", memoUserDataName(x))
	default:
		return nil, fmt.Errorf("a %s value cannot be converted to JSON", v.Type())
	}
}

// memoKeyJSON is how keys write values: NaN and infinities as null (as
// serde_json's Value does), invalid UTF-8 bytes as \u00XX escapes, so that
// distinct byte strings give distinct keys.
var memoKeyJSON = plain.JSONOptions{NonFiniteNull: true, EscapeBytes: true}

func memoAppendNumber(b []byte, f float64) []byte {
	b, _ = plain.AppendJSONNumber(b, f, memoKeyJSON)
	return b
}

func memoAppendString(b []byte, s string) []byte {
	return plain.AppendJSONString(b, s)
}

func memoAppendTable(b []byte, t *lua.LTable, inProgress []*lua.LTable) ([]byte, error) {
	// The same array/object decision as luart.ToGo.
	shape := luart.ShapeOf(t)
	marked, seq, n, count := shape.Marked, shape.Sequence, shape.Len, shape.Count
	var err error
	switch {
	case count == 0:
		if marked {
			return append(b, "[]"...), nil
		}
		return append(b, "{}"...), nil
	case seq && count == n:
		b = append(b, '[')
		for i := 1; i <= n; i++ {
			if i > 1 {
				b = append(b, ',')
			}
			if b, err = memoAppendKey(b, t.RawGetInt(i), inProgress); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	type field struct {
		name  string
		isInt bool
		val   lua.LValue
	}
	fields := make([]field, 0, count)
	var keyErr error
	t.ForEach(func(k, v lua.LValue) {
		switch kk := k.(type) {
		case lua.LString:
			fields = append(fields, field{string(kk), false, v})
			return
		case lua.LNumber:
			if f := float64(kk); f == math.Trunc(f) {
				fields = append(fields, field{string(memoAppendNumber(nil, f)), true, v})
				return
			}
		}
		if keyErr == nil {
			keyErr = fmt.Errorf("table key %s cannot be converted to a JSON object key", memoDebugValue(k))
		}
	})
	if keyErr != nil {
		return nil, keyErr
	}
	sort.Slice(fields, func(i, j int) bool {
		if fields[i].name != fields[j].name {
			return fields[i].name < fields[j].name
		}
		return fields[i].isInt && !fields[j].isInt
	})
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = memoAppendString(b, f.name)
		b = append(b, ':')
		if b, err = memoAppendKey(b, f.val, inProgress); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}
