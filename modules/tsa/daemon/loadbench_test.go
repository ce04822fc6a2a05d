package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/tsaload"
	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
)

// The load benchmarks of docs/BENCHMARKS.md. They run for about two
// minutes, so they only run when TSA_LOADBENCH=1:
//
//	TSA_LOADBENCH=1 go test -run 'TestLoadBench' -v -timeout 20m ./modules/tsa/daemon/
//
// TSA_LOADBENCH_ROUNDS (default 4) and TSA_LOADBENCH_SECONDS (default 3)
// size the interleaved throughput runs. The tests report figures and
// assert nothing about time.

func loadBenchEnabled(t *testing.T) {
	t.Helper()
	if os.Getenv("TSA_LOADBENCH") != "1" {
		t.Skip("load benchmark: set TSA_LOADBENCH=1 to run it (see docs/BENCHMARKS.md)")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchShaping is tsa-torture.js's target rule as the community
// shaping.toml has it (TSS04 for yahoo: Threshold 2/hr, Suspend), plus
// filler rules that other records would match: filler/3 providers with
// their own domain suffix and the rest in domain blocks (mx_rollup =
// false), three rules each.
func benchShaping(filler int, action, trigger string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[provider.\"yahoo\"]\nmatch = [{DomainSuffix = \".yahoo.com\"}, {DomainSuffix = \"yahoo.com\"}]\n\n")
	fmt.Fprintf(&b, "[[provider.\"yahoo\".automation]]\nregex = \"421 4\\\\.7\\\\.0 \\\\[TSS04\\\\]\"\ntrigger = %s\naction = %s\nduration = \"2 hours\"\n\n", trigger, action)
	for i := 0; i < filler; i++ {
		block := fmt.Sprintf("\"d%d.example\"", i/3)
		if i < filler/3 {
			block = fmt.Sprintf("provider.\"p%d\"", i/3)
			if i%3 == 0 {
				fmt.Fprintf(&b, "[%s]\nmatch = [{DomainSuffix = \".p%d.example\"}]\n\n", block, i/3)
			}
		} else if (i-filler/3)%3 == 0 {
			fmt.Fprintf(&b, "[%s]\nmx_rollup = false\n\n", block)
		}
		fmt.Fprintf(&b, "[[%s.automation]]\nregex = \"\\\\[XR%04d\\\\] deferred\"\ntrigger = {Threshold=\"5/hr\"}\naction = \"Suspend\"\nduration = \"1 hour\"\n\n", block, i)
	}
	return b.String()
}

func benchPolicy(t *testing.T, shapingText string) string {
	dir := t.TempDir()
	writeFile(t, dir, "shaping.toml", shapingText)
	return writeFile(t, dir, "tsa_init.lua", fmt.Sprintf(`
local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_init', function()
  tsa.start_http_listener { listen = '127.0.0.1:0' }
end)
kumo.on('tsa_load_shaping_data', function()
  return kumo.shaping.load { %q }
end)
`, filepath.Join(dir, "shaping.toml")))
}

// bareRecord is the record as a plain Go program would decode it.
type bareRecord struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Sender    string `json:"sender"`
	Recipient string `json:"recipient"`
	Queue     string `json:"queue"`
	Site      string `json:"site"`
	Size      int64  `json:"size"`
	Response  struct {
		Code         int `json:"code"`
		EnhancedCode *struct {
			Class   int `json:"class"`
			Subject int `json:"subject"`
			Detail  int `json:"detail"`
		} `json:"enhanced_code"`
		Content string  `json:"content"`
		Command *string `json:"command"`
	} `json:"response"`
	Timestamp            int64          `json:"timestamp"`
	Created              int64          `json:"created"`
	NumAttempts          int            `json:"num_attempts"`
	BounceClassification string         `json:"bounce_classification"`
	Meta                 map[string]any `json:"meta"`
	Headers              map[string]any `json:"headers"`
	NodeID               string         `json:"nodeid"`
}

// startBare serves the baseline: net/http and a handler that only decodes
// the JSON record (400 if it cannot) and answers 200 with an empty body.
func startBare(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec bareRecord
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/publish_log_v1"
}

// drain waits until every accepted record is processed.
func drain(t *testing.T, d *daemon.Daemon) {
	deadline := time.Now().Add(5 * time.Minute)
	for d.QueueDepth() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %d", d.QueueDepth())
		}
		time.Sleep(time.Millisecond)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minmax(v []float64) (float64, float64) {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// TestLoadBenchThroughput: 100 keep-alive clients posting the torture
// record to the bare decoder, the daemon with db path :memory: and the
// daemon with an on-disk db, interleaved.
func TestLoadBenchThroughput(t *testing.T) {
	loadBenchEnabled(t)
	rounds := envInt("TSA_LOADBENCH_ROUNDS", 4)
	secs := envInt("TSA_LOADBENCH_SECONDS", 3)
	text := benchShaping(9, `"Suspend"`, `{Threshold="2/hr"}`)
	mem := start(t, benchPolicy(t, text), daemon.Options{DBPath: ":memory:"})
	disk := start(t, benchPolicy(t, text), daemon.Options{DBPath: t.TempDir()})
	type target struct {
		name string
		url  string
		d    *daemon.Daemon
		rps  []float64 // answered 200 per second
		proc []float64 // processed per second (load + drain)
		p99  []time.Duration
	}
	targets := []*target{
		{name: "bare", url: startBare(t)},
		{name: "daemon :memory:", url: mem.base + "/publish_log_v1", d: mem.d},
		{name: "daemon on-disk", url: disk.base + "/publish_log_v1", d: disk.d},
	}
	for r := 0; r < rounds; r++ {
		for _, tg := range targets {
			runtime.GC()
			t0 := time.Now()
			res, err := tsaload.Run(context.Background(), tsaload.Config{URL: tg.url, Clients: 100, Duration: time.Duration(secs) * time.Second})
			if err != nil || res.Failures > 0 {
				t.Fatalf("%s: %v %v", tg.name, res, err)
			}
			proc := res.RPS()
			if tg.d != nil {
				drain(t, tg.d)
				proc = float64(res.Requests) / time.Since(t0).Seconds()
			}
			tg.rps = append(tg.rps, res.RPS())
			tg.proc = append(tg.proc, proc)
			tg.p99 = append(tg.p99, res.P99)
			t.Logf("round %d %-16s %s; processed %.0f/s", r+1, tg.name, res, proc)
		}
	}
	base := targets[0]
	for _, tg := range targets[1:] {
		var ratios, pratios []float64
		for i := range tg.rps {
			ratios = append(ratios, tg.rps[i]/base.rps[i])
			pratios = append(pratios, tg.proc[i]/base.rps[i])
		}
		lo, hi := minmax(ratios)
		plo, phi := minmax(pratios)
		t.Logf("%-16s answered: median %.0f/s vs bare %.0f/s = %.2fx (rounds %.2f-%.2f); processed: %.2fx (rounds %.2f-%.2f)",
			tg.name, median(tg.rps), median(base.rps), median(ratios), lo, hi, median(pratios), plo, phi)
	}
}

// TestLoadBenchWebsocketLatency: a subscriber on /subscribe_event_v1,
// every request with its own site (so every record makes a new ready-q
// suspension and one event), and the time from just before the POST to
// the event's arrival.
func TestLoadBenchWebsocketLatency(t *testing.T) {
	loadBenchEnabled(t)
	secs := envInt("TSA_LOADBENCH_SECONDS", 3)
	f := start(t, benchPolicy(t, benchShaping(9, `"Suspend"`, `"Immediate"`)), daemon.Options{DBPath: ":memory:"})
	for _, clients := range []int{1, 100} {
		const maxReq = 4_000_000
		sent := make([]atomic.Int64, maxReq)
		prefix := fmt.Sprintf("lat%d-", clients)
		ws := dial(t, f.base, daemon.SubscribeEventPath)
		var got atomic.Int64
		lat := make([]time.Duration, 0, 1<<20)
		readDone := make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			marker := `"site_name":"` + prefix
			for {
				_, b, err := ws.Read(ctx)
				if err != nil {
					readDone <- err
					return
				}
				now := time.Now()
				s := string(b)
				i := strings.Index(s, marker)
				if i < 0 {
					continue // the snapshot of an earlier round
				}
				s = s[i+len(marker):]
				n, err := strconv.Atoi(s[:strings.IndexByte(s, '"')])
				if err != nil || n >= maxReq {
					readDone <- fmt.Errorf("frame %q: %v", b, err)
					return
				}
				lat = append(lat, now.Sub(time.Unix(0, sent[n].Load())))
				got.Add(1)
			}
		}()
		res, err := tsaload.Run(context.Background(), tsaload.Config{
			URL: f.base + "/publish_log_v1", Clients: clients, Duration: time.Duration(secs) * time.Second, Count: maxReq,
			Body: func(seq int64, now time.Time) []byte {
				return tsaload.TortureRecord(now, prefix+strconv.FormatInt(seq, 10))
			},
			OnSent: func(seq int64, at time.Time) { sent[seq].Store(at.UnixNano()) },
		})
		if err != nil || res.Failures > 0 {
			t.Fatalf("%v %v", res, err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for got.Load() < res.Requests && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		rerr := <-readDone
		if got.Load() < res.Requests {
			t.Fatalf("%d events for %d records (%v)", got.Load(), res.Requests, rerr)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("%3d clients: %d records at %.0f/s, %d events: POST-to-event p50 %v p90 %v p99 %v max %v",
			clients, res.Requests, res.RPS(), len(lat), tsaload.Percentile(lat, 50), tsaload.Percentile(lat, 90),
			tsaload.Percentile(lat, 99), lat[len(lat)-1])
	}
}

func loadRules(t *testing.T, text string) *automation.Rules {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shaping.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := shaping.Load(context.Background(), []string{p}, shaping.DefaultOptions(), shaping.DefaultEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := automation.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func heapAfterGC() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestLoadBenchOverrideMemory: the heap after GC with 100,000 distinct
// active overrides (one SetConfig rule, records with 100,000 sites) in an
// engine against the same engine before.
func TestLoadBenchOverrideMemory(t *testing.T) {
	loadBenchEnabled(t)
	const n = 100_000
	rs := loadRules(t, benchShaping(9, `{SetConfig={name="max_message_rate", value="10/minute"}}`, `"Immediate"`))
	now := time.Now()
	e := automation.New(rs, nil)
	before := heapAfterGC()
	for b := 0; b < n; b += 1000 {
		batch := make([]*logrecord.Record, 0, 1000)
		for i := b; i < b+1000; i++ {
			rec, err := logrecord.ParseJSON(tsaload.TortureRecord(now, fmt.Sprintf("unspecified->mx%06d.am0.yahoodns.net", i)))
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, rec)
		}
		if _, errs := e.Process(context.Background(), now, batch); len(errs) > 0 {
			t.Fatal(errs)
		}
	}
	after := heapAfterGC()
	if got := len(e.Snapshot(now).OverridesOf()); got != n {
		t.Fatalf("%d overrides, want %d", got, n)
	}
	runtime.KeepAlive(e)
	t.Logf("%d overrides: heap %.1f MB before, %.1f MB after: %.1f MB per 100,000 (%.0f bytes each)",
		n, float64(before)/1e6, float64(after)/1e6, float64(after-before)/1e6*100_000/n, float64(after-before)/n)
}

// TestLoadBenchRuleCount: Engine.Process throughput on the torture record
// with 10 and with 1,000 rules loaded (the other rules in other provider
// and domain blocks), interleaved.
func TestLoadBenchRuleCount(t *testing.T) {
	loadBenchEnabled(t)
	rounds := envInt("TSA_LOADBENCH_ROUNDS", 4)
	now := time.Now()
	sets := []struct {
		name  string
		rules *automation.Rules
		rate  []float64
	}{
		{name: "10 rules", rules: loadRules(t, benchShaping(9, `"Suspend"`, `{Threshold="2/hr"}`))},
		{name: "1000 rules", rules: loadRules(t, benchShaping(999, `"Suspend"`, `{Threshold="2/hr"}`))},
		{name: "1000 rules, one block", rules: loadRules(t, oneBlockShaping(999))},
	}
	for i := range sets {
		if sets[i].rules.Len() != []int{10, 1000, 1000}[i] {
			t.Fatalf("%s: %d rules", sets[i].name, sets[i].rules.Len())
		}
	}
	batch := make([]*logrecord.Record, 1024)
	for i := range batch {
		rec, err := logrecord.ParseJSON(tsaload.TortureRecord(now, ""))
		if err != nil {
			t.Fatal(err)
		}
		batch[i] = rec
	}
	for r := 0; r < rounds*2; r++ {
		for i := range sets {
			e := automation.New(sets[i].rules, nil)
			runtime.GC()
			t0 := time.Now()
			var recs int
			for time.Since(t0) < time.Second {
				if _, errs := e.Process(context.Background(), now, batch); len(errs) > 0 {
					t.Fatal(errs)
				}
				recs += len(batch)
			}
			sets[i].rate = append(sets[i].rate, float64(recs)/time.Since(t0).Seconds())
		}
	}
	for _, s := range sets[1:] {
		var ratios []float64
		for i := range sets[0].rate {
			ratios = append(ratios, s.rate[i]/sets[0].rate[i])
		}
		lo, hi := minmax(ratios)
		t.Logf("Engine.Process, batches of 1024 torture records: %s %.0f records/s, %s %.0f records/s: %.2fx (rounds %.2f-%.2f)",
			sets[0].name, median(sets[0].rate), s.name, median(s.rate), median(ratios), lo, hi)
	}
}

// oneBlockShaping is the worst case for the index: the TSS04 rule and
// filler non-matching rules all in the yahoo provider, so every one is a
// candidate of the torture record.
func oneBlockShaping(filler int) string {
	var b strings.Builder
	b.WriteString(benchShaping(0, `"Suspend"`, `{Threshold="2/hr"}`))
	for i := 0; i < filler; i++ {
		fmt.Fprintf(&b, "[[provider.\"yahoo\".automation]]\nregex = \"\\\\[XR%04d\\\\] deferred\"\ntrigger = {Threshold=\"5/hr\"}\naction = \"Suspend\"\nduration = \"1 hour\"\n\n", i)
	}
	return b.String()
}
