package adminapi

import (
	"context"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo/admin"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

func TestMetricsLogHookStats(t *testing.T) {
	stats := loghook.Stats{
		Hooks:  map[string]loghook.HookStats{"h1": {Received: 9, Skipped: 1, Dropped: 2, Declined: 3, Enqueued: 3}},
		Queues: map[string]loghook.QueueStats{"h1": {Enqueued: 3, Delivered: 2, Transient: 4, Permanent: 1, Expired: 1, Queued: 1}},
	}
	api, err := New(Config{Registry: admin.New(), BumpEpoch: func() {}, LogHookStats: func() loghook.Stats { return stats }})
	if err != nil {
		t.Fatal(err)
	}
	l, err := httpapi.Listen(httpapi.ListenerParams{Listen: "127.0.0.1:0"}, api.Handler, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	code, body := do(t, "GET", "http://"+l.Addr+MetricsPath, "", "")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`kumopolicy_log_hook_received_total{hook="h1"} 9`,
		`kumopolicy_log_hook_skipped_total{hook="h1"} 1`,
		`kumopolicy_log_hook_dropped_total{hook="h1"} 2`,
		`kumopolicy_log_hook_declined_total{hook="h1"} 3`,
		`kumopolicy_log_hook_enqueued_total{hook="h1"} 3`,
		`kumopolicy_log_queue_delivered_total{queue="h1"} 2`,
		`kumopolicy_log_queue_transient_failures_total{queue="h1"} 4`,
		`kumopolicy_log_queue_permanent_failures_total{queue="h1"} 1`,
		`kumopolicy_log_queue_expired_total{queue="h1"} 1`,
		`kumopolicy_log_queue_queued{queue="h1"} 1`,
		"# TYPE kumopolicy_log_hook_received_total counter",
		"# TYPE kumopolicy_log_queue_queued gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
