package luart

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Conversion between Lua values and plain Go data.
//
// Plain Go data is what encoding/json produces, with integers kept apart
// from floats: nil, bool, int64, float64, string, []any and map[string]any.
// gopher-lua has only float64 numbers, so a Lua number that is integral
// (and fits int64) converts to int64: `connection_limit = 10` stays 10, not
// 10.0, when it reaches JSON or TOML.

// GoValuer is implemented by the Go value of a userdata that can be
// converted to plain data (for example an egress path config object).
type GoValuer interface {
	LuaToGo() (any, error)
}

// ToGo converts a Lua value to plain Go data. A table whose keys are exactly
// 1..n becomes []any (as does an empty table marked as an array by ToLua);
// any other table becomes map[string]any with integer keys written in
// decimal. Functions, threads, cyclic tables, keys that are neither strings
// nor integers, and userdata that does not implement GoValuer are errors:
// *plain.Error values that locate the value ("a[3]: cannot convert a
// function value to data").
func ToGo(v lua.LValue) (any, error) {
	return toGo(v, map[*lua.LTable]bool{})
}

func toGo(v lua.LValue, seen map[*lua.LTable]bool) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		return NumberToGo(float64(x)), nil
	case lua.LString:
		return string(x), nil
	case *lua.LTable:
		return tableToGo(x, seen)
	case *lua.LUserData:
		if gv, ok := x.Value.(GoValuer); ok {
			return gv.LuaToGo()
		}
		return nil, &plain.Error{Msg: "cannot convert a userdata value to data"}
	case *lua.LFunction:
		return nil, &plain.Error{Msg: "cannot convert a function value to data"}
	default:
		return nil, &plain.Error{Msg: fmt.Sprintf("cannot convert a %s value to data", v.Type())}
	}
}

// NumberToGo returns int64 for integral numbers that fit, else float64.
func NumberToGo(f float64) any {
	if isInteger(f) {
		return int64(f)
	}
	return f
}

// Describe describes a Lua value for error messages exactly as
// plain.Describe describes what ToGo makes of it ("integer `5`", `string
// "x"`, "sequence", "map", "nil"), without converting tables; values that
// have no data form are named by their Lua type ("function", "userdata").
func Describe(v lua.LValue) string {
	switch x := v.(type) {
	case nil, *lua.LNilType:
		return plain.Describe(nil)
	case lua.LBool:
		return plain.Describe(bool(x))
	case lua.LNumber:
		return plain.Describe(NumberToGo(float64(x)))
	case lua.LString:
		return plain.Describe(string(x))
	case *lua.LTable:
		if sh := ShapeOf(x); sh.Sequence && sh.Count == sh.Len && (sh.Count > 0 || sh.Marked) {
			return plain.Describe([]any(nil))
		}
		return plain.Describe(map[string]any(nil))
	}
	return v.Type().String()
}

func tableToGo(t *lua.LTable, seen map[*lua.LTable]bool) (any, error) {
	if seen[t] {
		return nil, &plain.Error{Msg: "cannot convert a table that contains itself"}
	}
	seen[t] = true
	defer delete(seen, t)

	shape := ShapeOf(t)
	marked, isSeq, n, count := shape.Marked, shape.Sequence, shape.Len, shape.Count
	if count == 0 {
		if marked {
			return []any{}, nil
		}
		return map[string]any{}, nil
	}
	if isSeq && count == n {
		out := make([]any, n)
		for i := 1; i <= n; i++ {
			v, err := toGo(t.RawGetInt(i), seen)
			if err != nil {
				return nil, plain.AtIndex(err, i)
			}
			out[i-1] = v
		}
		return out, nil
	}
	out := make(map[string]any, count)
	var firstErr error
	t.ForEach(func(k, val lua.LValue) {
		if firstErr != nil {
			return
		}
		var key string
		switch kk := k.(type) {
		case lua.LString:
			key = string(kk)
		case lua.LNumber:
			if !isInteger(float64(kk)) {
				firstErr = &plain.Error{Msg: fmt.Sprintf("table key %s cannot be used as a key in a data table (keys must be strings or integers)", kk.String())}
				return
			}
			key = strconv.FormatInt(int64(kk), 10)
		default:
			firstErr = &plain.Error{Msg: fmt.Sprintf("table key %s cannot be used as a key in a data table (keys must be strings or integers)", k.String())}
			return
		}
		gv, err := toGo(val, seen)
		if err != nil {
			firstErr = plain.AtField(err, key)
			return
		}
		out[key] = gv
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// TableShape is how a Lua table converts to data: a sequence (JSON array)
// of Len elements, or an object of Count keys.
type TableShape struct {
	Marked   bool // carries the array metatable
	Sequence bool // converts to an array
	Len      int  // array length when Sequence (holes of marked arrays are nulls)
	Count    int  // number of keys (equals Len when Sequence)
}

// ShapeOf decides whether t converts to an array or an object: it is an
// array when its keys are exactly 1..n, or when it is marked as an array
// and every key is a positive integer (holes become nulls). An empty table
// is an array only when marked. ToGo and kumo.memoize's keys share this.
func ShapeOf(t *lua.LTable) TableShape {
	marked := isArrayMarked(t)
	n := t.Len()
	count, maxKey := 0, 0
	allInts := true
	t.ForEach(func(k, _ lua.LValue) {
		count++
		num, ok := k.(lua.LNumber)
		if !ok || float64(num) != math.Trunc(float64(num)) || num < 1 || num > 1<<31 {
			allInts = false
			return
		}
		maxKey = max(maxKey, int(num))
	})
	if marked && allInts {
		return TableShape{Marked: true, Sequence: true, Len: maxKey, Count: maxKey}
	}
	return TableShape{Sequence: allInts && maxKey == n && count > 0, Len: n, Count: count}
}

const (
	arrayMetaKey = "kumopolicy.luart.array_mt"
	// arrayMarkKey is set in the array metatable. It is not __name, so
	// tostring and %s still show "table: 0x...".
	arrayMarkKey = "__kumopolicy_array"
)

// ArrayMetatable returns the state's shared metatable that marks a table as
// a sequence, so that an empty one converts back to [] rather than {}.
//
// It is hidden from Lua as KumoMTA hides its own array marker:
// `__metatable = false` makes getmetatable() return false, so policy code
// (typing.lua's `if not getmetatable(v)`) sees a plain table, and
// setmetatable() on such a table raises "cannot change a protected
// metatable", as in KumoMTA. Go code must therefore look at the table's
// Metatable field (IsArrayMarked), never at L.GetMetatable.
func ArrayMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(arrayMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString(arrayMarkKey, lua.LTrue)
	mt.RawSetString("__metatable", lua.LFalse)
	L.G.Registry.RawSetString(arrayMetaKey, mt)
	return mt
}

// IsArrayMarked reports whether t carries the array metatable (see
// ArrayMetatable): it came from a JSON array or a Go slice.
func IsArrayMarked(t *lua.LTable) bool { return isArrayMarked(t) }

func isArrayMarked(t *lua.LTable) bool {
	mt, ok := t.Metatable.(*lua.LTable)
	if !ok {
		return false
	}
	return mt.RawGetString(arrayMarkKey) == lua.LTrue
}

// ToLua converts Go data to a fresh Lua value in L. Slices become sequences
// marked as arrays; maps with string keys become tables; integers and
// floats become numbers; time.Time becomes an RFC 3339 string; lua.LValue
// passes through. Other types are converted by reflection where they are
// maps, slices or basic kinds, and rendered with fmt otherwise.
func ToLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case lua.LValue:
		return x
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case uint64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case json.Number:
		f, _ := x.Float64()
		return lua.LNumber(f)
	case time.Time:
		return lua.LString(x.Format(time.RFC3339Nano))
	case []any:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			t.RawSetInt(i+1, ToLua(L, e))
		}
		L.SetMetatable(t, ArrayMetatable(L))
		return t
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, ToLua(L, e))
		}
		return t
	case *plain.Map:
		t := L.CreateTable(0, x.Len())
		for i := range x.Len() {
			k, e := x.At(i)
			t.RawSetString(k, ToLua(L, e))
		}
		return t
	case []string:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			t.RawSetInt(i+1, lua.LString(e))
		}
		L.SetMetatable(t, ArrayMetatable(L))
		return t
	}
	return reflectToLua(L, reflect.ValueOf(v))
}

func reflectToLua(L *lua.LState, rv reflect.Value) lua.LValue {
	switch rv.Kind() {
	case reflect.Invalid:
		return lua.LNil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return lua.LNil
		}
		return ToLua(L, rv.Elem().Interface())
	case reflect.Bool:
		return lua.LBool(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return lua.LNumber(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return lua.LNumber(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return lua.LNumber(rv.Float())
	case reflect.String:
		return lua.LString(rv.String())
	case reflect.Slice, reflect.Array:
		t := L.CreateTable(rv.Len(), 0)
		for i := 0; i < rv.Len(); i++ {
			t.RawSetInt(i+1, ToLua(L, rv.Index(i).Interface()))
		}
		L.SetMetatable(t, ArrayMetatable(L))
		return t
	case reflect.Map:
		t := L.CreateTable(0, rv.Len())
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			t.RawSet(ToLua(L, k.Interface()), ToLua(L, rv.MapIndex(k).Interface()))
		}
		return t
	}
	return lua.LString(fmt.Sprint(rv.Interface()))
}
