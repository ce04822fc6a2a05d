package automation

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
)

const actionsTOML = `
[[default.automation]]
regex = "tenant-me"
action = "SuspendTenant"
duration = "1 hour"

[[default.automation]]
regex = "campaign-me"
action = "SuspendCampaign"
duration = "1 hour"

[[default.automation]]
regex = "bounce-me"
action = "Bounce"
duration = "1 hour"

[[default.automation]]
regex = "bounce-tenant"
action = "BounceTenant"
duration = "1 hour"

[[default.automation]]
regex = ["bounce-campaign", "other"]
action = "BounceCampaign"
duration = "1 hour"

[[default.automation]]
regex = "domain-config"
action = {SetDomainConfig={name="connection_limit", value=2}}
duration = "1 hour"

["delivery.example"]
mx_rollup = false

[["delivery.example".automation]]
regex = "OK ids="
action = "Suspend"
duration = "1 hour"
`

func TestActions(t *testing.T) {
	s := loadShaping(t, actionsTOML)
	camp, ten := "mycamp", "mytenant"
	tests := []struct {
		name, content, queue string
		sched                []SchedQSuspension
		bounces              []SchedQBounce
		err                  string
	}{
		{name: "SuspendTenant", content: "tenant-me", queue: "mycamp:mytenant@foo.example!localhost",
			sched: []SchedQSuspension{{Tenant: ten, Domain: "foo.example", Reason: "automation rule: tenant-me tenant=mytenant domain=foo.example"}}},
		{name: "SuspendCampaign", content: "campaign-me", queue: "mycamp:mytenant@foo.example!localhost",
			sched: []SchedQSuspension{{Tenant: ten, Domain: "foo.example", Campaign: &camp, Reason: "automation rule: campaign-me tenant=mytenant domain=foo.example campaign=mycamp"}}},
		{name: "SuspendCampaign without campaign", content: "campaign-me", queue: "mytenant@foo.example",
			sched: []SchedQSuspension{{Tenant: ten, Domain: "foo.example", Reason: "automation rule: campaign-me tenant=mytenant domain=foo.example"}}},
		{name: "SuspendTenant without tenant", content: "tenant-me", queue: "foo.example",
			err: "Cannot create tenant based SuspendTenant action because the incoming record queue foo.example has no tenant component"},
		{name: "Bounce with tenant", content: "bounce-me", queue: "mycamp:mytenant@foo.example",
			bounces: []SchedQBounce{{Domain: "foo.example", Tenant: &ten, Reason: "automation rule: bounce-me domain=foo.example tenant=mytenant"}}},
		{name: "Bounce without tenant", content: "bounce-me", queue: "foo.example!routing",
			bounces: []SchedQBounce{{Domain: "foo.example", Reason: "automation rule: bounce-me domain=foo.example"}}},
		{name: "BounceTenant", content: "bounce-tenant", queue: "mycamp:mytenant@foo.example",
			bounces: []SchedQBounce{{Domain: "foo.example", Tenant: &ten, Reason: "automation rule: bounce-tenant domain=foo.example tenant=mytenant"}}},
		{name: "BounceTenant without tenant", content: "bounce-tenant", queue: "foo.example",
			err: "Cannot create tenant based BounceTenant action because the incoming record queue foo.example has no tenant component"},
		{name: "BounceCampaign", content: "bounce-campaign", queue: "mycamp:mytenant@foo.example",
			bounces: []SchedQBounce{{Domain: "foo.example", Tenant: &ten, Campaign: &camp, Reason: "automation rule: (bounce-campaign,other) domain=foo.example tenant=mytenant campaign=mycamp"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, s)
			now := at.Add(time.Minute)
			rec := record(t, map[string]any{"event_time": eventTime(at), "queue": tc.queue,
				"response": map[string]any{"code": 450, "content": tc.content}})
			events, errs := e.Process(context.Background(), now, []*logrecord.Record{rec})
			if tc.err != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.err) {
					t.Fatalf("errors %v, want %q", errs, tc.err)
				}
			} else if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			snap := e.Snapshot(now)
			if len(snap.Ready) != 0 || len(snap.Overrides) != 0 {
				t.Errorf("unexpected ready/overrides: %+v", snap)
			}
			got := snap.SchedQ()
			if len(got) != len(tc.sched) {
				t.Fatalf("sched: %+v, want %+v", got, tc.sched)
			}
			for i, w := range tc.sched {
				g := got[i]
				if g.Tenant != w.Tenant || g.Domain != w.Domain || optStr(g.Campaign) != optStr(w.Campaign) || g.Reason != w.Reason || !g.Expires.Equal(at.Add(time.Hour)) {
					t.Errorf("sched[%d] = %+v, want %+v", i, g, w)
				}
				if !strings.HasPrefix(g.RuleHash, rec.Site+"-") || len(g.RuleHash) != len(rec.Site)+65 {
					t.Errorf("rule_hash %q", g.RuleHash)
				}
			}
			gotB := snap.BouncesOf()
			if len(gotB) != len(tc.bounces) {
				t.Fatalf("bounces: %+v, want %+v", gotB, tc.bounces)
			}
			for i, w := range tc.bounces {
				g := gotB[i]
				if g.Domain != w.Domain || optStr(g.Tenant) != optStr(w.Tenant) || optStr(g.Campaign) != optStr(w.Campaign) || g.Reason != w.Reason {
					t.Errorf("bounce[%d] = %+v, want %+v", i, g, w)
				}
			}
			if len(events) != len(tc.sched)+len(tc.bounces) {
				t.Errorf("%d events, want %d", len(events), len(tc.sched)+len(tc.bounces))
			}
		})
	}
}

func optStr(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return "=" + *s
}

// SetDomainConfig always writes mx_rollup=false, even from a default rule,
// and produces no event; a Delivery record to an mx_rollup=false domain
// matching "OK ids=" suspends (record types are not filtered).
func TestDomainConfigAndDelivery(t *testing.T) {
	e := newEngine(t, loadShaping(t, actionsTOML))
	now := at.Add(time.Minute)
	recs := []*logrecord.Record{
		record(t, map[string]any{"event_time": eventTime(at), "egress_source": "src1",
			"response": map[string]any{"code": 421, "content": "domain-config"}}),
		record(t, map[string]any{"type": "Delivery", "event_time": eventTime(at), "recipient": "a@delivery.example",
			"response": map[string]any{"code": 250, "content": "OK ids=1"}}),
		record(t, map[string]any{"type": "Delivery", "event_time": eventTime(at), "recipient": "a@other.example",
			"response": map[string]any{"code": 250, "content": "OK ids=1"}}),
	}
	events, errs := e.Process(context.Background(), now, recs)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	snap := e.Snapshot(now)
	if len(snap.Overrides) != 1 || snap.Overrides[0].Entry.MxRollup || snap.Overrides[0].Entry.Source != "src1" || snap.Overrides[0].Entry.Value != int64(2) {
		t.Errorf("overrides: %+v", snap.Overrides)
	}
	if len(snap.Ready) != 1 || len(events) != 1 || snap.Ready[0].Rule.Block != `"delivery.example"` {
		t.Errorf("ready %+v events %+v", snap.Ready, events)
	}
	if !strings.Contains(e.ShapingTOML(now), "mx_rollup = false\n") {
		t.Errorf("toml: %s", e.ShapingTOML(now))
	}
}

// A stale record (T + duration <= now) does nothing; a rule with a longer
// duration still applies.
func TestStale(t *testing.T) {
	e := newEngine(t, loadShaping(t, `
[[default.automation]]
regex = "x"
action = "Suspend"
duration = "1 hour"

[[default.automation]]
regex = "x"
action = {SetConfig={name="connection_limit", value=1}}
duration = "3 hours"
`))
	rec := record(t, map[string]any{"event_time": eventTime(at), "response": map[string]any{"code": 400, "content": "x"}})
	now := at.Add(2 * time.Hour)
	events, errs := e.Process(context.Background(), now, []*logrecord.Record{rec})
	snap := e.Snapshot(now)
	if len(errs) != 0 || len(events) != 0 || len(snap.Ready) != 0 || len(snap.Overrides) != 1 {
		t.Fatalf("events %v errs %v snapshot %+v", events, errs, snap)
	}
	// Exactly at expiry counts as stale too.
	e2 := newEngine(t, loadShaping(t, "[[default.automation]]\nregex = \"x\"\naction = \"Suspend\"\nduration = \"1 hour\"\n"))
	if ev, _ := e2.Process(context.Background(), at.Add(time.Hour), []*logrecord.Record{rec}); len(ev) != 0 {
		t.Errorf("record expiring exactly now fired: %v", ev)
	}
}

// The threshold window is the rule's duration (not the spec's period),
// counts >= limit, keyed by rule and full site, and fires again on every
// later match.
func TestThreshold(t *testing.T) {
	e := newEngine(t, loadShaping(t, `
[[default.automation]]
regex = "x"
action = "Suspend"
trigger = {Threshold="2/s"}
duration = "1 hour"
`))
	now := at.Add(time.Second)
	rec := func(ago time.Duration, site string) *logrecord.Record {
		return record(t, map[string]any{"event_time": eventTime(at.Add(-ago)), "site": site, "response": map[string]any{"code": 400, "content": "x"}})
	}
	fire := func(r *logrecord.Record) int {
		ev, errs := e.Process(context.Background(), now, []*logrecord.Record{r})
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		return len(ev)
	}
	if n := fire(rec(50*time.Minute, "a")); n != 0 {
		t.Fatalf("first event fired")
	}
	if n := fire(rec(0, "b")); n != 0 {
		t.Fatalf("another site's event counted")
	}
	// 50 minutes apart, far more than the 1 s period, but within the
	// 1 hour duration: fires.
	if n := fire(rec(0, "a")); n != 1 {
		t.Fatalf("second event in the window did not fire")
	}
	if n := fire(rec(time.Minute, "a")); n != 1 {
		t.Fatalf("third event did not fire again")
	}
	// The window includes its start second: an event whose whole second
	// is exactly now - duration still counts.
	edge := record(t, map[string]any{"event_time": eventTime(now.Add(-time.Hour + 100*time.Millisecond)), "site": "c", "response": map[string]any{"code": 400, "content": "x"}})
	if n := fire(edge); n != 0 {
		t.Fatalf("edge event fired alone")
	}
	if n := fire(rec(0, "c")); n != 1 {
		t.Fatalf("event at the window's first second was not counted")
	}
	if got := e.Snapshot(now).Counters; got != 3 {
		t.Errorf("%d counters, want 3", got)
	}
	if st := e.Prune(now.Add(time.Hour + 301*time.Second)); st.Counters != 3 || st.Ready != 2 {
		t.Errorf("prune: %+v", st)
	}
}

// Postmaster as first recipient disables all rules; a bad recipient is an
// error; a record with several recipients applies once per recipient.
func TestRecipients(t *testing.T) {
	s := loadShaping(t, "[[default.automation]]\nregex = \"x\"\naction = \"Suspend\"\nduration = \"1 hour\"\n")
	now := at.Add(time.Second)
	resp := map[string]any{"code": 400, "content": "x"}
	e := newEngine(t, s)
	ev, errs := e.Process(context.Background(), now, []*logrecord.Record{
		record(t, map[string]any{"event_time": eventTime(at), "response": resp, "recipient": []any{"Postmaster", "a@b.example"}}),
	})
	if len(ev) != 0 || len(errs) != 0 {
		t.Errorf("postmaster: %v %v", ev, errs)
	}
	ev, errs = e.Process(context.Background(), now, []*logrecord.Record{
		record(t, map[string]any{"event_time": eventTime(at), "response": resp, "recipient": []any{"a@b.example", "<c@D.Example>", "bad"}}),
	})
	if len(ev) != 2 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "parsing record.recipient") {
		t.Errorf("multi: %d events, errs %v", len(ev), errs)
	}
}

// Internal responses only match match_internal rules; the match text
// carries the code and enhanced code.
func TestMatchText(t *testing.T) {
	e := newEngine(t, loadShaping(t, `
[[default.automation]]
regex = "^451 4\\.7\\.1 try later$"
action = "Suspend"
duration = "1 hour"

[[default.automation]]
regex = "KumoMTA internal"
action = "Bounce"
duration = "1 hour"
match_internal = true

[[default.automation]]
regex = "KumoMTA internal"
action = "SuspendTenant"
duration = "1 hour"
`))
	now := at.Add(time.Second)
	ev, _ := e.Process(context.Background(), now, []*logrecord.Record{
		record(t, map[string]any{"event_time": eventTime(at), "response": map[string]any{"code": 451, "content": "try\r\nlater",
			"enhanced_code": map[string]any{"class": 4, "subject": 7, "detail": 1}}}),
		record(t, map[string]any{"event_time": eventTime(at), "queue": "t@d", "response": map[string]any{"code": 451, "content": "KumoMTA internal: failed"}}),
	})
	if len(ev) != 2 || ev[0].Kind != ReadyQEvent || ev[1].Kind != BounceEvent {
		t.Errorf("events: %+v", ev)
	}
}

// Providers are candidates through the suffix index; other providers'
// rules are never tested.
func TestProviderIndex(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "[provider.p%d]\nmatch = [{DomainSuffix = \".d%d.example\"}]\n[[provider.p%d.automation]]\nregex = \"x\"\naction = \"Suspend\"\nduration = \"%d minutes\"\n\n", i, i, i, i+1)
	}
	rs, err := Compile(loadShaping(t, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Len() != 200 {
		t.Fatalf("%d rules", rs.Len())
	}
	c := rs.candidates(context.Background(), "mx.d7.example", "site", nil)
	if len(c) != 1 || c[0].r.Duration != 8*time.Minute || c[0].rollup {
		t.Fatalf("candidates: %+v", c)
	}
	if c := rs.candidates(context.Background(), "d7.example", "site", nil); len(c) != 0 {
		t.Fatalf("suffix without the dot matched: %+v", c)
	}
}

// The engine is safe for concurrent batches, readers and rule swaps.
func TestConcurrent(t *testing.T) {
	s := loadShaping(t, actionsTOML+"\n[[default.automation]]\nregex = \"x\"\naction = [\"Suspend\", {SetConfig={name=\"connection_limit\", value=1}}]\ntrigger = {Threshold=\"2/h\"}\nduration = \"1 hour\"\n")
	e := newEngine(t, s)
	rs := e.Rules()
	now := at.Add(time.Second)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				rec := record(t, map[string]any{"event_time": eventTime(at), "site": fmt.Sprintf("s%d", i%5),
					"recipient": fmt.Sprintf("a@d%d.example", g), "response": map[string]any{"code": 400, "content": "x"}})
				e.Process(context.Background(), now, []*logrecord.Record{rec})
				e.Snapshot(now)
				e.ShapingTOML(now)
				e.SetRules(rs)
			}
		}()
	}
	wg.Wait()
	if n := len(e.Snapshot(now).Ready); n != 5 {
		t.Errorf("%d ready-q suspensions, want one per site (5)", n)
	}
}

// A threshold counter keeps at most limit times, and deciding with them
// gives exactly the answers of counting every event (the window only moves
// forward). Events arrive out of order, some stale, some future-dated.
func TestThresholdCounterIsBounded(t *testing.T) {
	e := newEngine(t, loadShaping(t, `
[[default.automation]]
regex = "x"
action = "Suspend"
trigger = {Threshold="3/s"}
duration = "10 minutes"
`))
	rng := rand.New(rand.NewPCG(1, 2))
	var all []int64 // every counted event time, for the reference answer
	now := at
	for i := 0; i < 2000; i++ {
		now = now.Add(time.Duration(rng.IntN(20)) * time.Second)
		evTime := now.Add(-time.Duration(rng.IntN(900)) * time.Second).Add(time.Duration(rng.IntN(5)) * time.Second)
		r := record(t, map[string]any{"event_time": eventTime(evTime), "site": "s", "response": map[string]any{"code": 400, "content": "x"}})
		ev, errs := e.Process(context.Background(), now, []*logrecord.Record{r})
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		if !evTime.Add(10 * time.Minute).After(now) {
			if len(ev) != 0 {
				t.Fatalf("event %d: a stale record fired", i)
			}
			continue // stale: not counted
		}
		all = append(all, evTime.Unix())
		in := 0
		for _, x := range all {
			if x >= now.Unix()-600 {
				in++
			}
		}
		if want := in >= 3; (len(ev) > 0) != want {
			t.Fatalf("event %d: fired %v, counting every event says %v", i, len(ev) > 0, want)
		}
		for _, c := range e.Export().Counters {
			if len(c.Times) > 3 {
				t.Fatalf("event %d: the counter keeps %d times, more than the limit", i, len(c.Times))
			}
		}
	}
}

// An egress_source of "" is that source; an absent or null one is
// "unspecified", whichever way the record was decoded.
func TestSourceOfEmptyAbsentNull(t *testing.T) {
	if got := sourceOf(record(t, map[string]any{"egress_source": ""})); got != "" {
		t.Errorf(`egress_source "": got %q`, got)
	}
	if got := sourceOf(record(t, nil)); got != "unspecified" {
		t.Errorf("absent egress_source: got %q", got)
	}
	null, err := logrecord.ParseJSON([]byte(`{"type":"Delivery","id":"i","sender":"s","recipient":"r","queue":"q",
"site":"x","size":1,"response":{"code":250,"content":"ok"},"timestamp":0,"created":0,"num_attempts":0,
"bounce_classification":"Uncategorized","meta":{},"headers":{},"nodeid":"557f3ad4-2c8c-11ee-976e-782d7e12e173","egress_source":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := sourceOf(null); got != "unspecified" {
		t.Errorf("null egress_source: got %q", got)
	}
	for _, v := range []any{"", "src1", nil} {
		rec := map[string]any{"type": "Delivery", "id": "i", "sender": "s", "recipient": "r", "queue": "q",
			"site": "x", "size": int64(1), "response": map[string]any{"code": int64(250), "content": "ok"},
			"timestamp": int64(0), "created": int64(0), "num_attempts": int64(0), "bounce_classification": "Uncategorized",
			"meta": map[string]any{}, "headers": map[string]any{}, "nodeid": "557f3ad4-2c8c-11ee-976e-782d7e12e173"}
		if v != nil {
			rec["egress_source"] = v
		}
		r, err := logrecord.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		want := "unspecified"
		if v != nil {
			want = v.(string)
		}
		if got := sourceOf(r); got != want {
			t.Errorf("Decode, egress_source %v: got %q, want %q", v, got, want)
		}
	}
}
