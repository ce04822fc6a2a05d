package logrecord

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Types are the record type names.
var Types = []string{
	"Reception", "Delivery", "Bounce", "TransientFailure", "Expiration",
	"AdminBounce", "OOB", "Feedback", "Rejection", "AdminRebind",
	"DeferredInjectionRebind", "Delayed", "XferOut", "XferIn", "Any",
}

// Record is the part of a log record kumopolicy uses.
type Record struct {
	Type                 string
	ID                   string
	Sender               string
	Recipients           []string
	Queue                string
	Site                 string
	Size                 uint64
	Response             Response
	Timestamp            int64
	EventTime            time.Time // zero when absent
	Created              int64
	NumAttempts          uint16
	BounceClassification string
	NodeID               string
	EgressSource         string // "" when absent or null
	// EgressSourceSet reports that egress_source was present and not
	// null, telling an explicit "" from an absent source.
	EgressSourceSet   bool
	EgressPool        string
	ReceptionProtocol string
}

// Response is the remote server's response.
type Response struct {
	Code     uint16
	Enhanced *EnhancedCode
	Content  string
	Command  string
}

// EnhancedCode is an RFC 3463 enhanced status code.
type EnhancedCode struct {
	Class   uint8
	Subject uint16
	Detail  uint16
}

// Time is the record's time: event_time when present, else timestamp.
func (r *Record) Time() time.Time {
	if !r.EventTime.IsZero() {
		return r.EventTime
	}
	return time.Unix(r.Timestamp, 0).UTC()
}

// ParseJSON decodes one JSON record. It reads the text directly into the
// Record (parseFast) and, for any text that path does not accept, runs the
// reference path (parseSlow: plain.ParseJSON, then Decode), so that what is
// accepted, the Record and every error text are the reference path's.
func ParseJSON(data []byte) (*Record, error) {
	if r, ok := parseFast(data); ok {
		return r, nil
	}
	return parseSlow(data)
}

// parseSlow parses the text into plain data and decodes that: the
// reference for parseFast.
func parseSlow(data []byte) (*Record, error) {
	raw, _, err := plain.ParseJSON(data, plain.ParseOptions{})
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return Decode(raw)
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// Decode reads a record from plain data (map[string]any with int64/float64
// numbers, as encoding/json with integers kept or luart.ToGo produce).
// Errors are located by the field's path, as every decoder of the project
// does: "missing field `site`", "size: invalid type: ...",
// "response.enhanced_code.class: invalid value: ...".
func Decode(v any) (*Record, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("invalid type: %s, expected a log record object", plain.Describe(v))
	}
	d := decoder{m: m}
	r := &Record{}
	r.Type = d.str("type", true)
	if d.err == nil && !validType(r.Type) {
		d.failAt("type", plain.UnknownVariant(r.Type, Types))
	}
	r.ID = d.str("id", true)
	r.Sender = d.str("sender", true)
	r.Recipients = d.recipients()
	r.Queue = d.str("queue", true)
	r.Site = d.str("site", true)
	r.Size = uint64(d.uint("size", true, math.MaxInt64))
	r.Response = d.response()
	r.Timestamp = d.int("timestamp", true)
	r.Created = d.int("created", true)
	r.NumAttempts = uint16(d.uint("num_attempts", true, math.MaxUint16))
	r.BounceClassification = d.str("bounce_classification", true)
	d.object("meta", true)
	d.object("headers", true)
	r.NodeID = d.str("nodeid", true)
	if d.err == nil && !uuidRe.MatchString(r.NodeID) {
		d.failAt("nodeid", plain.InvalidValue(r.NodeID, "a UUID"))
	}
	if et := d.str("event_time", false); et != "" && d.err == nil {
		t, err := ParseEventTime(et)
		if err != nil {
			d.failAt("event_time", plain.InvalidValue(et, "an RFC 3339 time"))
		}
		r.EventTime = t
	}
	r.EgressSource = d.str("egress_source", false)
	r.EgressSourceSet = m["egress_source"] != nil
	r.EgressPool = d.str("egress_pool", false)
	r.ReceptionProtocol = d.str("reception_protocol", false)
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

func validType(t string) bool {
	for _, x := range Types {
		if x == t {
			return true
		}
	}
	return false
}

type decoder struct {
	m   map[string]any
	err error
}

// failAt records the first error, located at the field.
func (d *decoder) failAt(field string, err error) {
	if d.err == nil {
		d.err = plain.AtField(err, field)
	}
}

func (d *decoder) get(key string, required bool) (any, bool) {
	v, ok := d.m[key]
	if !ok || v == nil {
		if required {
			if d.err == nil {
				d.err = plain.MissingField(key)
			}
		}
		return nil, false
	}
	return v, true
}

func (d *decoder) str(key string, required bool) string {
	v, ok := d.get(key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.failAt(key, plain.InvalidType(v, "a string"))
	}
	return s
}

func (d *decoder) int(key string, required bool) int64 {
	v, ok := d.get(key, required)
	if !ok {
		return 0
	}
	i, ok := v.(int64)
	if !ok {
		d.failAt(key, plain.InvalidType(v, "an integer"))
	}
	return i
}

func (d *decoder) uint(key string, required bool, limit int64) int64 {
	i := d.int(key, required)
	if i < 0 || i > limit {
		d.failAt(key, plain.InvalidValue(i, fmt.Sprintf("an integer from 0 to %d", limit)))
	}
	return i
}

func (d *decoder) object(key string, required bool) map[string]any {
	v, ok := d.get(key, required)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		return x
	case []any:
		if len(x) == 0 { // an empty Lua table marked as an array
			return map[string]any{}
		}
	}
	d.failAt(key, plain.InvalidType(v, "a map"))
	return nil
}

func (d *decoder) recipients() []string {
	v, ok := d.get("recipient", true)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				d.failAt("recipient", plain.AtIndex(plain.InvalidType(e, "a string"), i+1))
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	d.failAt("recipient", plain.InvalidType(v, "a string or an array of strings"))
	return nil
}

func (d *decoder) response() Response {
	v, ok := d.get("response", true)
	if !ok {
		return Response{}
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.failAt("response", plain.InvalidType(v, "a map"))
		return Response{}
	}
	sub := decoder{m: m}
	resp := Response{
		Code:    uint16(sub.uint("code", true, math.MaxUint16)),
		Content: sub.str("content", true),
		Command: sub.str("command", false),
	}
	if ec, ok := sub.get("enhanced_code", false); ok {
		em, ok := ec.(map[string]any)
		if !ok {
			sub.failAt("enhanced_code", plain.InvalidType(ec, "a map"))
		} else {
			e := decoder{m: em}
			resp.Enhanced = &EnhancedCode{
				Class:   uint8(e.uint("class", true, math.MaxUint8)),
				Subject: uint16(e.uint("subject", true, math.MaxUint16)),
				Detail:  uint16(e.uint("detail", true, math.MaxUint16)),
			}
			if e.err != nil {
				sub.failAt("enhanced_code", e.err)
			}
		}
	}
	if sub.err != nil {
		d.failAt("response", sub.err)
	}
	return resp
}

// eventTimeRe is RFC 3339 as KumoMTA reads event_time: 'T', 't' or a space
// between date and time, fields without their leading zeros, any number of
// fractional digits, and a zone of Z, UTC or an offset with or without its
// colon.
var eventTimeRe = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))? ?(Z|z|UTC|[+-]\d{2}:?\d{2})$`)

// ParseEventTime parses an event_time value leniently (see eventTimeRe),
// keeping the full sub-second precision (nanoseconds; further digits are
// dropped), as an instant in UTC. Out-of-range fields are errors.
func ParseEventTime(s string) (time.Time, error) {
	m := eventTimeRe.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time: %q", s)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	year, month, day, hour, minute, sec := n(1), n(2), n(3), n(4), n(5), n(6)
	nanos := 0
	if frac := m[7]; frac != "" {
		frac = (frac + "000000000")[:9]
		nanos, _ = strconv.Atoi(frac)
	}
	offset := 0
	if z := m[8]; z != "Z" && z != "z" && z != "UTC" {
		sign := 1
		if z[0] == '-' {
			sign = -1
		}
		digits := strings.ReplaceAll(z[1:], ":", "")
		h, _ := strconv.Atoi(digits[:2])
		mm, _ := strconv.Atoi(digits[2:])
		if h > 23 || mm > 59 {
			return time.Time{}, fmt.Errorf("invalid UTC offset in %q", s)
		}
		offset = sign * (h*3600 + mm*60)
	}
	if month < 1 || month > 12 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, fmt.Errorf("field out of range in %q", s)
	}
	leap := sec == 60
	if leap {
		sec = 59
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.FixedZone("", offset))
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("no such date in %q", s)
	}
	if leap {
		t = t.Add(time.Second)
	}
	return t.UTC(), nil
}
