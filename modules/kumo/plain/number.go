package plain

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// isInteger reports whether f is integral and fits in an int64 (the rule
// luart uses to turn Lua numbers into integers).
func isInteger(f float64) bool {
	return f == math.Trunc(f) && !math.IsInf(f, 0) && f >= -9.223372036854775808e18 && f < 9.223372036854775808e18
}

// FormatNumber renders a finite float64: integral values that fit in an
// int64 as integers (gopher-lua has no separate integer type, so 10 and
// 10.0 are the same value), everything else in the shortest form that
// reads back to the same float, laid out the way serde_json (ryu) does:
// plain decimals for magnitudes in [1e-5, 1e16), otherwise an exponent
// such as 1e-7 or 1.5e300.
func FormatNumber(f float64) string {
	return string(appendNumber(nil, f))
}

func appendNumber(dst []byte, f float64) []byte {
	if isInteger(f) {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return append(dst, formatFloat(f)...)
}

// formatFloat lays out a finite float64 like ryu's pretty printer.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	var b strings.Builder
	if s[0] == '-' {
		b.WriteByte('-')
		s = s[1:]
	}
	epos := strings.IndexByte(s, 'e')
	digits := strings.Replace(s[:epos], ".", "", 1)
	exp, _ := strconv.Atoi(s[epos+1:])
	length := len(digits)
	k := exp - (length - 1) // value = digits × 10^k
	kk := length + k        // 10^(kk-1) <= value < 10^kk
	switch {
	case k >= 0 && kk <= 16:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", k))
		b.WriteString(".0")
	case kk > 0 && kk <= 16:
		b.WriteString(digits[:kk])
		b.WriteByte('.')
		b.WriteString(digits[kk:])
	case kk > -5 && kk <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -kk))
		b.WriteString(digits)
	case length == 1:
		b.WriteString(digits)
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(kk - 1))
	default:
		b.WriteByte(digits[0])
		b.WriteByte('.')
		b.WriteString(digits[1:])
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(kk - 1))
	}
	return b.String()
}

// luaNumberName renders a number for messages: NaN and the infinities as
// Lua prints them (which is also how Rust does), others as FormatNumber.
func luaNumberName(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return FormatRustFloat(f)
	}
	return FormatNumber(f)
}

// FormatTime renders a time as text. Times carrying one of the TOML
// decoder's local-time markers are written in the matching TOML local form
// (2006-01-02T15:04:05, 2006-01-02 or 15:04:05, with fractional seconds when
// present); other times are written in RFC 3339 with their offset.
func FormatTime(t time.Time) string {
	switch t.Location().String() {
	case "datetime-local":
		return t.Format("2006-01-02T15:04:05.999999999")
	case "date-local":
		return t.Format("2006-01-02")
	case "time-local":
		return t.Format("15:04:05.999999999")
	}
	return t.Format(time.RFC3339Nano)
}
