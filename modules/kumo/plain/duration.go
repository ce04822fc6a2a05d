package plain

// KumoMTA's durations: the humantime 2.x grammar for strings, plain
// numbers of seconds, and humantime's output format.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DurationError reports a duration that could not be parsed. Its Error text
// is serde's, exactly as KumoMTA reports it:
//
//	invalid value: string "5 parsecs", expected a duration
//
// Reason carries humantime's explanation (for example `unknown time unit
// "parsecs"`) for logs and diagnostics.
type DurationError struct {
	Input  string // the string as given
	Reason string // why it was rejected
}

func (e *DurationError) Error() string {
	return InvalidValue(e.Input, "a duration").Error()
}

// Unit lengths in seconds used by humantime: a month is 30.44 days and a
// year 365.25 days.
const (
	secondsPerMinute = 60
	secondsPerHour   = 3600
	secondsPerDay    = 86400
	secondsPerWeek   = 7 * secondsPerDay
	secondsPerMonth  = 2_630_016
	secondsPerYear   = 31_557_600
)

// durationUnits maps every unit spelling humantime 2.x accepts to its length
// in nanoseconds. Units are case-sensitive: `M` is months, `m` minutes.
var durationUnits = map[string]uint64{
	"nanos": 1, "nsec": 1, "ns": 1,
	"usec": 1e3, "us": 1e3, "µs": 1e3,
	"millis": 1e6, "msec": 1e6, "ms": 1e6,
	"seconds": 1e9, "second": 1e9, "secs": 1e9, "sec": 1e9, "s": 1e9,
	"minutes": secondsPerMinute * 1e9, "minute": secondsPerMinute * 1e9,
	"min": secondsPerMinute * 1e9, "mins": secondsPerMinute * 1e9, "m": secondsPerMinute * 1e9,
	"hours": secondsPerHour * 1e9, "hour": secondsPerHour * 1e9, "hr": secondsPerHour * 1e9,
	"hrs": secondsPerHour * 1e9, "h": secondsPerHour * 1e9,
	"days": secondsPerDay * 1e9, "day": secondsPerDay * 1e9, "d": secondsPerDay * 1e9,
	"weeks": secondsPerWeek * 1e9, "week": secondsPerWeek * 1e9, "wk": secondsPerWeek * 1e9,
	"wks": secondsPerWeek * 1e9, "w": secondsPerWeek * 1e9,
	"months": secondsPerMonth * 1e9, "month": secondsPerMonth * 1e9, "M": secondsPerMonth * 1e9,
	"years": secondsPerYear * 1e9, "year": secondsPerYear * 1e9, "yr": secondsPerYear * 1e9,
	"yrs": secondsPerYear * 1e9, "y": secondsPerYear * 1e9,
}

// ParseDuration parses a humantime duration string: one or more
// `<integer><unit>` items such as "5 minutes", "1h 30m", "300s", "1 day" or
// "10ms". Whitespace may separate the items and may appear between (and
// even inside) the digits of a number and its unit; a unit directly followed
// by digits starts the next item ("1h30m"). There are no fractions and no
// signs. The bare string "0" (or any run of zeros) is zero; any other number
// needs a unit. The unit spellings are those of humantime 2.4 (see
// durationUnits), including `µs` and `wk`/`yr`.
//
// Durations beyond time.Duration's range (about 292 years) are rejected.
// Errors are *DurationError.
func ParseDuration(s string) (time.Duration, error) {
	if s != "" && strings.Trim(s, "0") == "" {
		return 0, nil
	}
	p := durationParser{src: s}
	total, reason := p.parse()
	if reason != "" {
		return 0, &DurationError{Input: s, Reason: reason}
	}
	return time.Duration(total), nil
}

type durationParser struct {
	src   string
	pos   int    // byte offset of the next rune
	total uint64 // nanoseconds so far
}

func (p *durationParser) next() (rune, int, bool) {
	if p.pos >= len(p.src) {
		return 0, p.pos, false
	}
	r, size := utf8.DecodeRuneInString(p.src[p.pos:])
	off := p.pos
	p.pos += size
	return r, off, true
}

func isUnitRune(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == 'µ'
}

// firstDigit skips whitespace and returns the value of the digit that
// starts the next item; ok is false at the end of the input.
func (p *durationParser) firstDigit() (n uint64, ok bool, reason string) {
	start := p.pos // humantime reports where the skipping began
	for {
		r, _, more := p.next()
		if !more {
			return 0, false, ""
		}
		switch {
		case r >= '0' && r <= '9':
			return uint64(r - '0'), true, ""
		case unicode.IsSpace(r):
			continue
		default:
			return 0, false, fmt.Sprintf("expected number at %d", start)
		}
	}
}

// parse returns the total in nanoseconds, or a non-empty reason.
func (p *durationParser) parse() (uint64, string) {
	n, ok, reason := p.firstDigit()
	if reason != "" {
		return 0, reason
	}
	if !ok {
		return 0, "value was empty"
	}
	for {
		// The number: digits, possibly with whitespace, up to the unit.
		unitStart := len(p.src)
		for {
			r, off, more := p.next()
			if !more {
				break
			}
			if r >= '0' && r <= '9' {
				if n > (math.MaxUint64-9)/10 {
					return 0, "number is too large"
				}
				n = n*10 + uint64(r-'0')
				continue
			}
			if unicode.IsSpace(r) {
				continue
			}
			if isUnitRune(r) {
				unitStart = off
				break
			}
			return 0, fmt.Sprintf("invalid character at %d", off)
		}
		// The unit: letters up to a digit, whitespace or the end.
		unitEnd := len(p.src)
		nextDigit := -1
		if unitStart < len(p.src) {
			for {
				r, off, more := p.next()
				if !more {
					break
				}
				if isUnitRune(r) {
					continue
				}
				unitEnd = off
				if r >= '0' && r <= '9' {
					nextDigit = int(r - '0')
					break
				}
				if unicode.IsSpace(r) {
					break
				}
				return 0, fmt.Sprintf("invalid character at %d", off)
			}
		}
		if reason := p.addItem(n, p.src[unitStart:unitEnd]); reason != "" {
			return 0, reason
		}
		if nextDigit >= 0 {
			n = uint64(nextDigit)
			continue
		}
		n, ok, reason = p.firstDigit()
		if reason != "" {
			return 0, reason
		}
		if !ok {
			return p.total, ""
		}
	}
}

func (p *durationParser) addItem(n uint64, unit string) string {
	if unit == "" {
		return fmt.Sprintf("time unit needed, for example %dsec or %dms", n, n)
	}
	mult, ok := durationUnits[unit]
	if !ok {
		return fmt.Sprintf("unknown time unit %q, supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)", unit)
	}
	if n != 0 && mult > math.MaxInt64/n {
		return "number is too large"
	}
	add := n * mult
	if p.total > math.MaxInt64-add {
		return "number is too large"
	}
	p.total += add
	return ""
}

// DurationFromSeconds converts a numeric duration (a number in a Lua or
// JSON value, which KumoMTA reads as seconds) to a time.Duration. Integers
// must not be negative; floats give fractional seconds.
func DurationFromSeconds(secs float64) (time.Duration, error) {
	switch {
	case math.IsNaN(secs) || math.IsInf(secs, 0):
		return 0, InvalidValue(secs, "a duration")
	case secs < 0 && secs == math.Trunc(secs):
		return 0, fmt.Errorf("duration must either be a string or a positive integer specifying the number of seconds. (error: out of range integral type conversion attempted)")
	case secs < 0:
		return 0, InvalidValue(secs, "a non-negative duration")
	case secs >= float64(math.MaxInt64)/float64(time.Second):
		return 0, fmt.Errorf("invalid value: %v seconds, expected a duration shorter than %s", secs, FormatDuration(math.MaxInt64))
	}
	return time.Duration(math.Round(secs * float64(time.Second))), nil
}

// FormatDuration renders d as humantime does: space-separated items, the
// largest unit first, with `year(s)`, `month(s)` and `day(s)` written out and
// `h`, `m`, `s`, `ms`, `us`, `ns` abbreviated. Zero is "0s". For example
// 5400 s is "1h 30m", 7200 s is "2h" and 2592000 s is "30days". ParseDuration
// reads the result back to the same value. A negative duration (which
// KumoMTA cannot represent) is rendered with a leading "-".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	var abs uint64
	if d < 0 {
		b.WriteByte('-')
		abs = uint64(-(d + 1)) + 1 // safe for math.MinInt64
	} else {
		abs = uint64(d)
	}
	secs := abs / 1e9
	nanos := abs % 1e9

	years := secs / secondsPerYear
	rest := secs % secondsPerYear
	months := rest / secondsPerMonth
	rest %= secondsPerMonth
	days := rest / secondsPerDay
	rest %= secondsPerDay

	started := false
	item := func(v uint64, name string, plural bool) {
		if v == 0 {
			return
		}
		if started {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(v, 10))
		b.WriteString(name)
		if plural && v > 1 {
			b.WriteByte('s')
		}
		started = true
	}
	item(years, "year", true)
	item(months, "month", true)
	item(days, "day", true)
	item(rest/3600, "h", false)
	item(rest%3600/60, "m", false)
	item(rest%60, "s", false)
	item(nanos/1e6, "ms", false)
	item(nanos/1e3%1e3, "us", false)
	item(nanos%1e3, "ns", false)
	return b.String()
}
