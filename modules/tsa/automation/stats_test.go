package automation

import (
	"context"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
)

const statsTOML = `
[[default.automation]]
regex = "go-away"
action = ["Suspend", {SetConfig={name="connection_limit", value=1}}]
duration = "1 hour"

[[default.automation]]
regex = ["thresh", "old"]
action = "Bounce"
trigger = {Threshold="2/s"}
duration = "1 hour"
`

func statOf(t *testing.T, stats []RuleStat, regex string) RuleStat {
	t.Helper()
	for _, s := range stats {
		if len(s.Regex) > 0 && s.Regex[0] == regex {
			return s
		}
	}
	t.Fatalf("no stats for rule %q in %+v", regex, stats)
	return RuleStat{}
}

func TestRuleStats(t *testing.T) {
	s := loadShaping(t, statsTOML)
	e := newEngine(t, s)
	now := at.Add(time.Minute)
	rec := func(content string, rcpts ...string) *logrecord.Record {
		over := map[string]any{"event_time": eventTime(at), "response": map[string]any{"code": 450, "content": content}}
		if len(rcpts) > 0 {
			over["recipient"] = rcpts
		}
		return record(t, over)
	}
	if got := e.RuleStats(now); len(got) != 2 || got[0].Hash >= got[1].Hash {
		t.Fatalf("idle stats %+v, want both rules sorted by hash", got)
	}
	idle := statOf(t, e.RuleStats(now), "go-away")
	if idle.Matches != 0 || len(idle.Actions) != 2 || idle.Actions["Suspend"] != 0 || idle.Actions["SetConfig"] != 0 {
		t.Errorf("idle rule %+v", idle)
	}

	// Two recipient domains: one match, each action applied per domain.
	_, errs := e.Process(context.Background(), now, []*logrecord.Record{
		rec("go-away", "a@one.example", "b@two.example"),
		rec("thresh"),         // counted below the limit: a match, no action
		rec("nothing to see"), // no match
		record(t, map[string]any{"event_time": eventTime(at.Add(-2 * time.Hour)), "response": map[string]any{"code": 450, "content": "go-away"}}), // stale: a match, no action
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	stats := e.RuleStats(now)
	g := statOf(t, stats, "go-away")
	if g.Matches != 2 || g.Actions["Suspend"] != 2 || g.Actions["SetConfig"] != 2 || g.ReadySuspensions != 1 || g.Overrides != 1 || g.Bounces != 0 {
		t.Errorf("go-away rule %+v", g)
	}
	th := statOf(t, stats, "thresh")
	if th.Matches != 1 || th.Actions["Bounce"] != 0 || th.Bounces != 0 || len(th.Regex) != 2 {
		t.Errorf("threshold rule %+v", th)
	}
	e.Process(context.Background(), now, []*logrecord.Record{rec("thresh")})
	if th := statOf(t, e.RuleStats(now), "thresh"); th.Matches != 2 || th.Actions["Bounce"] != 1 || th.Bounces != 1 {
		t.Errorf("threshold rule after firing %+v", th)
	}

	// Reloading the same rules keeps the counters (they are keyed by
	// rule hash).
	rs, err := Compile(loadShaping(t, statsTOML))
	if err != nil {
		t.Fatal(err)
	}
	e.SetRules(rs)
	if g := statOf(t, e.RuleStats(now), "go-away"); g.Matches != 2 || g.Actions["Suspend"] != 2 {
		t.Errorf("after reload %+v", g)
	}

	// A rule that left the rule set is reported while its entries are
	// active, and dropped after.
	rs, err = Compile(loadShaping(t, "[[default.automation]]\nregex = \"other\"\naction = \"Suspend\"\nduration = \"1 hour\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.SetRules(rs)
	stats = e.RuleStats(now)
	if len(stats) != 3 {
		t.Fatalf("stats after a rule change: %+v", stats)
	}
	if g := statOf(t, stats, "go-away"); g.Matches != 2 || g.ReadySuspensions != 1 {
		t.Errorf("removed rule with active entries %+v", g)
	}
	later := at.Add(2 * time.Hour)
	if stats := e.RuleStats(later); len(stats) != 1 || stats[0].Regex[0] != "other" {
		t.Errorf("stats once the old entries expired: %+v", stats)
	}
}
