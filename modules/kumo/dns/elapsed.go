package dns

import (
	"strconv"
	"strings"
	"time"
)

// formatElapsed renders d like Rust's Debug formatting of a Duration, which
// is what KumoMTA's "MX lookup for X failed after ELAPSED" errors show:
// seconds, milliseconds, microseconds or nanoseconds with every significant
// fractional digit (`5.000218431s`, `1.5ms`, `812.3µs`, `950ns`), never
// minutes.
func formatElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	n := uint64(d)
	switch {
	case n >= 1e9:
		return decimal(n/1e9, n%1e9, 9, "s")
	case n >= 1e6:
		return decimal(n/1e6, n%1e6, 6, "ms")
	case n >= 1e3:
		return decimal(n/1e3, n%1e3, 3, "µs")
	default:
		return strconv.FormatUint(n, 10) + "ns"
	}
}

func decimal(whole, frac uint64, digits int, unit string) string {
	s := strconv.FormatUint(whole, 10)
	if frac != 0 {
		f := strconv.FormatUint(frac, 10)
		f = strings.Repeat("0", digits-len(f)) + f
		s += "." + strings.TrimRight(f, "0")
	}
	return s + unit
}
