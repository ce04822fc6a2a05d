package shaping

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Hash returns a lowercase hex SHA-256 over the merged data and the load
// messages: the same load gives the same hash, and different
// merged content or messages give a different one. It does not cover file
// names, comments or formatting. Values are not byte-compatible with
// KumoMTA's hashes, which only promise change detection too.
func (s *Shaping) Hash() string {
	h := sha256.New()
	var buf []byte
	write := func(b []byte) { h.Write(b) }
	write([]byte("by_site"))
	for _, k := range s.bySite.keys {
		write([]byte(k))
		buf = s.bySite.m[k].appendHashJSON(buf[:0])
		write(buf)
	}
	write([]byte("by_domain"))
	for _, k := range s.byDomain.keys {
		write([]byte(k))
		buf = s.byDomain.m[k].appendHashJSON(buf[:0])
		write(buf)
	}
	write([]byte("by_provider"))
	for _, p := range s.providers {
		write([]byte(p.Name))
		write([]byte(p.Name))
		buf = p.appendHashJSON(buf[:0])
		write(buf)
	}
	write([]byte("warnings"))
	for _, w := range s.warnings {
		write([]byte(w))
	}
	write([]byte("errors"))
	for _, e := range s.errors {
		write([]byte(e))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (b *Block) appendHashJSON(out []byte) []byte {
	out = append(out, b.Name...)
	out = append(out, '{')
	out = appendTableFields(out, b.Params)
	out = appendField(out, b.Params.Len() > 0, "mx_rollup")
	out = strconv.AppendBool(out, b.MxRollup)
	out = appendField(out, true, "replace_base")
	out = strconv.AppendBool(out, b.ReplaceBase)
	out = appendField(out, true, "automation")
	out = appendRules(out, b.Automation)
	out = appendField(out, true, "sources")
	out = appendJSON(out, b.Sources)
	return append(out, '}')
}

func (p *Provider) appendHashJSON(out []byte) []byte {
	out = append(out, `{"provider_connection_limit":`...)
	out = appendJSON(out, nullable(p.ConnectionLimit))
	out = append(out, `,"provider_max_message_rate":`...)
	out = appendJSON(out, nullable(p.MaxMessageRate))
	out = append(out, `,"match":[`...)
	for i, m := range p.Matches {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '{')
		out = appendJSON(out, m.Kind.String())
		out = append(out, ':')
		out = appendJSON(out, m.Value)
		out = append(out, '}')
	}
	out = append(out, `],"replace_base":`...)
	out = strconv.AppendBool(out, p.ReplaceBase)
	if p.Params.Len() > 0 {
		out = append(out, ',')
		out = appendTableFields(out, p.Params)
	}
	out = append(out, `,"automation":`...)
	out = appendRules(out, p.Automation)
	out = append(out, `,"sources":`...)
	out = appendJSON(out, p.Sources)
	return append(out, '}')
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func appendField(out []byte, comma bool, name string) []byte {
	if comma {
		out = append(out, ',')
	}
	out = appendJSON(out, name)
	return append(out, ':')
}

func appendRules(out []byte, rules []*Rule) []byte {
	out = append(out, '[')
	for i, r := range rules {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSON(out, r.Serialize())
	}
	return append(out, ']')
}

func appendTableFields(out []byte, t *plain.Map) []byte {
	for i, k := range t.Keys() {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSON(out, k)
		out = append(out, ':')
		out = appendJSON(out, t.Value(k))
	}
	return out
}

// hashJSON writes hashed values: every value gets a form (NaN and the
// infinities, which TOML allows, as null), maps in their order.
var hashJSON = plain.JSONOptions{NonFiniteNull: true, EscapeBytes: true}

// appendJSON writes v as compact JSON for the hash.
func appendJSON(out []byte, v any) []byte {
	out, _ = plain.AppendJSON(out, v, hashJSON)
	return out
}

// ReferencedSources maps each source name used by a site or domain block
// to its referrers: "site:<site>" entries in site order, then
// "domain:<domain>" entries in domain order. Provider sources are not
// listed (as in KumoMTA).
func (s *Shaping) ReferencedSources() map[string][]string {
	out := map[string][]string{}
	for _, site := range s.bySite.keys {
		for _, src := range s.bySite.m[site].Sources.Keys() {
			out[src] = append(out[src], "site:"+site)
		}
	}
	for _, d := range s.byDomain.keys {
		for _, src := range s.byDomain.m[d].Sources.Keys() {
			out[src] = append(out[src], "domain:"+d)
		}
	}
	return out
}

// ReferencedSourceNames returns ReferencedSources' keys sorted.
func (s *Shaping) ReferencedSourceNames() []string {
	refs := s.ReferencedSources()
	names := make([]string, 0, len(refs))
	for k := range refs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
