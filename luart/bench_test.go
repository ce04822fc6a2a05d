package luart_test

import (
	"context"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// The handler is the shape of a get_egress_path_config hook: a few table
// lookups and a small result table.
const benchPolicy = `
local kumo = require 'kumo'
local per_domain = { ['example.com'] = 10, ['gmail.com'] = 50 }
function hook(domain, source, site)
  return { connection_limit = per_domain[domain] or 5, source = source, site = site }
end
kumo.on('get_egress_path_config', hook)
`

// BenchmarkDispatchPool fires the event through the runtime's pool:
// acquire a state, dispatch, release.
func BenchmarkDispatchPool(b *testing.B) {
	rt, _ := newRT(b, benchPolicy, luart.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := rt.Call(ctx, func(s *luart.State) error {
			_, _, err := s.Fire(ctx, "get_egress_path_config", lua.LString("example.com"), lua.LString("src"), lua.LString("site"))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeldState calls the same Lua function on one state held by the
// benchmark, with no pool and no event bookkeeping: the baseline.
func BenchmarkHeldState(b *testing.B) {
	rt, _ := newRT(b, benchPolicy, luart.Options{})
	s, err := rt.NewStandaloneState()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	L := s.L
	fn := L.GetGlobal("hook")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		L.Push(fn)
		L.Push(lua.LString("example.com"))
		L.Push(lua.LString("src"))
		L.Push(lua.LString("site"))
		if err := L.PCall(3, lua.MultRet, nil); err != nil {
			b.Fatal(err)
		}
		L.SetTop(0)
	}
}

// BenchmarkDispatchPoolParallel measures the pool under contention from
// GOMAXPROCS goroutines.
func BenchmarkDispatchPoolParallel(b *testing.B) {
	rt, _ := newRT(b, benchPolicy, luart.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := rt.Call(ctx, func(s *luart.State) error {
				_, _, err := s.Fire(ctx, "get_egress_path_config", lua.LString("example.com"), lua.LString("src"), lua.LString("site"))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFireGo is the convenience API: Go arguments in, Go data out.
func BenchmarkFireGo(b *testing.B) {
	rt, _ := newRT(b, benchPolicy, luart.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := rt.Fire(ctx, "get_egress_path_config", "example.com", "src", "site"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStateBuild measures building a state (modules + policy) with the
// compiled-chunk cache warm.
func BenchmarkStateBuild(b *testing.B) {
	rt, _ := newRT(b, benchPolicy, luart.Options{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s, err := rt.NewStandaloneState()
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkPoolAcquireRelease is the pool alone: take a state, give it back.
func BenchmarkPoolAcquireRelease(b *testing.B) {
	rt, _ := newRT(b, benchPolicy, luart.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rt.Call(ctx, func(*luart.State) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
