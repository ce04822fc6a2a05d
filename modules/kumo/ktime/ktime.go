// Package ktime is the Lua-free core of kumo.time: KumoMTA's Time (a UTC
// instant) and TimeDelta (a signed interval) texts, parsing and strftime
// formatting. Texts follow what KumoMTA prints: Display as
// "2000-01-02 03:04:05 UTC" (fractional seconds in groups of 3 digits when
// not whole), RFC 2822 with an unpadded day, RFC 3339 with "+00:00".
package ktime

import (
	"fmt"
	"math"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// fraction renders t's nanoseconds as chrono's automatic precision: none
// when zero, else a dot and 3, 6 or 9 digits, the fewest that are exact.
func fraction(t time.Time) string {
	ns := t.Nanosecond()
	switch {
	case ns == 0:
		return ""
	case ns%1_000_000 == 0:
		return fmt.Sprintf(".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		return fmt.Sprintf(".%06d", ns/1_000)
	}
	return fmt.Sprintf(".%09d", ns)
}

// Display is tostring(Time): "2000-01-02 03:04:05 UTC",
// "1970-01-01 00:00:00.500 UTC".
func Display(t time.Time) string {
	t = t.UTC()
	return t.Format("2006-01-02 15:04:05") + fraction(t) + " UTC"
}

// RFC2822 is Time.rfc2822: "Sun, 2 Jan 2000 03:04:05 +0000".
func RFC2822(t time.Time) string {
	return t.UTC().Format("Mon, 2 Jan 2006 15:04:05 -0700")
}

// RFC3339 is Time.rfc3339: "2000-01-02T03:04:05+00:00", with fractional
// seconds when not whole.
func RFC3339(t time.Time) string {
	t = t.UTC()
	return t.Format("2006-01-02T15:04:05") + fraction(t) + "+00:00"
}

// ParseRFC2822 parses an RFC 2822 date (obsolete zone names such as "UT",
// "GMT" and also "UTC" accepted) and returns it in UTC.
func ParseRFC2822(s string) (time.Time, error) {
	t, err := mail.ParseDate(strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid RFC 2822 date %q: %v", s, err)
	}
	return t.UTC(), nil
}

// ParseRFC3339 parses an RFC 3339 timestamp and returns it in UTC.
func ParseRFC3339(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid RFC 3339 timestamp %q: %v", s, err)
	}
	return t.UTC(), nil
}

// FromUnix converts seconds since the epoch (fractional allowed) to a Time.
func FromUnix(secs float64) (time.Time, error) {
	if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > 8e12 {
		return time.Time{}, fmt.Errorf("unix timestamp %v is out of range", secs)
	}
	whole := math.Floor(secs)
	ns := math.Round((secs - whole) * 1e9)
	return time.Unix(int64(whole), int64(ns)).UTC(), nil
}

// WithYMDHMS builds a UTC time, rejecting fields out of their range (a
// 31st of February, hour 24, ...) rather than normalizing them.
func WithYMDHMS(year, month, day, hour, minute, second int64) (time.Time, error) {
	bad := month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || second < 0 || second > 59 || year < -262143 || year > 262142
	if !bad {
		t := time.Date(int(year), time.Month(month), int(day), int(hour), int(minute), int(second), 0, time.UTC)
		if t.Day() == int(day) {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date or time %04d-%02d-%02d %02d:%02d:%02d", year, month, day, hour, minute, second)
}

// Human is TimeDelta.human and tostring(TimeDelta): humantime's format
// ("500ms", "5m", "1h 30m"), with a leading "-" when negative.
func Human(d time.Duration) string { return plain.FormatDuration(d) }

// DeltaFromSeconds converts a signed number of seconds to a TimeDelta.
func DeltaFromSeconds(secs float64) (time.Duration, error) {
	if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) >= float64(math.MaxInt64)/1e9 {
		return 0, fmt.Errorf("duration of %v seconds is out of range", secs)
	}
	return time.Duration(math.Round(secs * 1e9)), nil
}

// ParseDelta parses a humantime duration string ("5 mins", "2s").
func ParseDelta(s string) (time.Duration, error) {
	d, err := plain.ParseDuration(s)
	if err != nil {
		if de, ok := err.(*plain.DurationError); ok {
			return 0, fmt.Errorf("%v (%s)", err, de.Reason)
		}
		return 0, err
	}
	return d, nil
}

var (
	shortDays   = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDays    = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	shortMonths = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	longMonths  = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// Format formats t (in UTC) with chrono's strftime specifiers. It is
// lenient: a specifier it does not know, and a lone trailing '%', are
// copied to the output as written.
func Format(t time.Time, layout string) string {
	t = t.UTC()
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		c := layout[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		start := i
		i++
		if i >= len(layout) {
			b.WriteByte('%')
			break
		}
		// Padding modifier: '-' none, '_' spaces, '0' zeros.
		pad := byte(0)
		if p := layout[i]; p == '-' || p == '_' || p == '0' {
			pad = p
			i++
		}
		// Fraction and colon forms: %.f %.3f %3f %:z ...
		spec := ""
		for i < len(layout) && strings.IndexByte(".:0123456789", layout[i]) >= 0 && spec == "" {
			j := i
			for j < len(layout) && strings.IndexByte(".:369", layout[j]) >= 0 {
				j++
			}
			if j < len(layout) {
				spec = layout[i : j+1]
				i = j
			}
			break
		}
		if spec == "" {
			if i >= len(layout) {
				b.WriteString(layout[start:])
				break
			}
			spec = layout[i : i+1]
		}
		out, ok := formatSpec(t, spec, pad)
		if !ok {
			b.WriteString(layout[start : i+1])
			continue
		}
		b.WriteString(out)
	}
	return b.String()
}

func num(v, width int, def, pad byte) string {
	if pad == 0 {
		pad = def
	}
	s := strconv.Itoa(v)
	switch pad {
	case '-':
		return s
	case '_':
		pad = ' '
	}
	neg := v < 0
	if neg {
		s = s[1:]
	}
	for len(s) < width {
		s = string(pad) + s
	}
	if neg {
		s = "-" + s
	}
	return s
}

func formatSpec(t time.Time, spec string, pad byte) (string, bool) {
	year, week := t.ISOWeek()
	switch spec {
	case "Y":
		return num(t.Year(), 4, '0', pad), true
	case "C":
		return num(t.Year()/100, 2, '0', pad), true
	case "y":
		return num(t.Year()%100, 2, '0', pad), true
	case "m":
		return num(int(t.Month()), 2, '0', pad), true
	case "b", "h":
		return shortMonths[t.Month()-1], true
	case "B":
		return longMonths[t.Month()-1], true
	case "d":
		return num(t.Day(), 2, '0', pad), true
	case "e":
		return num(t.Day(), 2, '_', pad), true
	case "a":
		return shortDays[t.Weekday()], true
	case "A":
		return longDays[t.Weekday()], true
	case "w":
		return strconv.Itoa(int(t.Weekday())), true
	case "u":
		return strconv.Itoa((int(t.Weekday())+6)%7 + 1), true
	case "U":
		return num((t.YearDay()+6-int(t.Weekday()))/7, 2, '0', pad), true
	case "W":
		return num((t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2, '0', pad), true
	case "G":
		return num(year, 4, '0', pad), true
	case "g":
		return num(year%100, 2, '0', pad), true
	case "V":
		return num(week, 2, '0', pad), true
	case "j":
		return num(t.YearDay(), 3, '0', pad), true
	case "D", "x":
		return t.Format("01/02/06"), true
	case "F":
		return num(t.Year(), 4, '0', 0) + t.Format("-01-02"), true
	case "v":
		return num(t.Day(), 2, ' ', 0) + "-" + shortMonths[t.Month()-1] + "-" + num(t.Year(), 4, '0', 0), true
	case "H":
		return num(t.Hour(), 2, '0', pad), true
	case "k":
		return num(t.Hour(), 2, '_', pad), true
	case "I":
		return num((t.Hour()+11)%12+1, 2, '0', pad), true
	case "l":
		return num((t.Hour()+11)%12+1, 2, '_', pad), true
	case "P":
		return strings.ToLower(t.Format("PM")), true
	case "p":
		return t.Format("PM"), true
	case "M":
		return num(t.Minute(), 2, '0', pad), true
	case "S":
		return num(t.Second(), 2, '0', pad), true
	case "f":
		return fmt.Sprintf("%09d", t.Nanosecond()), true
	case ".f":
		return fraction(t), true
	case ".3f", "3f":
		return strings.TrimPrefix(fmt.Sprintf(".%03d", t.Nanosecond()/1e6), strings.TrimSuffix(".", spec[:1])), true
	case ".6f", "6f":
		return strings.TrimPrefix(fmt.Sprintf(".%06d", t.Nanosecond()/1e3), strings.TrimSuffix(".", spec[:1])), true
	case ".9f", "9f":
		return strings.TrimPrefix(fmt.Sprintf(".%09d", t.Nanosecond()), strings.TrimSuffix(".", spec[:1])), true
	case "R":
		return t.Format("15:04"), true
	case "T", "X":
		return t.Format("15:04:05"), true
	case "r":
		return t.Format("03:04:05 PM"), true
	case "Z":
		return "UTC", true
	case "z":
		return "+0000", true
	case ":z":
		return "+00:00", true
	case "c":
		return t.Format("Mon Jan ") + num(t.Day(), 2, ' ', 0) + t.Format(" 15:04:05 2006"), true
	case "+":
		return RFC3339(t), true
	case "s":
		return strconv.FormatInt(t.Unix(), 10), true
	case "t":
		return "\t", true
	case "n":
		return "\n", true
	case "%":
		return "%", true
	}
	return "", false
}
