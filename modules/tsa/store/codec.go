package store

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
)

// formatVersion is the version of the record encoding below, stored in
// the meta bucket; a database written by a newer format is refused.
const formatVersion = "1"

// Records are JSON with explicit field names, so renaming a Go field never
// changes what is on disk. Override values keep their type (an integer
// stays an integer, an inline table keeps its key order), which the
// generated shaping.toml depends on.

type wireRule struct {
	Hash          string   `json:"hash"`
	Regex         []string `json:"regex"`
	Actions       []string `json:"actions"`
	Trigger       string   `json:"trigger"`
	DurationNS    int64    `json:"duration_ns"`
	MatchInternal bool     `json:"match_internal,omitempty"`
	Rollup        bool     `json:"rollup,omitempty"`
	File          string   `json:"file,omitempty"`
	Block         string   `json:"block,omitempty"`
	Index         int      `json:"index"`
}

type wireEntry struct {
	Kind     string     `json:"kind"`
	RuleHash string     `json:"rule_hash"`
	Site     string     `json:"site,omitempty"` // ready-q: site_name; override: site
	Source   string     `json:"source,omitempty"`
	Domain   string     `json:"domain,omitempty"`
	Tenant   *string    `json:"tenant,omitempty"`
	Campaign *string    `json:"campaign,omitempty"`
	MxRollup bool       `json:"mx_rollup,omitempty"`
	Name     string     `json:"name,omitempty"`
	Value    *wireValue `json:"value,omitempty"`
	Reason   string     `json:"reason"`
	Expires  string     `json:"expires"` // RFC 3339 with nanoseconds
	Rule     wireRule   `json:"rule"`
}

type wireCounter struct {
	RuleHash     string  `json:"rule_hash"`
	Site         string  `json:"site"`
	DurationSecs int64   `json:"duration_secs"`
	Times        []int64 `json:"times"`
}

// wireValue is a typed plain value: exactly one field is set.
type wireValue struct {
	Null  bool          `json:"null,omitempty"`
	Bool  *bool         `json:"bool,omitempty"`
	Int   *string       `json:"int,omitempty"`   // decimal, exact for any int64
	Float *string       `json:"float,omitempty"` // shortest round-trip form, or nan/inf/-inf
	Str   *string       `json:"str,omitempty"`
	List  *[]wireValue  `json:"list,omitempty"`
	Map   *[]wireMapKey `json:"map,omitempty"` // in key order
}

type wireMapKey struct {
	K string    `json:"k"`
	V wireValue `json:"v"`
}

func encodeValue(v any) (wireValue, error) {
	switch x := v.(type) {
	case nil:
		return wireValue{Null: true}, nil
	case bool:
		return wireValue{Bool: &x}, nil
	case int64:
		s := strconv.FormatInt(x, 10)
		return wireValue{Int: &s}, nil
	case int:
		s := strconv.Itoa(x)
		return wireValue{Int: &s}, nil
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		switch {
		case math.IsNaN(x):
			s = "nan"
		case math.IsInf(x, 1):
			s = "inf"
		case math.IsInf(x, -1):
			s = "-inf"
		}
		return wireValue{Float: &s}, nil
	case string:
		return wireValue{Str: &x}, nil
	case []any:
		l := make([]wireValue, len(x))
		for i, e := range x {
			w, err := encodeValue(e)
			if err != nil {
				return wireValue{}, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = w
		}
		return wireValue{List: &l}, nil
	case *plain.Map:
		m := make([]wireMapKey, 0, x.Len())
		for _, k := range x.Keys() {
			w, err := encodeValue(x.Value(k))
			if err != nil {
				return wireValue{}, fmt.Errorf("%s: %w", k, err)
			}
			m = append(m, wireMapKey{k, w})
		}
		return wireValue{Map: &m}, nil
	}
	return wireValue{}, fmt.Errorf("cannot persist a value of type %T", v)
}

func decodeValue(w wireValue) (any, error) {
	n := 0
	for _, set := range []bool{w.Null, w.Bool != nil, w.Int != nil, w.Float != nil, w.Str != nil, w.List != nil, w.Map != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("value has %d types set, want exactly 1", n)
	}
	switch {
	case w.Null:
		return nil, nil
	case w.Bool != nil:
		return *w.Bool, nil
	case w.Int != nil:
		i, err := strconv.ParseInt(*w.Int, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("integer value: %w", err)
		}
		return i, nil
	case w.Float != nil:
		switch *w.Float {
		case "nan":
			return math.NaN(), nil
		case "inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
		f, err := strconv.ParseFloat(*w.Float, 64)
		if err != nil {
			return nil, fmt.Errorf("float value: %w", err)
		}
		return f, nil
	case w.Str != nil:
		return *w.Str, nil
	case w.List != nil:
		out := make([]any, len(*w.List))
		for i, e := range *w.List {
			v, err := decodeValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = v
		}
		return out, nil
	}
	m := plain.NewMap(len(*w.Map))
	for _, kv := range *w.Map {
		v, err := decodeValue(kv.V)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kv.K, err)
		}
		m.Set(kv.K, v)
	}
	return m, nil
}

func encodeRule(r automation.RuleInfo) wireRule {
	return wireRule{Hash: r.Hash, Regex: r.Regex, Actions: r.Actions, Trigger: r.Trigger, DurationNS: int64(r.Duration),
		MatchInternal: r.MatchInternal, Rollup: r.Rollup, File: r.File, Block: r.Block, Index: r.Index}
}

func decodeRule(w wireRule) automation.RuleInfo {
	return automation.RuleInfo{Hash: w.Hash, Regex: w.Regex, Actions: w.Actions, Trigger: w.Trigger, Duration: time.Duration(w.DurationNS),
		MatchInternal: w.MatchInternal, Rollup: w.Rollup, File: w.File, Block: w.Block, Index: w.Index}
}

func encodeEntry(e automation.StateEntry) ([]byte, error) {
	w := wireEntry{Kind: e.Kind(), Rule: encodeRule(e.Rule), Expires: e.Expires().Format(time.RFC3339Nano)}
	switch {
	case e.Ready != nil:
		r := e.Ready
		w.RuleHash, w.Site, w.Source, w.Reason = r.RuleHash, r.SiteName, r.Source, r.Reason
	case e.Sched != nil:
		r := e.Sched
		t := r.Tenant
		w.RuleHash, w.Tenant, w.Domain, w.Campaign, w.Reason = r.RuleHash, &t, r.Domain, r.Campaign, r.Reason
	case e.Bounce != nil:
		r := e.Bounce
		w.RuleHash, w.Domain, w.Tenant, w.Campaign, w.Reason = r.RuleHash, r.Domain, r.Tenant, r.Campaign, r.Reason
	case e.Override != nil:
		r := e.Override
		v, err := encodeValue(r.Value)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", r.Name, err)
		}
		w.RuleHash, w.Site, w.Domain, w.MxRollup, w.Source, w.Name, w.Value, w.Reason =
			r.RuleHash, r.Site, r.Domain, r.MxRollup, r.Source, r.Name, &v, r.Reason
	default:
		return nil, fmt.Errorf("state entry has no ready, sched, bounce or override part")
	}
	return json.Marshal(w)
}

func decodeEntry(data []byte) (automation.StateEntry, error) {
	var w wireEntry
	if err := json.Unmarshal(data, &w); err != nil {
		return automation.StateEntry{}, err
	}
	exp, err := time.Parse(time.RFC3339Nano, w.Expires)
	if err != nil {
		return automation.StateEntry{}, fmt.Errorf("expires: %w", err)
	}
	e := automation.StateEntry{Rule: decodeRule(w.Rule)}
	switch w.Kind {
	case automation.KindReady:
		e.Ready = &automation.ReadyQSuspension{RuleHash: w.RuleHash, SiteName: w.Site, Reason: w.Reason, Source: w.Source, Expires: exp}
	case automation.KindSched:
		if w.Tenant == nil {
			return e, fmt.Errorf("scheduled-queue suspension without a tenant")
		}
		e.Sched = &automation.SchedQSuspension{RuleHash: w.RuleHash, Tenant: *w.Tenant, Domain: w.Domain, Campaign: w.Campaign, Reason: w.Reason, Expires: exp}
	case automation.KindBounce:
		e.Bounce = &automation.SchedQBounce{RuleHash: w.RuleHash, Domain: w.Domain, Tenant: w.Tenant, Campaign: w.Campaign, Reason: w.Reason, Expires: exp}
	case automation.KindOverride:
		if w.Value == nil {
			return e, fmt.Errorf("configuration override without a value")
		}
		v, err := decodeValue(*w.Value)
		if err != nil {
			return e, fmt.Errorf("option %s: %w", w.Name, err)
		}
		e.Override = &automation.ConfigOverride{RuleHash: w.RuleHash, Site: w.Site, Domain: w.Domain, MxRollup: w.MxRollup,
			Source: w.Source, Name: w.Name, Value: v, Reason: w.Reason, Expires: exp}
	default:
		return e, fmt.Errorf("unknown entry kind %q", w.Kind)
	}
	return e, nil
}

func encodeCounter(c automation.CounterState) ([]byte, error) {
	return json.Marshal(wireCounter{RuleHash: c.RuleHash, Site: c.Site, DurationSecs: c.DurationSecs, Times: c.Times})
}

func decodeCounter(data []byte) (automation.CounterState, error) {
	var w wireCounter
	if err := json.Unmarshal(data, &w); err != nil {
		return automation.CounterState{}, err
	}
	for i := 1; i < len(w.Times); i++ {
		if w.Times[i] < w.Times[i-1] {
			return automation.CounterState{}, fmt.Errorf("threshold times are not sorted")
		}
	}
	return automation.CounterState{RuleHash: w.RuleHash, Site: w.Site, DurationSecs: w.DurationSecs, Times: w.Times}, nil
}
