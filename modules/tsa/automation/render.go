package automation

import (
	"fmt"
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

	n := strconv.Itoa(len(overrides))
	b := []byte("# Generated by tsa-daemon\n# Number of entries: " + n + "\n\n")
	headers := 0
	header := func(path ...string) {
		if headers > 0 {
			b = append(b, '\n')
		}
		headers++
		b = plain.AppendTOMLHeader(b, path, false, plain.TOMLEdit)
	}
	for _, d := range doms {
		header(d.name)
		b = append(b, "mx_rollup = "+strconv.FormatBool(d.rollup)+"\n"...)
		header(d.name, "sources")
		for _, s := range d.sources {
			header(d.name, "sources", s.name)
			for _, k := range s.keys {
				b = append(b, "# reason: "+k.reason+"\n# expires: "+k.expires+"\n"...)
				b = plain.AppendTOMLKey(b, k.name, plain.TOMLEdit)
				b = append(b, " = "+k.value+"\n"...)
			}
		}
	}
	b = append(b, "\n\n# Generated by tsa-daemon\n# Number of entries: "+n+"\n"...)
	return string(b)
}

func commentText(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", `\n`)
}

// tomlValue renders an option value as toml_edit writes it (plain's
// TOMLEdit style); a value TOML cannot hold (nil) is written as a string,
// its Go form, so that the file stays valid TOML.
func tomlValue(v any) string {
	b, err := plain.AppendTOMLValue(nil, v, plain.TOMLEdit)
	if err != nil {
		b, _ = plain.AppendTOMLValue(nil, fmt.Sprint(v), plain.TOMLEdit)
	}
	return string(b)
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
