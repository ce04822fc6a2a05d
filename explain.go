package kumopolicy

import (
	"reflect"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// Explanation says where each option of a resolved configuration came
// from.
type Explanation struct {
	// Shaped is true when the policy's handler called
	// Shaping:get_egress_path_config (the shaping helper does); otherwise
	// every value is from the policy's Lua code or a built-in default.
	Shaped bool
	// Query is what the shaping data was asked, when Shaped.
	Query shaping.Query
	// Problems are those of the shaping data, when Shaped: its load
	// diagnostics, then its lint warnings, then the JSON files that kumod
	// would refuse.
	Problems []shaping.Diagnostic
	// Options explains every option of the serialized configuration, in
	// its order.
	Options []OptionExplanation
}

// Source says who set an option's final value.
type Source int

const (
	// FromShaping: a shaping layer; Setters name it and what it overrode.
	FromShaping Source = iota
	// FromLua: the policy's Lua code (no shaping layer set it and it is
	// not the built-in default).
	FromLua
	// FromLuaEpoch: refresh_strategy, which no shaping file set and the
	// shaping helper sets to Epoch in Lua.
	FromLuaEpoch
	// FromDefault: the built-in default.
	FromDefault
	// PerEntry: an additional_* table, which merges entry by entry and is
	// explained per entry (Entries).
	PerEntry
)

// OptionExplanation is where one option's value came from.
type OptionExplanation struct {
	Name  string
	Value any // as serialized
	From  Source
	// Setters are the shaping layers that set the option, lowest first:
	// the last set the final value and overrode the others. A layer that
	// replaced everything below it (replace_base) drops those before it.
	Setters []Setter
	// Entries explains each entry of an additional_* table (From ==
	// PerEntry), in the table's order.
	Entries []EntryExplanation
}

// EntryExplanation is where one entry of an additional_* table came from.
type EntryExplanation struct {
	Key   string
	Value any
	// Setters are as in OptionExplanation; none means the policy's Lua
	// code set the entry.
	Setters []Setter
}

// Setter is one shaping layer's value for an option (or for one entry of
// an additional_* table), with the file and block that set it and the
// values of earlier definitions of that block that it replaced.
type Setter struct {
	Layer   shaping.Layer
	Value   any
	Setting shaping.Setting
}

// additionalTables merge entry by entry; their explanation is per entry.
var additionalTables = map[string]bool{
	"additional_connection_limits":      true,
	"additional_message_rate_throttles": true,
	"additional_source_selection_rates": true,
}

// explainOptions attributes every option of final using what the shaping
// engine recorded in exp.
func explainOptions(final *plain.Map, exp *kumo.Explanation) *Explanation {
	out := &Explanation{Shaped: exp.Shaping != nil, Options: make([]OptionExplanation, 0, final.Len())}
	if exp.Shaping != nil {
		out.Query = exp.Query
		out.Problems = append(append(exp.Shaping.Diagnostics(), exp.Shaping.Lint()...), exp.Shaping.CompatWarnings()...)
	}
	defaults := egress.DefaultEgressPathConfig().Serialize()
	for _, key := range final.Keys() {
		val := final.Value(key)
		opt := OptionExplanation{Name: key, Value: val}
		if m, ok := val.(*plain.Map); ok && additionalTables[key] && m.Len() > 0 {
			opt.From = PerEntry
			for _, entry := range m.Keys() {
				opt.Entries = append(opt.Entries, EntryExplanation{Key: entry, Value: m.Value(entry), Setters: entrySettersOf(key, entry, exp.Layers)})
			}
			out.Options = append(out.Options, opt)
			continue
		}
		opt.Setters = settersOf(key, exp.Layers)
		switch {
		case len(opt.Setters) > 0:
			opt.From = FromShaping
		case exp.Resolved != nil && key == "refresh_strategy" && !exp.Resolved.Has(key):
			opt.From = FromLuaEpoch
		default:
			if dv, ok := defaults.Get(key); ok && reflect.DeepEqual(plainOf(dv), plainOf(val)) {
				opt.From = FromDefault
			} else {
				opt.From = FromLua
			}
		}
		out.Options = append(out.Options, opt)
	}
	return out
}

// settersOf lists the layers that set key, lowest first; a layer that
// replaced everything below it (replace_base) drops the earlier ones.
func settersOf(key string, layers []shaping.Layer) []Setter {
	var out []Setter
	for _, l := range layers {
		if l.Reset {
			out = nil
		}
		if v, ok := l.Params.Get(key); ok {
			out = addSetter(out, Setter{l, v, l.Setting(key)})
		}
	}
	return out
}

// addSetter appends s, except that a provider's implied values, applied
// again after its per-source table, replace their identical first
// application instead of claiming to override it.
func addSetter(out []Setter, s Setter) []Setter {
	if n := len(out); n > 0 && s.Layer.Kind == "provider-implied" {
		prev := out[n-1]
		if prev.Layer.Kind == s.Layer.Kind && prev.Layer.Name == s.Layer.Name && reflect.DeepEqual(plainOf(prev.Value), plainOf(s.Value)) {
			out[n-1] = s
			return out
		}
	}
	return append(out, s)
}

// entrySettersOf is settersOf for one entry of an additional_* table. A
// layer whose value for key is not a table replaces the whole table.
func entrySettersOf(key, entry string, layers []shaping.Layer) []Setter {
	var out []Setter
	for _, l := range layers {
		if l.Reset {
			out = nil
		}
		v, ok := l.Params.Get(key)
		if !ok {
			continue
		}
		t, isTable := v.(*plain.Map)
		if !isTable {
			out = nil
			continue
		}
		if ev, ok := t.Get(entry); ok {
			out = addSetter(out, Setter{l, ev, l.EntrySetting(key, entry)})
		}
	}
	return out
}

func plainOf(v any) any {
	if x, ok := v.(*plain.Map); ok {
		return x.Plain(false)
	}
	return v
}
