package shaping

import (
	"fmt"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// fileBlocks is one file's blocks, in file order.
type fileBlocks struct {
	path      string
	def       *Block
	domains   []domainEntry
	providers []*Provider
}

type domainEntry struct {
	key   string
	block *Block
}

// parseFile splits a file into its default, domain and provider blocks.
// Shape errors (a block that is not a table, a special key of the wrong
// type, a malformed rule) are hard errors naming the file and key path.
func (l *loader) parseFile(f loaded) (*fileBlocks, error) {
	fb := &fileBlocks{path: f.path}
	fail := func(keyPath string, err error) error {
		kind := "toml"
		if strings.HasSuffix(f.path, ".json") {
			kind = "json"
		}
		return &HardError{f.path, fmt.Errorf("parsing %s from file %s: %s: %w", kind, f.path, keyPath, err)}
	}
	for _, key := range f.doc.Keys() {
		val := f.doc.Value(key)
		switch key {
		case "provider":
			provs, ok := val.(*plain.Map)
			if !ok {
				return nil, fail(key, fmt.Errorf("invalid type: %s, expected a table of providers", plain.Describe(val)))
			}
			for _, name := range provs.Keys() {
				p, err := l.parseProvider(name, provs.Value(name), f.path)
				if err != nil {
					return nil, fail("provider."+quoteKey(name), err)
				}
				fb.providers = append(fb.providers, p)
			}
		default:
			blk, err := l.parseBlock(key, val, f.path)
			if err != nil {
				return nil, fail(quoteKey(key), err)
			}
			if key == "default" {
				fb.def = blk
			} else {
				fb.domains = append(fb.domains, domainEntry{key, blk})
			}
		}
	}
	return fb, nil
}

// quoteKey renders a key for a key path, quoting it (as a TOML string)
// when it has dots.
func quoteKey(k string) string {
	if strings.ContainsAny(k, ". \"") || k == "" {
		return string(plain.AppendQuoted(nil, k, plain.TOML))
	}
	return k
}

// parseBlock reads a domain or default block: mx_rollup, replace_base,
// automation and sources are taken out; every other key is a parameter.
func (l *loader) parseBlock(key string, val any, path string) (*Block, error) {
	t, ok := val.(*plain.Map)
	if !ok {
		return nil, fmt.Errorf("invalid type: %s, expected a table of egress path parameters", plain.Describe(val))
	}
	blk := newBlock(key)
	blk.Origin = []Origin{{File: path, Key: quoteKey(key)}}
	for _, k := range t.Keys() {
		v := t.Value(k)
		var err error
		switch k {
		case "mx_rollup":
			blk.MxRollup, err = boolValue(k, v)
		case "replace_base":
			blk.ReplaceBase, err = boolValue(k, v)
		case "automation":
			blk.Automation, err = l.parseRules(v, blk.Origin[0])
		case "sources":
			blk.Sources, err = sourcesValue(v)
		default:
			blk.Params.Set(k, plain.Clone(v))
		}
		if err != nil {
			return nil, err
		}
	}
	if key == "default" {
		blk.MxRollup = false
	}
	return blk, nil
}

// parseProvider reads a provider block.
func (l *loader) parseProvider(name string, val any, path string) (*Provider, error) {
	t, ok := val.(*plain.Map)
	if !ok {
		return nil, fmt.Errorf("invalid type: %s, expected a provider table", plain.Describe(val))
	}
	p := &Provider{Name: name, Params: plain.NewMap(0), Sources: plain.NewMap(0), Origin: []Origin{{File: path, Key: "provider." + quoteKey(name)}}}
	for _, k := range t.Keys() {
		v := t.Value(k)
		var err error
		switch k {
		case "match":
			p.Matches, err = parseMatches(v)
			err = prefixed(k, err)
		case "provider_connection_limit":
			if l.env.LimitSpec != nil {
				p.ConnectionLimit, err = l.env.LimitSpec(v)
			} else {
				p.ConnectionLimit = fmt.Sprint(v)
			}
			err = prefixed(k, err)
		case "provider_max_message_rate":
			if l.env.ThrottleSpec != nil {
				p.MaxMessageRate, err = l.env.ThrottleSpec(v)
			} else {
				p.MaxMessageRate = fmt.Sprint(v)
			}
			err = prefixed(k, err)
		case "replace_base":
			p.ReplaceBase, err = boolValue(k, v)
		case "automation":
			p.Automation, err = l.parseRules(v, p.Origin[0])
		case "sources":
			p.Sources, err = sourcesValue(v)
		default:
			p.Params.Set(k, plain.Clone(v))
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func prefixed(key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", key, err)
}

func parseMatches(v any) ([]Match, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("invalid type: %s, expected a sequence of match entries", plain.Describe(v))
	}
	out := make([]Match, 0, len(arr))
	for i, e := range arr {
		t, ok := e.(*plain.Map)
		if !ok || t.Len() != 1 {
			return nil, fmt.Errorf("[%d]: expected a table with one of `DomainSuffix`, `MXSuffix` or `HostName`, got %s", i, plain.Describe(e))
		}
		kind := t.Keys()[0]
		s, ok := t.Value(kind).(string)
		if !ok {
			return nil, fmt.Errorf("[%d].%s: invalid type: %s, expected a string", i, kind, plain.Describe(t.Value(kind)))
		}
		switch kind {
		case "DomainSuffix":
			out = append(out, Match{DomainSuffix, s})
		case "MXSuffix":
			out = append(out, Match{MXSuffix, s})
		case "HostName":
			out = append(out, Match{HostName, s})
		default:
			return nil, fmt.Errorf("[%d]: unknown variant `%s`, expected one of `DomainSuffix`, `MXSuffix`, `HostName`", i, kind)
		}
	}
	return out, nil
}

func boolValue(key string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: invalid type: %s, expected a boolean", key, plain.Describe(v))
	}
	return b, nil
}

func sourcesValue(v any) (*plain.Map, error) {
	t, ok := v.(*plain.Map)
	if !ok {
		return nil, fmt.Errorf("sources: invalid type: %s, expected a table of source name to parameters", plain.Describe(v))
	}
	out := plain.NewMap(0)
	for _, name := range t.Keys() {
		st, ok := t.Value(name).(*plain.Map)
		if !ok {
			return nil, fmt.Errorf("sources.%s: invalid type: %s, expected a table of egress path parameters", quoteKey(name), plain.Describe(t.Value(name)))
		}
		out.Set(name, st.Clone())
	}
	return out, nil
}

// ActionKind is what an automation rule does when it fires.
type ActionKind string

const (
	Suspend         ActionKind = "Suspend"
	SuspendTenant   ActionKind = "SuspendTenant"
	SuspendCampaign ActionKind = "SuspendCampaign"
	Bounce          ActionKind = "Bounce"
	BounceTenant    ActionKind = "BounceTenant"
	BounceCampaign  ActionKind = "BounceCampaign"
	SetConfig       ActionKind = "SetConfig"
	SetDomainConfig ActionKind = "SetDomainConfig"
)

// Action is one action of a rule; Name and Value are set for SetConfig
// and SetDomainConfig.
type Action struct {
	Kind  ActionKind
	Name  string
	Value any
}

// Rule is an automation rule.
type Rule struct {
	Regex         []string
	Matchers      []Matcher
	Actions       []Action
	Threshold     string // canonical ThrottleSpec; "" means Immediate
	Duration      time.Duration
	MatchInternal bool
	// Raw is the rule table as written.
	Raw *plain.Map
	// Origin is the file and block the rule was written in, and Index its
	// position in that block's automation array (0-based).
	Origin Origin
	Index  int
}

// Serialize renders the rule as match_rules returns it to Lua: regex and
// action always arrays, trigger "Immediate" or {Threshold=...}, duration in
// humantime form.
func (r *Rule) Serialize() *plain.Map {
	t := plain.NewMap(0)
	regex := make([]any, len(r.Regex))
	for i, p := range r.Regex {
		regex[i] = p
	}
	t.Set("regex", regex)
	actions := make([]any, len(r.Actions))
	for i, a := range r.Actions {
		if a.Kind == SetConfig || a.Kind == SetDomainConfig {
			inner := plain.NewMap(0)
			inner.Set("name", a.Name)
			inner.Set("value", plain.Clone(a.Value))
			outer := plain.NewMap(0)
			outer.Set(string(a.Kind), inner)
			actions[i] = outer
		} else {
			actions[i] = string(a.Kind)
		}
	}
	t.Set("action", actions)
	if r.Threshold == "" {
		t.Set("trigger", "Immediate")
	} else {
		th := plain.NewMap(0)
		th.Set("Threshold", r.Threshold)
		t.Set("trigger", th)
	}
	t.Set("duration", plain.FormatDuration(r.Duration))
	t.Set("match_internal", r.MatchInternal)
	return t
}

func (l *loader) parseRules(v any, at Origin) ([]*Rule, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("automation: invalid type: %s, expected a sequence of rules", plain.Describe(v))
	}
	out := make([]*Rule, 0, len(arr))
	for i, e := range arr {
		t, ok := e.(*plain.Map)
		if !ok {
			return nil, fmt.Errorf("automation[%d]: invalid type: %s, expected a rule table", i, plain.Describe(e))
		}
		r, err := l.parseRule(t)
		if err != nil {
			return nil, fmt.Errorf("automation[%d]: %w", i, err)
		}
		r.Origin, r.Index = at, i
		out = append(out, r)
	}
	return out, nil
}

// parseRule types one rule. Unknown keys are ignored, as KumoMTA does.
func (l *loader) parseRule(t *plain.Map) (*Rule, error) {
	r := &Rule{Raw: t.Clone()}

	rv, ok := t.Get("regex")
	if !ok {
		return nil, fmt.Errorf("missing field `regex`")
	}
	switch x := rv.(type) {
	case string:
		r.Regex = []string{x}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("invalid type: %s, expected regex string or array of regex strings for field regex", plain.Describe(e))
			}
			r.Regex = append(r.Regex, s)
		}
	default:
		return nil, fmt.Errorf("invalid type: %s, expected regex string or array of regex strings for field regex", plain.Describe(rv))
	}
	for _, pat := range r.Regex {
		if l.env.CompileRegex == nil {
			break
		}
		m, err := l.env.CompileRegex(pat)
		if err != nil {
			return nil, fmt.Errorf("regex: %w", err)
		}
		r.Matchers = append(r.Matchers, m)
	}

	av, ok := t.Get("action")
	if !ok {
		return nil, fmt.Errorf("missing field `action`")
	}
	actions, err := l.parseActions(av)
	if err != nil {
		return nil, fmt.Errorf("\"action\" field expected either a single Action or an array of Actions.\nThe underlying error message is:\n%w", err)
	}
	r.Actions = actions

	if tv, ok := t.Get("trigger"); ok {
		switch x := tv.(type) {
		case string:
			if x != "Immediate" {
				return nil, fmt.Errorf("trigger: unknown variant `%s`, expected `Immediate` or `{Threshold=\"<rate>\"}`", x)
			}
		case *plain.Map:
			spec, ok := x.Get("Threshold")
			if !ok || x.Len() != 1 {
				return nil, fmt.Errorf("trigger: expected `Immediate` or `{Threshold=\"<rate>\"}`")
			}
			canon := fmt.Sprint(spec)
			if l.env.ThrottleSpec != nil {
				if canon, err = l.env.ThrottleSpec(spec); err != nil {
					return nil, fmt.Errorf("trigger: Threshold: %w", err)
				}
			}
			r.Threshold = canon
		default:
			return nil, fmt.Errorf("trigger: invalid type: %s, expected `Immediate` or `{Threshold=\"<rate>\"}`", plain.Describe(tv))
		}
	}

	dv, ok := t.Get("duration")
	if !ok {
		return nil, fmt.Errorf("missing field `duration`")
	}
	if l.env.Duration != nil {
		if r.Duration, err = l.env.Duration(dv); err != nil {
			return nil, fmt.Errorf("duration: %w", err)
		}
	}

	if mv, ok := t.Get("match_internal"); ok {
		if r.MatchInternal, err = boolValue("match_internal", mv); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (l *loader) parseActions(v any) ([]Action, error) {
	if arr, ok := v.([]any); ok {
		out := make([]Action, 0, len(arr))
		for i, e := range arr {
			a, err := l.parseAction(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, a)
		}
		return out, nil
	}
	a, err := l.parseAction(v)
	if err != nil {
		return nil, err
	}
	return []Action{a}, nil
}

func (l *loader) parseAction(v any) (Action, error) {
	switch x := v.(type) {
	case string:
		switch k := ActionKind(x); k {
		case Suspend, SuspendTenant, SuspendCampaign, Bounce, BounceTenant, BounceCampaign:
			return Action{Kind: k}, nil
		}
		return Action{}, fmt.Errorf("unknown variant `%s`, expected one of `Suspend`, `SuspendTenant`, `SuspendCampaign`, `Bounce`, `BounceTenant`, `BounceCampaign`, `SetConfig`, `SetDomainConfig`", x)
	case *plain.Map:
		if x.Len() != 1 {
			return Action{}, fmt.Errorf("expected a table with one key, `SetConfig` or `SetDomainConfig`")
		}
		kind := ActionKind(x.Keys()[0])
		if kind != SetConfig && kind != SetDomainConfig {
			return Action{}, fmt.Errorf("unknown variant `%s`, expected `SetConfig` or `SetDomainConfig`", kind)
		}
		body, ok := x.Value(x.Keys()[0]).(*plain.Map)
		if !ok {
			return Action{}, fmt.Errorf("%s: invalid type: %s, expected a table with `name` and `value`", kind, plain.Describe(x.Value(x.Keys()[0])))
		}
		name, ok := body.Value("name").(string)
		if !ok {
			return Action{}, fmt.Errorf("%s: missing or invalid field `name`", kind)
		}
		value, ok := body.Get("value")
		if !ok {
			return Action{}, fmt.Errorf("%s: missing field `value`", kind)
		}
		for _, k := range body.Keys() {
			if k != "name" && k != "value" {
				return Action{}, fmt.Errorf("%s: unknown field `%s`, expected `name` or `value`", kind, k)
			}
		}
		if l.env.ValidateParams != nil {
			one := plain.NewMap(0)
			one.Set(name, plain.Clone(value))
			if err := l.env.ValidateParams(one); err != nil {
				return Action{}, fmt.Errorf("%s: %w", kind, err)
			}
		}
		return Action{Kind: kind, Name: name, Value: plain.Clone(value)}, nil
	}
	return Action{}, fmt.Errorf("invalid type: %s, expected an action name or a SetConfig table", plain.Describe(v))
}
