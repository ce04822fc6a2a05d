package dns_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// generatedMX answers every name under bench.test with two MX hosts.
func generatedMX(name string, qtype uint16) []mdns.RR {
	if qtype != mdns.TypeMX || !strings.HasSuffix(name, ".bench.test.") {
		return nil
	}
	return []mdns.RR{
		&mdns.MX{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeMX, Class: mdns.ClassINET, Ttl: 300}, Preference: 10, Mx: "mx1.bench-provider.example."},
		&mdns.MX{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeMX, Class: mdns.ClassINET, Ttl: 300}, Preference: 20, Mx: "mx2.bench-provider.example."},
	}
}

func benchServer(b testing.TB) *dnstest.Server {
	srv := dnstest.New(b)
	srv.Fallback(generatedMX)
	return srv
}

// BenchmarkLookupMXCacheHit: the same domain, answered from the cache.
func BenchmarkLookupMXCacheHit(b *testing.B) {
	srv := benchServer(b)
	r := srv.Resolver()
	ctx := context.Background()
	if _, err := r.LookupMX(ctx, "hit.bench.test"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.LookupMX(ctx, "hit.bench.test"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupMXCacheMiss: a new domain every time, resolved through a
// UDP exchange with the loopback server.
func BenchmarkLookupMXCacheMiss(b *testing.B) {
	srv := benchServer(b)
	r := srv.Resolver()
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, err := r.LookupMX(ctx, fmt.Sprintf("d%d.bench.test", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// resolveMany resolves n distinct domains concurrently (one goroutine
// each, the resolver's concurrency limit bounding the queries) and returns
// the wall time, the peak heap above the starting point (live data plus
// garbage not yet collected; the in-process server's allocations count
// too) and the heap retained afterwards (essentially the cached results).
func resolveMany(tb testing.TB, srv *dnstest.Server, n int) (wall time.Duration, peak, retained uint64) {
	r := srv.Resolver()
	// The MX timeout covers the wait for a concurrency slot too: with n
	// lookups queued behind the limit on a loaded machine (-race, other
	// tests) the default 5 s would fail lookups that are only slow. This
	// measures the bound and the memory, not the latency.
	if err := r.SetMXTimeout(10 * time.Minute); err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()

	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peakSeen atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peakSeen.Load() {
				peakSeen.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mx, err := r.LookupMX(ctx, fmt.Sprintf("d%05d.bench.test", i))
			if err != nil || mx.SiteName != "(mx1|mx2).bench-provider.example" {
				if failed.Add(1) == 1 {
					tb.Errorf("d%05d: %v %v", i, mx, err)
				}
			}
		}()
	}
	wg.Wait()
	wall = time.Since(start)
	close(stop)
	<-sampled
	if f := failed.Load(); f > 0 {
		tb.Fatalf("%d of %d lookups failed", f, n)
	}
	if st := r.Stats(); st.MXMisses != uint64(n) || st.MXEntries != n {
		tb.Fatalf("stats %+v", st)
	}
	runtime.GC()
	metrics.Read(sample)
	after := sample[0].Value.Uint64()
	runtime.KeepAlive(r)
	p := max(peakSeen.Load(), base)
	return wall, p - base, max(after, base) - base
}

// TestResolve10000DistinctDomains resolves 10,000 domains at once; the
// server never sees more than the concurrency limit (128) at a time.
func TestResolve10000DistinctDomains(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv := benchServer(t)
	wall, peak, retained := resolveMany(t, srv, 10000)
	if p := srv.PeakInFlight(); p > dns.DefaultMXConcurrency {
		t.Fatalf("peak in flight %d > %d", p, dns.DefaultMXConcurrency)
	}
	t.Logf("10000 domains: wall %v, peak heap +%.1f MiB, retained +%.1f MiB, server peak in flight %d",
		wall, float64(peak)/(1<<20), float64(retained)/(1<<20), srv.PeakInFlight())
}

// BenchmarkResolve10000Domains reports, per run of 10,000 distinct domains
// resolved concurrently with the default limit of 128, the wall time and
// the peak heap growth.
func BenchmarkResolve10000Domains(b *testing.B) {
	srv := benchServer(b)
	var walls, peaks, kept float64
	runs := 0
	for b.Loop() {
		wall, peak, retained := resolveMany(b, srv, 10000)
		walls += wall.Seconds() * 1000
		peaks += float64(peak) / (1 << 20)
		kept += float64(retained) / (1 << 20)
		runs++
	}
	b.ReportMetric(walls/float64(runs), "wall-ms/10k")
	b.ReportMetric(peaks/float64(runs), "peak-heap-MiB")
	b.ReportMetric(kept/float64(runs), "retained-MiB")
}
