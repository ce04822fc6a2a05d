package automation

import (
	"sort"
	"time"
)

// Active pairs a state entry with the rule that produced it.
type Active[T any] struct {
	Entry T
	Rule  RuleInfo
}

// Snapshot is the state active at one instant, in the orders the daemon
// serves: ready-q by (expires, source); sched-q by (expires, tenant,
// domain, campaign); bounces by (expires, tenant, domain, campaign), null
// before any string; overrides by (expires, domain, source, name).
type Snapshot struct {
	Ready     []Active[ReadyQSuspension]
	Sched     []Active[SchedQSuspension]
	Bounces   []Active[SchedQBounce]
	Overrides []Active[ConfigOverride]
	// Counters is the number of threshold counters kept.
	Counters int
}

// Snapshot copies the entries with now < expires.
func (e *Engine) Snapshot(now time.Time) Snapshot {
	var s Snapshot
	e.mu.Lock()
	for _, v := range e.ready {
		if v.Expires.After(now) {
			s.Ready = append(s.Ready, Active[ReadyQSuspension]{v.ReadyQSuspension, *v.rule})
		}
	}
	for _, v := range e.sched {
		if v.Expires.After(now) {
			s.Sched = append(s.Sched, Active[SchedQSuspension]{v.SchedQSuspension, *v.rule})
		}
	}
	for _, v := range e.bounces {
		if v.Expires.After(now) {
			s.Bounces = append(s.Bounces, Active[SchedQBounce]{v.SchedQBounce, *v.rule})
		}
	}
	for _, v := range e.config {
		if v.Expires.After(now) {
			s.Overrides = append(s.Overrides, Active[ConfigOverride]{v.ConfigOverride, *v.rule})
		}
	}
	s.Counters = len(e.counters)
	e.mu.Unlock()
	sort.Slice(s.Ready, func(i, j int) bool { return lessReady(&s.Ready[i].Entry, &s.Ready[j].Entry) })
	sort.Slice(s.Sched, func(i, j int) bool { return lessSched(&s.Sched[i].Entry, &s.Sched[j].Entry) })
	sort.Slice(s.Bounces, func(i, j int) bool { return lessBounce(&s.Bounces[i].Entry, &s.Bounces[j].Entry) })
	sort.Slice(s.Overrides, func(i, j int) bool { return lessOverride(&s.Overrides[i].Entry, &s.Overrides[j].Entry) })
	return s
}

// ReadyQ, SchedQ, BouncesOf and OverridesOf strip the rule information.
func (s Snapshot) ReadyQ() []ReadyQSuspension { return entries(s.Ready) }
func (s Snapshot) SchedQ() []SchedQSuspension { return entries(s.Sched) }
func (s Snapshot) BouncesOf() []SchedQBounce  { return entries(s.Bounces) }
func (s Snapshot) OverridesOf() []ConfigOverride {
	return entries(s.Overrides)
}

func entries[T any](a []Active[T]) []T {
	out := make([]T, len(a))
	for i, x := range a {
		out[i] = x.Entry
	}
	return out
}

// Events is the snapshot a new subscriber receives: ready-q suspensions
// (with the bare hex rule_hash, as KumoMTA sends them), then sched-q
// suspensions, then bounces (legacy subscribers skip the bounces).
func (s Snapshot) Events() []Event {
	out := make([]Event, 0, len(s.Ready)+len(s.Sched)+len(s.Bounces))
	for i := range s.Ready {
		v := s.Ready[i].Entry
		out = append(out, Event{Kind: ReadyQEvent, ReadyQ: &v})
	}
	for i := range s.Sched {
		v := s.Sched[i].Entry
		out = append(out, Event{Kind: SchedQEvent, SchedQ: &v})
	}
	for i := range s.Bounces {
		v := s.Bounces[i].Entry
		out = append(out, Event{Kind: BounceEvent, Bounce: &v})
	}
	return out
}

// cmpOpt orders an optional string: nil before any string.
func cmpOpt(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	case *a < *b:
		return -1
	case *a > *b:
		return 1
	}
	return 0
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// first returns the first non-zero comparison.
func first(c ...int) bool {
	for _, x := range c {
		if x != 0 {
			return x < 0
		}
	}
	return false
}

// Ties beyond the documented keys (KumoMTA leaves them arbitrary) are
// broken by rule_hash so output is deterministic.
func lessReady(a, b *ReadyQSuspension) bool {
	return first(a.Expires.Compare(b.Expires), cmpStr(a.Source, b.Source), cmpStr(a.SiteName, b.SiteName), cmpStr(a.RuleHash, b.RuleHash))
}

func lessSched(a, b *SchedQSuspension) bool {
	return first(a.Expires.Compare(b.Expires), cmpStr(a.Tenant, b.Tenant), cmpStr(a.Domain, b.Domain), cmpOpt(a.Campaign, b.Campaign), cmpStr(a.RuleHash, b.RuleHash))
}

func lessBounce(a, b *SchedQBounce) bool {
	return first(a.Expires.Compare(b.Expires), cmpOpt(a.Tenant, b.Tenant), cmpStr(a.Domain, b.Domain), cmpOpt(a.Campaign, b.Campaign), cmpStr(a.RuleHash, b.RuleHash))
}

func lessOverride(a, b *ConfigOverride) bool {
	return first(a.Expires.Compare(b.Expires), cmpStr(a.Domain, b.Domain), cmpStr(a.Source, b.Source), cmpStr(a.Name, b.Name), cmpStr(a.RuleHash, b.RuleHash))
}
