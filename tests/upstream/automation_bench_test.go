package upstream

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// BenchmarkPublishToSuspension measures, over the processes of
// TestAutomationEndToEnd, the time from posting a matching log record to
// the host's POST /api/log-record/v1 until the host's GET
// /api/admin/suspend-ready-q/v1 lists the suspension the daemon decided:
// host log-hook pipeline → publish queue → daemon → websocket → helper →
// admin registry. Each record is for a new site, posted once the previous
// one is visible and a further random pause of up to 3 s (KumoMTA's
// helper reads the websocket in 3 s batches: the pause spreads the posts
// over that window, as independent traffic would be). Run it once per
// variant, e.g.
//
//	go test -run XXX -bench PublishToSuspension -benchtime 40x ./tests/upstream/
//
// and read p50-ms and p99-ms.
func BenchmarkPublishToSuspension(b *testing.B) {
	for _, v := range helperVariants() {
		b.Run(v.name, func(b *testing.B) {
			e := newE2E(b, v)
			e.postToHost(e2eRecord("TransientFailure", "warmup.e2e.example", "you said 450-go-away"))
			e.waitSuspension("mx.warmup.e2e.example", "")
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				domain := fmt.Sprintf("b%d.bench.e2e.example", i)
				rec := e2eRecord("TransientFailure", domain, "you said 450-go-away")
				b.StopTimer()
				time.Sleep(rand.N(3 * time.Second))
				b.StartTimer()
				start := time.Now()
				e.postToHost(rec)
				for len(e.suspensions("mx."+domain+"@")) == 0 {
					if time.Since(start) > 90*time.Second {
						b.Fatalf("record %d: no suspension after 90s", i)
					}
					time.Sleep(time.Millisecond)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(0), "min-ms")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
