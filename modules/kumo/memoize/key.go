package memoize

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Key identifies one entry of a cache: the caller's argument key (for
// kumo.memoize, the compact JSON of the arguments) and, for caches that
// invalidate with the epoch, the config epoch at the start of the lookup.
type Key struct {
	Epoch    uint64
	HasEpoch bool
	Args     string
}

// String renders the key as KumoMTA's error messages do, the Rust Debug
// form of the (Option<ConfigEpoch>, String) pair:
//
//	(Some(ConfigEpoch(3)), "[1,2]")
//	(None, "\"a\"")
func (k Key) String() string {
	var b strings.Builder
	if k.HasEpoch {
		fmt.Fprintf(&b, "(Some(ConfigEpoch(%d)), ", k.Epoch)
	} else {
		b.WriteString("(None, ")
	}
	b.WriteString(plain.Quote(k.Args))
	b.WriteByte(')')
	return b.String()
}

// formatRustDuration renders d as Rust's Debug for Duration does: "2s",
// "1.5s", "120s", "250ms", "10µs", "7ns".
func formatRustDuration(d time.Duration) string {
	if d < 0 {
		return "-" + formatRustDuration(-d)
	}
	secs := uint64(d / time.Second)
	nanos := uint64(d % time.Second)
	switch {
	case secs > 0:
		return withFraction(secs, nanos, 9) + "s"
	case nanos >= 1e6:
		return withFraction(nanos/1e6, nanos%1e6, 6) + "ms"
	case nanos >= 1e3:
		return withFraction(nanos/1e3, nanos%1e3, 3) + "µs"
	default:
		return strconv.FormatUint(nanos, 10) + "ns"
	}
}

// withFraction renders whole plus frac/10^digits, without trailing zeros.
func withFraction(whole, frac uint64, digits int) string {
	s := strconv.FormatUint(whole, 10)
	if frac == 0 {
		return s
	}
	f := fmt.Sprintf("%0*d", digits, frac)
	return s + "." + strings.TrimRight(f, "0")
}

// TimeoutError is returned to a caller that waited for another caller's
// population of the same key until its populate deadline.
type TimeoutError struct {
	Cache   string
	Key     Key
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s lookup for %s timed out after %s on semaphore acquire while waiting for cache to populate",
		e.Cache, e.Key, formatRustDuration(e.Timeout))
}

// CancelledError is returned to a caller whose context ended while it
// waited for another caller's population. It unwraps to the context's
// error.
type CancelledError struct {
	Cache string
	Key   Key
	Err   error
}

func (e *CancelledError) Error() string {
	return fmt.Sprintf("%s lookup for %s was cancelled while waiting for cache to populate: %v", e.Cache, e.Key, e.Err)
}

func (e *CancelledError) Unwrap() error { return e.Err }
