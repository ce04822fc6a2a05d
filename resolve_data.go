package kumopolicy

import (
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// sourceNames are Source's names in Data.
var sourceNames = map[Source]string{
	FromShaping:  "shaping",
	FromLua:      "lua",
	FromLuaEpoch: "lua-epoch",
	FromDefault:  "default",
	PerEntry:     "per-entry",
}

// Data is the resolution as plain data (JSON- and TOML-able, in a fixed
// order), as the admin API's resolve-egress-path route answers with
// explain=true: domain, source, site, site_error (when the MX lookup
// failed), plain_table, config (Serialized) and, from Explain,
// explanation: shaped, query, problems and, per option, where its value
// came from (from: shaping, lua, lua-epoch, default or per-entry) with the
// setters (layer, file, block, value, what it overrode).
func (r *Resolution) Data() *plain.Map {
	m := plain.NewMap(7)
	m.Set("domain", r.Domain)
	m.Set("source", r.Source)
	m.Set("site", r.Site)
	if r.SiteError != nil {
		m.Set("site_error", r.SiteError.Error())
	}
	m.Set("plain_table", r.PlainTable)
	m.Set("config", r.Serialized)
	if e := r.Explanation; e != nil {
		x := plain.NewMap(4)
		x.Set("shaped", e.Shaped)
		if e.Shaped {
			q := plain.NewMap(3)
			q.Set("domain", e.Query.Domain)
			q.Set("source", e.Query.Source)
			q.Set("site", e.Query.Site)
			x.Set("query", q)
		}
		problems := make([]any, len(e.Problems))
		for i, d := range e.Problems {
			p := plain.NewMap(4)
			level := "warning"
			if d.Level == shaping.Error {
				level = "error"
			}
			p.Set("level", level)
			p.Set("message", d.Message)
			if d.File != "" {
				p.Set("file", d.File)
			}
			if d.Block != "" {
				p.Set("block", d.Block)
			}
			problems[i] = p
		}
		x.Set("problems", problems)
		opts := make([]any, len(e.Options))
		for i, o := range e.Options {
			om := plain.NewMap(5)
			om.Set("name", o.Name)
			om.Set("value", o.Value)
			om.Set("from", sourceNames[o.From])
			if len(o.Setters) > 0 {
				om.Set("setters", settersData(o.Setters))
			}
			if o.From == PerEntry {
				entries := make([]any, len(o.Entries))
				for j, en := range o.Entries {
					em := plain.NewMap(3)
					em.Set("key", en.Key)
					em.Set("value", en.Value)
					from := "lua"
					if len(en.Setters) > 0 {
						from = "shaping"
						em.Set("setters", settersData(en.Setters))
					}
					em.Set("from", from)
					entries[j] = em
				}
				om.Set("entries", entries)
			}
			opts[i] = om
		}
		x.Set("options", opts)
		m.Set("explanation", x)
	}
	return m
}

func settersData(ss []Setter) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		m := plain.NewMap(8)
		m.Set("layer", s.Layer.Kind)
		if s.Layer.Name != "" {
			m.Set("name", s.Layer.Name)
		}
		if s.Layer.Reset {
			m.Set("replace_base", true)
		}
		m.Set("value", s.Value)
		if s.Setting.Origin.File != "" {
			m.Set("file", s.Setting.Origin.File)
			m.Set("block", s.Setting.Origin.Key)
		}
		if len(s.Setting.Overrode) > 0 {
			ov := make([]any, len(s.Setting.Overrode))
			for j, o := range s.Setting.Overrode {
				om := plain.NewMap(3)
				om.Set("value", o.Value)
				om.Set("file", o.Origin.File)
				om.Set("block", o.Origin.Key)
				ov[j] = om
			}
			m.Set("overrode", ov)
		}
		if s.Setting.Omitted > 0 {
			m.Set("omitted", s.Setting.Omitted)
		}
		if len(s.Setting.Discarded) > 0 {
			d := make([]any, len(s.Setting.Discarded))
			for j, o := range s.Setting.Discarded {
				d[j] = o.String()
			}
			m.Set("discarded", d)
		}
		out[i] = m
	}
	return out
}
