package kumo_test

import (
	"context"
	"fmt"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// benchDNS answers every name with one of 50 MX sets across 7 providers,
// so generated domains roll up into a realistic number of sites.
func benchDNS(tb testing.TB) *dnstest.Server {
	srv := dnstest.New(tb)
	srv.AddMX("gmail.com", 5, "gmail-smtp-in.l.google.com", 3600)
	srv.AddMX("gmail.com", 10, "alt1.gmail-smtp-in.l.google.com", 3600)
	srv.Fallback(func(name string, qtype uint16) []mdns.RR {
		if qtype != mdns.TypeMX {
			return nil
		}
		h := fnv.New32a()
		h.Write([]byte(name))
		n := h.Sum32()
		return []mdns.RR{&mdns.MX{
			Hdr:        mdns.RR_Header{Name: name, Rrtype: mdns.TypeMX, Class: mdns.ClassINET, Ttl: 3600},
			Preference: 10,
			Mx:         fmt.Sprintf("mx%d.provider%d.example.", n%50, n%7),
		}}
	})
	return srv
}

func upstreamShapingFiles(tb testing.TB) []string {
	var out []string
	for _, name := range []string{"policy-extras-shaping.toml", "community-shaping.toml"} {
		out = append(out, sharedref.UpstreamData(tb, name))
	}
	return out
}

// BenchmarkShapingParseUpstream is the baseline for loading KumoMTA's two
// shipped files: TOML parsing alone.
func BenchmarkShapingParseUpstream(b *testing.B) {
	files := upstreamShapingFiles(b)
	var data [][]byte
	for _, f := range files {
		d, _ := os.ReadFile(f)
		data = append(data, d)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, d := range data {
			if _, err := shaping.ParseTOML(d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkShapingLoadUpstream is a full kumo.shaping.load of the same two
// files: read, parse, MX pre-resolution (cached after the first pass, as
// in a running host), merge, validation of every block, checks.
func BenchmarkShapingLoadUpstream(b *testing.B) {
	files := upstreamShapingFiles(b)
	env := shaping.DefaultEnv(kumo.ShapingDNS(benchDNS(b).Resolver()))
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := shaping.Load(ctx, files, shaping.DefaultOptions(), env); err != nil {
			b.Fatal(err)
		}
	}
}

func generatedShaping(tb testing.TB, n int) (string, []byte) {
	var sb strings.Builder
	sb.WriteString("[default]\nconnection_limit = 10\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "[\"domain%05d.example\"]\nconnection_limit = %d\nmax_message_rate = \"%d/min\"\n", i, 1+i%20, 10+i%100)
		if i%10 == 0 {
			fmt.Fprintf(&sb, "[\"domain%05d.example\".sources.\"ip-%d\"]\nmax_deliveries_per_connection = 10\n", i, i%4)
		}
	}
	p := filepath.Join(tb.TempDir(), "generated.toml")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p, []byte(sb.String())
}

// BenchmarkShapingParse10kDomains is the baseline for the 10,000-domain
// load: TOML parsing of the generated file alone.
func BenchmarkShapingParse10kDomains(b *testing.B) {
	_, data := generatedShaping(b, 10000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := shaping.ParseTOML(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShapingLoad10kDomains loads a generated file of 10,000
// mx_rollup domains. Each iteration uses a fresh resolver, so all 10,000
// MX lookups go to the loopback server. It reports the heap the loaded
// data retains per domain.
func BenchmarkShapingLoad10kDomains(b *testing.B) {
	path, _ := generatedShaping(b, 10000)
	srv := benchDNS(b)
	ctx := context.Background()
	var retained float64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		env := shaping.DefaultEnv(kumo.ShapingDNS(srv.Resolver()))
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := shaping.Load(ctx, []string{path}, shaping.DefaultOptions(), env)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / 10000
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(retained, "retained-B/domain")
}

const resolveBenchPolicy = `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation { no_default_files = true, extra_files = FILES }
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`

// BenchmarkShapingResolveNative resolves gmail.com for a source natively:
// the layered merge with provider matching (MX from the resolver's cache).
func BenchmarkShapingResolveNative(b *testing.B) {
	files := upstreamShapingFiles(b)
	dns := kumo.ShapingDNS(benchDNS(b).Resolver())
	ctx := context.Background()
	s, err := shaping.Load(ctx, files, shaping.DefaultOptions(), shaping.DefaultEnv(dns))
	if err != nil {
		b.Fatal(err)
	}
	q := shaping.Query{Domain: "gmail.com", Source: "ip-1", Site: "(alt1)?.gmail-smtp-in.l.google.com"}
	s.Resolve(ctx, q, dns, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Resolve(ctx, q, dns, nil)
	}
}

// BenchmarkShapingResolveNativeWithDecode adds building the typed egress
// path config from the merged table, the native equivalent of the Lua
// hook's kumo.make_egress_path.
func BenchmarkShapingResolveNativeWithDecode(b *testing.B) {
	files := upstreamShapingFiles(b)
	dns := kumo.ShapingDNS(benchDNS(b).Resolver())
	ctx := context.Background()
	s, err := shaping.Load(ctx, files, shaping.DefaultOptions(), shaping.DefaultEnv(dns))
	if err != nil {
		b.Fatal(err)
	}
	q := shaping.Query{Domain: "gmail.com", Source: "ip-1", Site: "(alt1)?.gmail-smtp-in.l.google.com"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		params := s.Resolve(ctx, q, dns, nil)
		params.Set("refresh_strategy", "Epoch")
		if _, err := egress.DecodeEgressPathConfig(params.Plain(true)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShapingResolveLuaHook fires get_egress_path_config through a
// pooled state running the shaping helper: memoized data, the merge,
// refresh_strategy, kumo.make_egress_path.
func BenchmarkShapingResolveLuaHook(b *testing.B) {
	files := upstreamShapingFiles(b)
	srv := benchDNS(b)
	list := `{'` + strings.Join(files, `', '`) + `'}`
	rt, err := kumopolicy.New(kumopolicy.Config{
		Policy:       "bench.lua",
		PolicySource: []byte(strings.ReplaceAll(resolveBenchPolicy, "FILES", list)),
		SystemRoots:  []string{},
		Resolver:     []string{srv.Addr},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	ctx := context.Background()
	fire := func() {
		err := rt.Call(ctx, func(s *luart.State) error {
			out, _, err := s.Fire(ctx, "get_egress_path_config", lua.LString("gmail.com"), lua.LString("ip-1"), lua.LString("(alt1)?.gmail-smtp-in.l.google.com"))
			if err == nil {
				if _, ok := kumo.EgressPathFromLua(out[0]); !ok {
					err = fmt.Errorf("not an egress path: %v", out[0])
				}
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	fire()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fire()
	}
}
