package automation

import (
	"encoding/hex"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// ruleStats keeps per-rule activity counters, keyed by rule hash, so they
// carry over when the rule set is reloaded with the same rule (the daemon
// recompiles its rules every 30 s). Counting is lock-free: one map load
// and one atomic add per match or fired action.
type ruleStats struct {
	m sync.Map // [32]byte -> *ruleCounters
}

type ruleCounters struct {
	matches atomic.Uint64
	kinds   []string        // action kind per action index
	actions []atomic.Uint64 // actions fired, per action index
}

func (s *ruleStats) of(r *rule) *ruleCounters {
	if v, ok := s.m.Load(r.hash); ok {
		return v.(*ruleCounters)
	}
	c := &ruleCounters{kinds: make([]string, len(r.r.Actions)), actions: make([]atomic.Uint64, len(r.r.Actions))}
	for i, a := range r.r.Actions {
		c.kinds[i] = string(a.Kind)
	}
	v, _ := s.m.LoadOrStore(r.hash, c)
	return v.(*ruleCounters)
}

// matched counts a record whose response matched r.
func (s *ruleStats) matched(r *rule) { s.of(r).matches.Add(1) }

// fired counts action i of r applied once (for one recipient domain).
func (s *ruleStats) fired(r *rule, i int) {
	c := s.of(r)
	if i < len(c.actions) {
		c.actions[i].Add(1)
	}
}

// RuleStat is the activity of one rule, for the daemon's metrics.
type RuleStat struct {
	// Hash is the rule hash (64 lowercase hex), Regex its patterns.
	Hash  string
	Regex []string
	// Matches counts the records whose response matched the rule (among
	// its candidates), whether or not it then fired: stale records and
	// threshold counts below the limit included.
	Matches uint64
	// Actions counts the actions applied, by kind ("Suspend",
	// "SetConfig", ...), once per recipient domain of a record that made
	// the rule fire. Every kind of the rule's actions is present.
	Actions map[string]uint64
	// The state entries the rule produced that are active now:
	// ready-queue and scheduled-queue suspensions, bounces, and
	// configuration overrides.
	ReadySuspensions int
	SchedSuspensions int
	Bounces          int
	Overrides        int
}

// RuleStats reports the rules of the current rule set (each distinct rule
// hash once, whether or not it was ever active) and the rules no longer in
// it that still have active entries, sorted by hash. Counters of rules
// that left the rule set and have no active entry are dropped, so the
// report stays bounded by the rules loaded. The active entries are
// counted under the engine's lock without copying them.
func (e *Engine) RuleStats(now time.Time) []RuleStat {
	type active struct{ ready, sched, bounces, overrides int }
	byInfo := map[*RuleInfo]*active{}
	at := func(ri *RuleInfo) *active {
		a := byInfo[ri]
		if a == nil {
			a = &active{}
			byInfo[ri] = a
		}
		return a
	}
	e.mu.Lock()
	for _, v := range e.ready {
		if v.rule != nil && v.Expires.After(now) {
			at(v.rule).ready++
		}
	}
	for _, v := range e.sched {
		if v.rule != nil && v.Expires.After(now) {
			at(v.rule).sched++
		}
	}
	for _, v := range e.bounces {
		if v.rule != nil && v.Expires.After(now) {
			at(v.rule).bounces++
		}
	}
	for _, v := range e.config {
		if v.rule != nil && v.Expires.After(now) {
			at(v.rule).overrides++
		}
	}
	e.mu.Unlock()

	out := map[string]*RuleStat{}
	stat := func(hash string, regex []string) *RuleStat {
		s := out[hash]
		if s == nil {
			s = &RuleStat{Hash: hash, Regex: regex, Actions: map[string]uint64{}}
			out[hash] = s
		}
		return s
	}
	for _, r := range e.rules.Load().all() {
		s := stat(r.info.Hash, r.info.Regex)
		for _, a := range r.r.Actions {
			s.Actions[string(a.Kind)] += 0
		}
	}
	for ri, a := range byInfo {
		s := stat(ri.Hash, ri.Regex)
		s.ReadySuspensions += a.ready
		s.SchedSuspensions += a.sched
		s.Bounces += a.bounces
		s.Overrides += a.overrides
	}
	e.stats.m.Range(func(k, v any) bool {
		h := k.([32]byte)
		hexHash := hex.EncodeToString(h[:])
		s := out[hexHash]
		if s == nil { // not in the rule set, nothing active
			e.stats.m.Delete(k)
			return true
		}
		c := v.(*ruleCounters)
		s.Matches = c.matches.Load()
		for i, kind := range c.kinds {
			s.Actions[kind] += c.actions[i].Load()
		}
		return true
	})
	list := make([]RuleStat, 0, len(out))
	for _, s := range out {
		list = append(list, *s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Hash < list[j].Hash })
	return list
}

// all returns every rule of the set once per block it appears in.
func (rs *Rules) all() []*rule {
	out := make([]*rule, 0, rs.count)
	out = append(out, rs.def...)
	for _, p := range rs.providers {
		out = append(out, p.rules...)
	}
	for _, rules := range rs.bySite {
		out = append(out, rules...)
	}
	for _, rules := range rs.byDomain {
		out = append(out, rules...)
	}
	return out
}
