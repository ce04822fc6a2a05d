package egress

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// ThrottleSpec is KumoMTA's rate: Limit events per
// Period seconds, with an optional burst and a process-local flag. It is
// written `["local:"] LIMIT "/" [MULT] UNIT [",max_burst=" BURST]`, for
// example "100/h", "local:10/min", "1,000/hr" or "50/day,max_burst=1".
type ThrottleSpec struct {
	Limit      uint64
	Period     uint64 // seconds
	MaxBurst   uint64 // meaningful when HasBurst
	HasBurst   bool
	ForceLocal bool
}

// String renders the canonical form KumoMTA serializes: the period is `d`,
// `h`, `m` or `s` when it is exactly 86400, 3600, 60 or 1 seconds, and
// `<seconds>s` otherwise ("local:100/123m" becomes "local:100/7380s").
func (t ThrottleSpec) String() string {
	var b strings.Builder
	if t.ForceLocal {
		b.WriteString("local:")
	}
	b.WriteString(strconv.FormatUint(t.Limit, 10))
	b.WriteByte('/')
	switch t.Period {
	case 86400:
		b.WriteByte('d')
	case 3600:
		b.WriteByte('h')
	case 60:
		b.WriteByte('m')
	case 1:
		b.WriteByte('s')
	default:
		b.WriteString(strconv.FormatUint(t.Period, 10))
		b.WriteByte('s')
	}
	if t.HasBurst {
		b.WriteString(",max_burst=")
		b.WriteString(strconv.FormatUint(t.MaxBurst, 10))
	}
	return b.String()
}

// Burst returns the effective burst: MaxBurst when set, else Limit.
func (t ThrottleSpec) Burst() uint64 {
	if t.HasBurst {
		return t.MaxBurst
	}
	return t.Limit
}

// PerSecond returns the rate in events per second.
func (t ThrottleSpec) PerSecond() float64 {
	if t.Period == 0 {
		return 0
	}
	return float64(t.Limit) / float64(t.Period)
}

// throttleUnits maps each accepted unit to its length in seconds. Plurals
// ("minutes") are not accepted.
var throttleUnits = map[string]uint64{
	"h": 3600, "hr": 3600, "hour": 3600,
	"m": 60, "min": 60, "minute": 60,
	"s": 1, "sec": 1, "second": 1,
	"d": 86400, "day": 86400,
}

// ParseThrottleSpec parses a rate. The steps, and so which error a
// malformed string reports, follow KumoMTA exactly:
//
//  1. an optional "local:" prefix is removed;
//  2. the string is split at the first ",max_burst=", and the burst is
//     parsed (`invalid limit '<b>': ...`);
//  3. the rest is split at the first "/" (`expected 'limit/period', got <s>`);
//  4. the period's leading digits are a multiplier (`invalid period
//     quantity <p>` when the period is only digits, `number too big` on
//     overflow), and the remainder must be a unit (`unknown period quantity
//     <u>`);
//  5. the limit is parsed with '_' and ',' ignored (`invalid limit '<l>':
//     ...`) and must not be zero (“invalid ThrottleSpec `<s>`: limit must
//     be greater than 0!“).
//
// So "three/hour" reports the limit and "100/our" the unit. No whitespace
// is allowed anywhere.
func ParseThrottleSpec(s string) (ThrottleSpec, error) {
	var t ThrottleSpec
	s, t.ForceLocal = strings.CutPrefix(s, "local:")
	if rate, burst, ok := strings.Cut(s, ",max_burst="); ok {
		n, err := parseSeparatedNumber(burst)
		if err != nil {
			return ThrottleSpec{}, err
		}
		s, t.MaxBurst, t.HasBurst = rate, n, true
	}
	limit, period, ok := strings.Cut(s, "/")
	if !ok {
		return ThrottleSpec{}, fmt.Errorf("expected 'limit/period', got %s", s)
	}
	scale, unit, err := periodScale(period)
	if err != nil {
		return ThrottleSpec{}, err
	}
	secs, ok := throttleUnits[unit]
	if !ok {
		return ThrottleSpec{}, fmt.Errorf("unknown period quantity %s", unit)
	}
	hi, p := bits.Mul64(secs, scale)
	if hi != 0 {
		return ThrottleSpec{}, errors.New("number too big")
	}
	t.Period = p
	n, err := parseSeparatedNumber(limit)
	if err != nil {
		return ThrottleSpec{}, err
	}
	if n == 0 {
		return ThrottleSpec{}, fmt.Errorf("invalid ThrottleSpec `%s`: limit must be greater than 0!", s)
	}
	t.Limit = n
	return t, nil
}

// periodScale splits the leading ASCII digits of a period off as a
// multiplier (1 when there are none).
func periodScale(p string) (uint64, string, error) {
	i := 0
	var n uint64
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		hi, lo := bits.Mul64(n, 10)
		sum, carry := bits.Add64(lo, uint64(p[i]-'0'), 0)
		if hi != 0 || carry != 0 {
			return 0, "", errors.New("number too big")
		}
		n = sum
		i++
	}
	if i == len(p) {
		return 0, "", fmt.Errorf("invalid period quantity %s", p)
	}
	if i == 0 {
		n = 1
	}
	return n, p[i:], nil
}

// parseSeparatedNumber parses a count in which '_' and ',' are ignored.
func parseSeparatedNumber(s string) (uint64, error) {
	n, reason := parseRustUint(removeSeparators(s), 64)
	if reason != "" {
		return 0, fmt.Errorf("invalid limit '%s': %s", s, reason)
	}
	return n, nil
}

// DecodeThrottleSpec converts plain data to a ThrottleSpec. Only strings
// are accepted; any other kind gives `invalid type: ..., expected a
// string`.
func DecodeThrottleSpec(v any) (ThrottleSpec, error) {
	s, ok := v.(string)
	if !ok {
		return ThrottleSpec{}, plain.InvalidType(v, "a string")
	}
	t, err := throttleMemo.Parse(s, ParseThrottleSpec)
	if err != nil {
		return ThrottleSpec{}, &plain.Error{Msg: err.Error()}
	}
	return t, nil
}

// throttleMemo keeps the rates parsed from strings.
var throttleMemo = plain.NewParseMemo[ThrottleSpec](4096)
