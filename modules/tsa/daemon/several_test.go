package daemon_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

const severalShaping = `
["default"]
[["default".automation]]
regex = "alpha refused"
action = ["Suspend", {SetConfig={name="max_message_rate", value="7/m"}}]
duration = "2 hours"

[["default".automation]]
regex = "beta tenant"
action = "SuspendTenant"
duration = "1 hour"

[["default".automation]]
regex = "gamma campaign"
action = "BounceCampaign"
duration = "90 minutes"

[["default".automation]]
regex = "delta counted"
action = "Suspend"
trigger = {Threshold="2/hr"}
duration = "1 hour"
`

// TestSeveralDaemonsSameRecordsSameState feeds two daemons, as two TSA
// hosts a kumod publishes to, the same records in the same order: with
// the same clock their three outputs are byte for byte the same.
func TestSeveralDaemonsSameRecordsSameState(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	var ds []*fixture
	for range 2 {
		dir := t.TempDir()
		policy := minimalPolicy(t, dir, `tsa.start_http_listener { listen = '127.0.0.1:0' }`)
		writeFile(t, dir, "shaping.toml", severalShaping)
		ds = append(ds, start(t, policy, daemon.Options{Now: clock}))
	}
	queue := func(rec []byte, q string) []byte {
		return []byte(strings.Replace(string(rec), `"queue":"example.com"`, `"queue":"`+q+`"`, 1))
	}
	records := [][]byte{
		record("TransientFailure", "alpha refused", 450, now.Add(-10*time.Minute)),
		record("TransientFailure", "alpha refused", 450, now.Add(-30*time.Minute)), // re-trigger, older
		queue(record("TransientFailure", "beta tenant", 450, now.Add(-5*time.Minute)), "tenant1@example.com"),
		queue(record("Bounce", "gamma campaign", 550, now.Add(-time.Minute)), "camp:tenant2@example.com"),
		record("TransientFailure", "delta counted", 450, now.Add(-20*time.Minute)),
		record("TransientFailure", "delta counted", 450, now.Add(-2*time.Hour)), // stale
		record("TransientFailure", "delta counted", 450, now.Add(-15*time.Minute)),
		record("TransientFailure", "nothing matches", 450, now),
	}
	for _, rec := range records {
		for _, f := range ds {
			if code, body, _ := do(t, http.MethodPost, f.base+httpapi.PublishPath, "application/json", rec); code != 200 {
				t.Fatalf("publish: %d %q", code, body)
			}
		}
	}
	for _, f := range ds {
		deadline := time.Now().Add(10 * time.Second)
		for f.d.QueueDepth() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := f.d.QueueDepth(); n > 0 {
			t.Fatalf("%d records still queued", n)
		}
	}
	for _, path := range []string{daemon.SuspendedPath, daemon.BouncedPath, daemon.ShapingPath} {
		a, b := get(t, ds[0].base+path), get(t, ds[1].base+path)
		if a != b {
			t.Errorf("%s differs:\n%s\n---\n%s", path, a, b)
		}
		for _, want := range map[string][]string{
			daemon.SuspendedPath: {"alpha refused", "beta tenant", `"tenant":"tenant1"`, "delta counted"},
			daemon.BouncedPath:   {"gamma campaign", `"campaign":"camp"`},
			daemon.ShapingPath:   {`max_message_rate = "7/m"`, "# Number of entries: 1\n"},
		}[path] {
			if !strings.Contains(a, want) {
				t.Errorf("%s lacks %q:\n%s", path, want, a)
			}
		}
	}
	// The older re-trigger, processed last, set the expiry: order matters.
	if s := get(t, ds[0].base+daemon.SuspendedPath); !strings.Contains(s, now.Add(-30*time.Minute+2*time.Hour).UTC().Format("2006-01-02T15:04:05Z")) {
		t.Errorf("alpha's expiry is not the last record's time + 2 hours:\n%s", s)
	}
}
