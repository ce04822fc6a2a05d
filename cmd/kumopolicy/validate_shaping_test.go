package main

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// parseHumanBytes reads humanBytes' output back.
func parseHumanBytes(t *testing.T, s string) float64 {
	t.Helper()
	m := regexp.MustCompile(`^([\d.]+) (B|KiB|MiB|GiB)$`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("not a size: %q", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v * map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m[2]]
}

// validate-shaping's "approx memory used" is the heap the loaded data
// retains, not what loading allocated: with the collector held off during
// the command (so that every byte of garbage is still on the heap), the
// figure stays within a factor of 2 of the retained size measured the
// other way round, by dropping the loaded data and collecting.
func TestValidateShapingReportsRetainedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv := dnstest.New(t)
	srv.Fallback(func(name string, qtype uint16) []mdns.RR {
		if qtype != mdns.TypeMX {
			return nil
		}
		rr, _ := mdns.NewRR(fmt.Sprintf("%s 3600 IN MX 10 mx%d.provider.example.", name, len(name)%7))
		return []mdns.RR{rr}
	})
	var sb strings.Builder
	sb.WriteString("[default]\nconnection_limit = 10\n\n")
	for i := range 3000 {
		fmt.Fprintf(&sb, "[\"domain%05d.example\"]\nconnection_limit = %d\nmax_message_rate = \"%d/min\"\n", i, 1+i%20, 10+i%100)
	}
	file := writeFile(t, t.TempDir(), "many.toml", sb.String())

	// The retained size, measured independently: load, collect, drop the
	// loaded data, collect again.
	env := shaping.DefaultEnv(kumo.ShapingDNS(srv.Resolver()))
	s, err := shaping.Load(context.Background(), []string{file}, shaping.ValidateShapingOptions(), env)
	if err != nil {
		t.Fatal(err)
	}
	var with, without runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&with)
	runtime.KeepAlive(s)
	s = nil
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&without)
	retained := float64(with.HeapAlloc) - float64(without.HeapAlloc)
	if retained <= 0 {
		t.Fatalf("retained %v bytes", retained)
	}

	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	code, out, errs := runCLI("validate-shaping", "--resolver", srv.Addr, file)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	m := regexp.MustCompile(`INFO: approx memory used = (.*)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no memory figure in %q", out)
	}
	reported := parseHumanBytes(t, m[1])
	if reported < retained/2 || reported > retained*2 {
		t.Fatalf("reported %s, the loaded data retains %.1f MiB", m[1], retained/(1<<20))
	}
	t.Logf("reported %s; retained %.2f MiB", m[1], retained/(1<<20))
}

// heapRetainedBy counts what fn keeps, not the garbage it makes.
func TestHeapRetainedByCountsOnlyWhatIsKept(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var kept []byte
	var sink []byte
	got := heapRetainedBy(func() {
		for range 32 {
			sink = make([]byte, 1<<20)
		}
		kept = make([]byte, 4<<20)
		sink = nil
	})
	runtime.KeepAlive(kept)
	_ = sink
	if got < 4<<20 || got > 5<<20 {
		t.Fatalf("retained %d bytes, want about 4 MiB", got)
	}
}
