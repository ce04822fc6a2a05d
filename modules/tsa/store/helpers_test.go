package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
)

const rulesTOML = `
[[default.automation]]
regex = "tenant-me"
action = "SuspendTenant"
duration = "1 hour"

[[default.automation]]
regex = "bounce-campaign"
action = "BounceCampaign"
duration = "1 hour"

[[default.automation]]
regex = "bounce-me"
action = "Bounce"
duration = "1 hour"

[[default.automation]]
regex = "suspend-me"
action = "Suspend"
duration = "2 minutes"

[[default.automation]]
regex = "configure-me"
action = [{SetConfig={name="max_message_rate", value="3/m"}}, {SetDomainConfig={name="max_deliveries_per_connection", value=1}}, {SetConfig={name="additional_message_rate_throttles", value={zz="10/s", aa="5/m"}}}]
duration = "1 hour"

[[default.automation]]
regex = "counted"
action = "Suspend"
trigger = {Threshold="5/h"}
duration = "1 hour"
`

// at is the records' event time.
var at = time.Date(2026, 8, 4, 13, 41, 30, 440526026, time.UTC)

// compileRules loads rulesTOML with kumopolicy's own environment, no DNS.
func compileRules(dir string) (*automation.Rules, error) {
	p := filepath.Join(dir, "shaping.toml")
	if err := os.WriteFile(p, []byte(rulesTOML), 0o644); err != nil {
		return nil, err
	}
	s, err := shaping.Load(context.Background(), []string{p}, shaping.DefaultOptions(), shaping.DefaultEnv(nil))
	if err != nil {
		return nil, err
	}
	return automation.Compile(s)
}

func newEngine(t *testing.T) *automation.Engine {
	t.Helper()
	rs, err := compileRules(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return automation.New(rs, nil)
}

// newRecord is a TransientFailure at t with the given response text and
// queue.
func newRecord(t time.Time, content, queue string) (*logrecord.Record, error) {
	data, err := json.Marshal(map[string]any{
		"type": "TransientFailure", "id": "id1", "sender": "s@example.com",
		"recipient": "rcpt@foo.example", "queue": queue, "site": "unspecified->localhost@smtp_client", "size": 10,
		"response":  map[string]any{"code": 450, "content": content},
		"timestamp": 0, "created": 0, "num_attempts": 0, "bounce_classification": "Uncategorized",
		"meta": map[string]any{}, "headers": map[string]any{}, "nodeid": "557f3ad4-2c8c-11ee-976e-782d7e12e173",
		"event_time": t.Format(time.RFC3339Nano),
	})
	if err != nil {
		return nil, err
	}
	return logrecord.ParseJSON(data)
}

// populate gives e one entry of every kind, overrides with an integer, a
// string and an inline-table value, a short-lived ready-q suspension and
// a threshold counter that has not fired.
func populate(t *testing.T, e *automation.Engine) {
	t.Helper()
	var recs []*logrecord.Record
	for i, c := range []struct{ content, queue string }{
		{"tenant-me", "mycamp:mytenant@foo.example!localhost"},
		{"bounce-campaign", "mycamp:mytenant@foo.example"},
		{"bounce-me", "foo.example"},
		{"suspend-me", "foo.example"},
		{"configure-me", "foo.example"},
		{"counted", "foo.example"},
	} {
		r, err := newRecord(at, c.content, c.queue)
		if err != nil {
			t.Fatal(err)
		}
		r.ID = fmt.Sprint("id", i)
		recs = append(recs, r)
	}
	if _, errs := e.Process(context.Background(), at.Add(time.Second), recs); len(errs) != 0 {
		t.Fatalf("process: %v", errs)
	}
	s := e.Snapshot(at.Add(time.Second))
	if len(s.Ready) != 1 || len(s.Sched) != 1 || len(s.Bounces) != 2 || len(s.Overrides) != 3 || s.Counters != 1 {
		t.Fatalf("populate: %d ready, %d sched, %d bounces, %d overrides, %d counters",
			len(s.Ready), len(s.Sched), len(s.Bounces), len(s.Overrides), s.Counters)
	}
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
