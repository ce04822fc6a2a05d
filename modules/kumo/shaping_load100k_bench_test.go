package kumo_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// BenchmarkShapingParse100kDomains is the baseline for the 100,000-domain
// load: TOML parsing of the generated file alone.
func BenchmarkShapingParse100kDomains(b *testing.B) {
	_, data := generatedShaping(b, 100000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := shaping.ParseTOML(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShapingLoad100kDomains loads a generated file of 100,000
// mx_rollup domains with a cold cache: each iteration uses a fresh
// resolver, so all 100,000 MX lookups go to the loopback server. It reports
// the heap the loaded data retains per domain and how many of the MX
// results the resolver's cache still holds afterwards.
func BenchmarkShapingLoad100kDomains(b *testing.B) {
	const n = 100000
	path, _ := generatedShaping(b, n)
	srv := benchDNS(b)
	ctx := context.Background()
	var retained, cached float64
	b.ReportAllocs()
	for b.Loop() {
		r := srv.Resolver()
		env := shaping.DefaultEnv(kumo.ShapingDNS(r))
		b.StopTimer()
		runtime.GC()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		s, err := shaping.Load(ctx, []string{path}, shaping.DefaultOptions(), env)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cached = float64(r.Stats().MXEntries)
		r.PurgeCaches()
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(retained, "retained-B/domain")
	b.ReportMetric(cached, "mx-cached")
}
