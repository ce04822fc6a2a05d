package automation

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// appendTime writes t in UTC as RFC 3339 with the fraction in "AutoSi"
// style (none when the nanoseconds are 0, else 3, 6 or 9 digits, the
// fewest that are exact), followed by zone ("Z" or "+00:00").
func appendTime(b []byte, t time.Time, zone string) []byte {
	t = t.UTC()
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	ns := t.Nanosecond()
	switch {
	case ns == 0:
	case ns%1e6 == 0:
		b = fmt.Appendf(b, ".%03d", ns/1e6)
	case ns%1e3 == 0:
		b = fmt.Appendf(b, ".%06d", ns/1e3)
	default:
		b = fmt.Appendf(b, ".%09d", ns)
	}
	return append(b, zone...)
}

// FormatJSONTime is the JSON form of an expiry: "2026-08-04T14:41:30.440Z".
func FormatJSONTime(t time.Time) string { return string(appendTime(nil, t, "Z")) }

// FormatTOMLTime is the form of the "# expires:" comments:
// "2026-08-04T14:41:30.440526026+00:00".
func FormatTOMLTime(t time.Time) string { return string(appendTime(nil, t, "+00:00")) }

func appendJSONStr(b []byte, s string) []byte { return plain.AppendQuoted(b, s, plain.JSON) }

func appendJSONOpt(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONStr(b, *s)
}

// AppendJSON writes the suspension as KumoMTA serializes it (compact,
// fields in order rule_hash, site_name, reason, source, expires).
func (s *ReadyQSuspension) AppendJSON(b []byte) []byte {
	b = append(b, `{"rule_hash":`...)
	b = appendJSONStr(b, s.RuleHash)
	b = append(b, `,"site_name":`...)
	b = appendJSONStr(b, s.SiteName)
	b = append(b, `,"reason":`...)
	b = appendJSONStr(b, s.Reason)
	b = append(b, `,"source":`...)
	b = appendJSONStr(b, s.Source)
	b = append(b, `,"expires":"`...)
	b = appendTime(b, s.Expires, "Z")
	return append(b, `"}`...)
}

// AppendJSON writes rule_hash, tenant, domain, campaign, reason, expires.
func (s *SchedQSuspension) AppendJSON(b []byte) []byte {
	b = append(b, `{"rule_hash":`...)
	b = appendJSONStr(b, s.RuleHash)
	b = append(b, `,"tenant":`...)
	b = appendJSONStr(b, s.Tenant)
	b = append(b, `,"domain":`...)
	b = appendJSONStr(b, s.Domain)
	b = append(b, `,"campaign":`...)
	b = appendJSONOpt(b, s.Campaign)
	b = append(b, `,"reason":`...)
	b = appendJSONStr(b, s.Reason)
	b = append(b, `,"expires":"`...)
	b = appendTime(b, s.Expires, "Z")
	return append(b, `"}`...)
}

// AppendJSON writes rule_hash, domain, tenant, campaign, reason, expires.
func (s *SchedQBounce) AppendJSON(b []byte) []byte {
	b = append(b, `{"rule_hash":`...)
	b = appendJSONStr(b, s.RuleHash)
	b = append(b, `,"domain":`...)
	b = appendJSONStr(b, s.Domain)
	b = append(b, `,"tenant":`...)
	b = appendJSONOpt(b, s.Tenant)
	b = append(b, `,"campaign":`...)
	b = appendJSONOpt(b, s.Campaign)
	b = append(b, `,"reason":`...)
	b = appendJSONStr(b, s.Reason)
	b = append(b, `,"expires":"`...)
	b = appendTime(b, s.Expires, "Z")
	return append(b, `"}`...)
}

// JSON is the /subscribe_event_v1 frame: {"ReadyQSuspension":{...}},
// {"SchedQSuspension":{...}} or {"SchedQBounce":{...}}.
func (ev Event) JSON() []byte {
	switch ev.Kind {
	case ReadyQEvent:
		return append(ev.ReadyQ.AppendJSON([]byte(`{"ReadyQSuspension":`)), '}')
	case SchedQEvent:
		return append(ev.SchedQ.AppendJSON([]byte(`{"SchedQSuspension":`)), '}')
	default:
		return append(ev.Bounce.AppendJSON([]byte(`{"SchedQBounce":`)), '}')
	}
}

// LegacyJSON is the /subscribe_suspension_v1 frame ({"ReadyQ":{...}} or
// {"SchedQ":{...}}); ok is false for bounces, which that stream skips.
func (ev Event) LegacyJSON() (frame []byte, ok bool) {
	switch ev.Kind {
	case ReadyQEvent:
		return append(ev.ReadyQ.AppendJSON([]byte(`{"ReadyQ":`)), '}'), true
	case SchedQEvent:
		return append(ev.SchedQ.AppendJSON([]byte(`{"SchedQ":`)), '}'), true
	}
	return nil, false
}

// SuspendedJSON is the body of GET /get_suspension_v1/suspended.json for
// the given (already filtered and sorted) entries.
func SuspendedJSON(ready []ReadyQSuspension, sched []SchedQSuspension) []byte {
	b := []byte(`{"ready_q":[`)
	for i := range ready {
		if i > 0 {
			b = append(b, ',')
		}
		b = ready[i].AppendJSON(b)
	}
	b = append(b, `],"sched_q":[`...)
	for i := range sched {
		if i > 0 {
			b = append(b, ',')
		}
		b = sched[i].AppendJSON(b)
	}
	return append(b, "]}"...)
}

// BouncedJSON is the body of GET /get_bounce_v1/bounced.json.
func BouncedJSON(bounces []SchedQBounce) []byte {
	b := []byte{'['}
	for i := range bounces {
		if i > 0 {
			b = append(b, ',')
		}
		b = bounces[i].AppendJSON(b)
	}
	return append(b, ']')
}

// ShapingTOML renders GET /get_config_v1/shaping.toml from the active
// overrides sorted by (expires, domain, source, name), as Snapshot sorts
// them. Each domain becomes a table whose mx_rollup is that of its first
// entry, with a sources.<source> table per source; for a repeated
// domain/source/name the last (latest-expiring) entry's value and comments
// win, in the key's first position. Newlines in reasons (only possible
// from a regex containing one) are written as "\n" so the comment stays
// one line, where KumoMTA writes invalid TOML; carriage returns are
// deleted, as KumoMTA does.
func ShapingTOML(overrides []ConfigOverride) string {
	type kv struct {
		name, value, reason, expires string
	}
	type source struct {
		name string
		keys []*kv
		idx  map[string]*kv
	}
	type domain struct {
		name    string
		rollup  bool
		sources []*source
		idx     map[string]*source
	}
	var doms []*domain
	byName := map[string]*domain{}
	for i := range overrides {
		o := &overrides[i]
		d := byName[o.Domain]
		if d == nil {
			d = &domain{name: o.Domain, rollup: o.MxRollup, idx: map[string]*source{}}
			byName[o.Domain] = d
			doms = append(doms, d)
		}
		s := d.idx[o.Source]
		if s == nil {
			s = &source{name: o.Source, idx: map[string]*kv{}}
			d.idx[o.Source] = s
			d.sources = append(d.sources, s)
		}
		k := s.idx[o.Name]
		if k == nil {
			k = &kv{name: o.Name}
			s.idx[o.Name] = k
			s.keys = append(s.keys, k)
		}
		k.value = tomlValue(o.Value)
		k.reason = commentText(o.Reason)
		k.expires = FormatTOMLTime(o.Expires)
	}

	var b strings.Builder
	n := strconv.Itoa(len(overrides))
	b.WriteString("# Generated by tsa-daemon\n# Number of entries: " + n + "\n\n")
	headers := 0
	header := func(path ...string) {
		if headers > 0 {
			b.WriteByte('\n')
		}
		headers++
		b.WriteByte('[')
		for i, p := range path {
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tomlKey(p))
		}
		b.WriteString("]\n")
	}
	for _, d := range doms {
		header(d.name)
		b.WriteString("mx_rollup = " + strconv.FormatBool(d.rollup) + "\n")
		header(d.name, "sources")
		for _, s := range d.sources {
			header(d.name, "sources", s.name)
			for _, k := range s.keys {
				b.WriteString("# reason: " + k.reason + "\n# expires: " + k.expires + "\n")
				b.WriteString(tomlKey(k.name) + " = " + k.value + "\n")
			}
		}
	}
	b.WriteString("\n\n# Generated by tsa-daemon\n# Number of entries: " + n + "\n")
	return b.String()
}

func commentText(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", `\n`)
}

// tomlKey is a key as toml_edit writes it: bare when it is non-empty and
// only [A-Za-z0-9_-]; otherwise quoted like a string value.
func tomlKey(k string) string {
	if k != "" && strings.IndexFunc(k, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) < 0 {
		return k
	}
	return tomlString(k)
}

// tomlString writes a basic string "..." unless s holds a quote, a
// backslash or a control character; then a literal '...' string when s
// allows one (no apostrophe, no control character but tab), else an
// escaped basic string.
func tomlString(s string) string {
	plainOK, literalOK := true, !strings.Contains(s, "'")
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			plainOK = false
		case r < 0x20 && r != '\t' || r == 0x7f:
			plainOK, literalOK = false, false
		case r < 0x20:
			plainOK = false
		}
	}
	switch {
	case plainOK:
		return `"` + s + `"`
	case literalOK:
		return "'" + s + "'"
	}
	return string(plain.AppendQuoted(nil, s, plain.TOML))
}

// tomlValue renders an option value: integers in decimal, floats with a
// ".0" when integral, booleans, strings, arrays "[1, 2]" and inline tables
// "{ a = 1, b = 2 }".
func tomlValue(v any) string {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		switch {
		case math.IsNaN(x):
			return "nan"
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		}
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.ContainsAny(s, ".") {
			s += ".0"
		}
		return s
	case string:
		return tomlString(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = tomlValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *plain.Map:
		if x.Len() == 0 {
			return "{}"
		}
		parts := make([]string, 0, x.Len())
		for _, k := range x.Keys() {
			parts = append(parts, tomlKey(k)+" = "+tomlValue(x.Value(k)))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return tomlString(fmt.Sprint(v))
}

// Renderers over the engine's current state.

// SuspendedJSON is the suspended.json body at now.
func (e *Engine) SuspendedJSON(now time.Time) []byte {
	s := e.Snapshot(now)
	return SuspendedJSON(s.ReadyQ(), s.SchedQ())
}

// BouncedJSON is the bounced.json body at now.
func (e *Engine) BouncedJSON(now time.Time) []byte { return BouncedJSON(e.Snapshot(now).BouncesOf()) }

// ShapingTOML is the shaping.toml body at now.
func (e *Engine) ShapingTOML(now time.Time) string {
	return ShapingTOML(e.Snapshot(now).OverridesOf())
}
