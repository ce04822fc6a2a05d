package kumo

import (
	"fmt"
	"math"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/counterseries"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.counter_series.define{name=, num_buckets=, bucket_size=,
// initial_value=} returns a handle to a named rolling counter shared by
// every state of the runtime (see package counterseries):
//
//	series:increment(n)   series:delta(n)   series:observe(n)
//	series:sum()          series:sum_over(duration)

const counterSeriesMetaKey = "kumopolicy.kumo.CounterSeries"

// openCounterSeries installs kumo.counter_series.
func (svc *Services) openCounterSeries(s *luart.State, mod *lua.LTable) {
	L := s.L
	reg := svc.CounterSeries
	t := subTable(L, mod, "counter_series")
	t.RawSetString("define", L.NewFunction(func(L *lua.LState) int {
		return counterSeriesDefine(L, reg)
	}))
}

type counterSeriesParams struct {
	name       string
	numBuckets uint64
	bucketSize time.Duration
	initial    uint64
}

func decodeCounterSeriesParams(v any) (counterSeriesParams, error) {
	var p counterSeriesParams
	m, err := plain.AsMap(v, "struct CounterSeriesParams")
	if err != nil {
		return p, err
	}
	obj := plain.NewObject(m)
	for _, step := range []error{
		obj.Unknown([]string{"name", "num_buckets", "bucket_size", "initial_value"}),
		obj.Required("name", func(v any) (err error) { p.name, err = plain.DecodeString(v); return }),
		obj.Required("num_buckets", func(v any) (err error) { p.numBuckets, err = plain.DecodeUint(v, 64); return }),
		obj.Required("bucket_size", func(v any) (err error) { p.bucketSize, err = plain.DecodeDuration(v); return }),
		obj.Optional("initial_value", func(v any) (err error) { p.initial, err = plain.DecodeUint(v, 64); return }),
	} {
		if step != nil {
			return p, step
		}
	}
	return p, nil
}

func counterSeriesDefine(L *lua.LState, reg *counterseries.Registry) int {
	data, err := luart.ToGo(L.Get(1))
	if err != nil {
		raise(L, fmt.Errorf("kumo.counter_series.define: %v", err))
	}
	p, err := decodeCounterSeriesParams(data)
	if err != nil {
		raise(L, fmt.Errorf("kumo.counter_series.define: %v", err))
	}
	shape, err := counterseries.ShapeOf(p.numBuckets, p.bucketSize)
	if err != nil {
		raise(L, fmt.Errorf("kumo.counter_series.define: %v", err))
	}
	ud := L.NewUserData()
	ud.Value = reg.Define(p.name, shape, p.initial)
	L.SetMetatable(ud, counterSeriesMetatable(L))
	L.Push(ud)
	return 1
}

func counterSeriesMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(counterSeriesMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("CounterSeries"))
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"increment": func(L *lua.LState) int {
			s := checkCounterSeries(L, "increment")
			s.Increment(counterSeriesUint(L, "increment"))
			return 0
		},
		"delta": func(L *lua.LState) int {
			s := checkCounterSeries(L, "delta")
			s.Delta(counterSeriesInt(L, "delta"))
			return 0
		},
		"observe": func(L *lua.LState) int {
			s := checkCounterSeries(L, "observe")
			s.Observe(counterSeriesUint(L, "observe"))
			return 0
		},
		"sum": func(L *lua.LState) int {
			L.Push(lua.LNumber(checkCounterSeries(L, "sum").Sum()))
			return 1
		},
		"sum_over": func(L *lua.LState) int {
			s := checkCounterSeries(L, "sum_over")
			v, _ := luart.ToGo(L.Get(2))
			d, err := plain.DecodeDuration(v)
			if err != nil {
				raise(L, fmt.Errorf("counter_series:sum_over: %v", err))
			}
			L.Push(lua.LNumber(s.SumOver(d)))
			return 1
		},
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		s := checkCounterSeries(L, "__tostring")
		sh := s.Shape()
		L.Push(lua.LString(fmt.Sprintf("CounterSeries(%s, %d x %ds)", s.Name(), sh.NumBuckets, sh.BucketSeconds)))
		return 1
	}))
	L.G.Registry.RawSetString(counterSeriesMetaKey, mt)
	return mt
}

func checkCounterSeries(L *lua.LState, method string) *counterseries.Series {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if s, ok := ud.Value.(*counterseries.Series); ok {
			return s
		}
	}
	L.RaiseError("counter_series:%s: expected a CounterSeries as self (call it as series:%s(...))", method, method)
	return nil
}

func counterSeriesUint(L *lua.LState, method string) uint64 {
	v, _ := luart.ToGo(L.Get(2))
	n, err := plain.DecodeUint(v, 64)
	if err != nil {
		raise(L, fmt.Errorf("counter_series:%s: %v", method, err))
	}
	return n
}

func counterSeriesInt(L *lua.LState, method string) int64 {
	n, ok := L.Get(2).(lua.LNumber)
	f := float64(n)
	if !ok || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		L.RaiseError("counter_series:%s: expected a signed integer, got %s", method, plain.Describe(luaToGoOrNil(L.Get(2))))
	}
	return int64(f)
}

func luaToGoOrNil(v lua.LValue) any {
	g, err := luart.ToGo(v)
	if err != nil {
		return v.Type().String()
	}
	return g
}
