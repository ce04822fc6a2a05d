package automation

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// RuleInfo describes the rule that produced a state entry, for the admin
// listings: it is plain data, so it can be persisted with the entry.
type RuleInfo struct {
	// Hash is the rule hash (64 lowercase hex).
	Hash          string
	Regex         []string
	Actions       []string // "Suspend", "SetConfig max_message_rate=\"3/m\"", ...
	Trigger       string   // "Immediate" or "Threshold <spec>"
	Duration      time.Duration
	MatchInternal bool
	// Rollup is true for default and site (mx_rollup=true) rules.
	Rollup bool
	// File and Block name where the rule was written ("" when unknown);
	// Index is its position in that block's automation array.
	File  string
	Block string
	Index int
}

// rule is a compiled candidate: the shaping rule plus what processing
// needs precomputed.
type rule struct {
	r       *shaping.Rule
	rollup  bool
	hash    [32]byte
	actions [][32]byte // action hashes, one per r.Actions entry
	limit   uint64     // Threshold limit; 0 means Immediate
	regexes string     // the reason text's pattern part
	info    *RuleInfo
}

type provider struct {
	p     *shaping.Provider
	rules []*rule
	needs bool // has MXSuffix/HostName entries: needs an MX lookup
}

// Rules is an indexed, immutable rule set built from shaping data. A
// record is tested only against its candidates: default rules, providers
// found through a suffix index of their DomainSuffix entries (plus those
// that need an MX lookup), and the exact site and domain blocks.
type Rules struct {
	def       []*rule
	providers []provider
	bySuffix  map[string][]int // DomainSuffix value -> provider indexes
	mxNeeded  []int            // providers with MX-based match entries
	bySite    map[string][]*rule
	byDomain  map[string][]*rule
	count     int
}

// Compile indexes the automation rules of s. It fails when a Threshold
// trigger cannot be parsed (the loader already validated it, so this only
// happens for data built without kumopolicy's environment).
func Compile(s *shaping.Shaping) (*Rules, error) {
	rs := &Rules{bySuffix: map[string][]int{}, bySite: map[string][]*rule{}, byDomain: map[string][]*rule{}}
	if s == nil {
		return rs, nil
	}
	for _, b := range s.AutomationBlocks() {
		compiled := make([]*rule, 0, len(b.Rules))
		for _, r := range b.Rules {
			c, err := compileRule(r, b.Kind.Rollup())
			if err != nil {
				return nil, fmt.Errorf("%s: automation[%d]: %w", r.Origin, r.Index, err)
			}
			compiled = append(compiled, c)
		}
		rs.count += len(compiled)
		switch b.Kind {
		case shaping.DefaultBlock:
			rs.def = append(rs.def, compiled...)
		case shaping.ProviderBlock:
			idx := len(rs.providers)
			pe := provider{p: b.Provider, rules: compiled}
			seen := map[string]bool{}
			for _, m := range b.Provider.Matches {
				if m.Kind != shaping.DomainSuffix {
					pe.needs = true
					continue
				}
				if !seen[m.Value] {
					seen[m.Value] = true
					rs.bySuffix[m.Value] = append(rs.bySuffix[m.Value], idx)
				}
			}
			if pe.needs {
				rs.mxNeeded = append(rs.mxNeeded, idx)
			}
			rs.providers = append(rs.providers, pe)
		case shaping.SiteBlock:
			rs.bySite[b.Key] = append(rs.bySite[b.Key], compiled...)
		case shaping.DomainBlock:
			rs.byDomain[b.Key] = append(rs.byDomain[b.Key], compiled...)
		}
	}
	return rs, nil
}

// Len is the number of rules indexed.
func (rs *Rules) Len() int { return rs.count }

func compileRule(r *shaping.Rule, rollup bool) (*rule, error) {
	c := &rule{r: r, rollup: rollup}
	if r.Threshold != "" {
		spec, err := egress.ParseThrottleSpec(r.Threshold)
		if err != nil {
			return nil, fmt.Errorf("trigger: Threshold: %w", err)
		}
		c.limit = spec.Limit
	}
	stream := ruleStream(r, rollup)
	c.hash = sha256.Sum256(stream)
	for _, a := range r.Actions {
		c.actions = append(c.actions, sha256.Sum256(append(append([]byte(nil), stream...), actionStream(a)...)))
	}
	if len(r.Regex) == 1 {
		c.regexes = r.Regex[0]
	} else {
		c.regexes = "(" + strings.Join(r.Regex, ",") + ")"
	}
	info := &RuleInfo{
		Hash: hex.EncodeToString(c.hash[:]), Regex: append([]string(nil), r.Regex...),
		Trigger: "Immediate", Duration: r.Duration, MatchInternal: r.MatchInternal, Rollup: rollup,
		File: r.Origin.File, Block: r.Origin.Key, Index: r.Index,
	}
	if r.Threshold != "" {
		info.Trigger = "Threshold " + r.Threshold
	}
	for _, a := range r.Actions {
		info.Actions = append(info.Actions, describeAction(a))
	}
	c.info = info
	return c, nil
}

func describeAction(a shaping.Action) string {
	if a.Kind != shaping.SetConfig && a.Kind != shaping.SetDomainConfig {
		return string(a.Kind)
	}
	v, err := plain.AppendJSON(nil, a.Value, plain.JSONOptions{NonFiniteNull: true})
	if err != nil {
		v = fmt.Append(nil, a.Value)
	}
	return string(a.Kind) + " " + a.Name + "=" + string(v)
}

// The hash streams: every field length-prefixed, so distinct rules give
// distinct streams. They cover the regexes, the actions (with their
// values), the trigger, the duration, the rollup flag and match_internal,
// as KumoMTA's do; the bytes are kumopolicy's own (KumoMTA's consumers
// treat rule hashes as opaque).
func ruleStream(r *shaping.Rule, rollup bool) []byte {
	var b []byte
	b = appendU64(b, uint64(len(r.Regex)))
	for _, p := range r.Regex {
		b = appendStr(b, p)
	}
	b = appendU64(b, uint64(len(r.Actions)))
	for _, a := range r.Actions {
		b = append(b, actionStream(a)...)
	}
	b = appendStr(b, r.Threshold)
	b = appendU64(b, uint64(r.Duration))
	b = append(b, boolByte(rollup), boolByte(r.MatchInternal))
	return b
}

func actionStream(a shaping.Action) []byte {
	b := appendStr(nil, string(a.Kind))
	if a.Kind == shaping.SetConfig || a.Kind == shaping.SetDomainConfig {
		b = appendStr(b, a.Name)
		v, _ := plain.AppendJSON(nil, a.Value, plain.JSONOptions{NonFiniteNull: true, EscapeBytes: true})
		b = appendStr(b, string(v))
	}
	return b
}

func appendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
func appendStr(b []byte, s string) []byte { return append(appendU64(b, uint64(len(s))), s...) }
func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// candidates returns the rules a record with first-recipient domain dom
// and site name site may match, in KumoMTA's order: default, matching
// providers (file order), the site block, the domain block.
func (rs *Rules) candidates(ctx context.Context, dom, site string, mx shaping.MXLookup) []*rule {
	out := append([]*rule(nil), rs.def...)
	if len(rs.providers) > 0 {
		var idx []int
		d := strings.TrimSuffix(dom, ".")
		if len(rs.bySuffix) > 0 {
			for i := 0; i <= len(d); i++ {
				idx = append(idx, rs.bySuffix[d[i:]]...)
			}
		}
		if len(rs.mxNeeded) > 0 {
			memo := &memoMX{inner: mx}
			for _, i := range rs.mxNeeded {
				if rs.providers[i].p.DomainMatches(ctx, dom, memo) {
					idx = append(idx, i)
				}
			}
		}
		sort.Ints(idx)
		for n, i := range idx {
			if n > 0 && idx[n-1] == i {
				continue
			}
			out = append(out, rs.providers[i].rules...)
		}
	}
	out = append(out, rs.bySite[site]...)
	out = append(out, rs.byDomain[dom]...)
	return out
}

// memoMX looks the record's domain up at most once however many providers
// need its MX hosts.
type memoMX struct {
	inner  shaping.MXLookup
	domain string
	hosts  []string
	err    error
	done   bool
}

func (m *memoMX) MXHosts(ctx context.Context, domain string) ([]string, error) {
	if m.inner == nil {
		return nil, fmt.Errorf("no DNS resolver configured")
	}
	if !m.done || m.domain != domain {
		m.hosts, m.err = m.inner.MXHosts(ctx, domain)
		m.domain, m.done = domain, true
	}
	return m.hosts, m.err
}
