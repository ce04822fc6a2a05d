package plain

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const (
		sec   = time.Second
		day   = 24 * time.Hour
		month = 2_630_016 * time.Second
		year  = 31_557_600 * time.Second
	)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"000", 0},
		{"0s", 0},
		{"10ms", 10 * time.Millisecond},
		{"300s", 300 * sec},
		{"5 minutes", 5 * time.Minute},
		{"1 minute", time.Minute},
		{"1 minutes", time.Minute},
		{"1h 30m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1 day", day},
		{"2days", 2 * day},
		{"  20 min 17 nsec ", 20*time.Minute + 17},
		{"1 0s", 10 * sec}, // humantime allows whitespace inside the digits
		{"17nanos", 17}, {"17nsec", 17}, {"33ns", 33},
		{"3usec", 3 * time.Microsecond}, {"78us", 78 * time.Microsecond}, {"163µs", 163 * time.Microsecond},
		{"31msec", 31 * time.Millisecond}, {"31millis", 31 * time.Millisecond},
		{"50seconds", 50 * sec}, {"1second", sec}, {"300secs", 300 * sec}, {"300sec", 300 * sec},
		{"100m", 100 * time.Minute}, {"12min", 12 * time.Minute}, {"12mins", 12 * time.Minute}, {"7minutes", 7 * time.Minute},
		{"2h", 2 * time.Hour}, {"7hr", 7 * time.Hour}, {"7hrs", 7 * time.Hour}, {"1hour", time.Hour}, {"24hours", day},
		{"365d", 365 * day},
		{"1week", 7 * day}, {"7weeks", 49 * day}, {"100wk", 700 * day}, {"2wks", 14 * day}, {"52w", 364 * day},
		{"1month", month}, {"3months", 3 * month}, {"12M", 12 * month},
		{"1year", year}, {"7years", 7 * year}, {"15yrs", 15 * year}, {"10yr", 10 * year}, {"17y", 17 * year},
		{"1h 1m 1s 1ms 1us 1ns", time.Hour + time.Minute + sec + time.Millisecond + time.Microsecond + 1},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	cases := []struct{ in, reason string }{
		{"", "value was empty"},
		{"   ", "value was empty"},
		{"10", "time unit needed, for example 10sec or 10ms"},
		{"0 ", "time unit needed"},
		{"5 parsecs", `unknown time unit "parsecs"`},
		{"5 Minutes", `unknown time unit "Minutes"`},
		{"1.5h", "invalid character at 1"},
		{"-5s", "expected number at 0"},
		{"5m,", "invalid character at 2"},
		{"2 hours min", "expected number at 8"},
		{"h", "expected number at 0"},
		{"1/minute", "invalid character at 1"},
		{"99999999999999999999999s", "number is too large"},
		{"300years", "number is too large"}, // beyond time.Duration
	}
	for _, c := range cases {
		_, err := ParseDuration(c.in)
		var de *DurationError
		if !errors.As(err, &de) {
			t.Errorf("ParseDuration(%q): got %v, want a *DurationError", c.in, err)
			continue
		}
		want := `invalid value: string "` + c.in + `", expected a duration`
		if err.Error() != want {
			t.Errorf("ParseDuration(%q) error = %q, want %q", c.in, err, want)
		}
		if de.Input != c.in || !strings.Contains(de.Reason, c.reason) {
			t.Errorf("ParseDuration(%q) reason = %q, want it to contain %q", c.in, de.Reason, c.reason)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{5400 * time.Second, "1h 30m"},
		{7200 * time.Second, "2h"},
		{2592000 * time.Second, "30days"},
		{86400 * time.Second, "1day"},
		{15 * time.Second, "15s"},
		{time.Minute + 500*time.Millisecond, "1m 500ms"},
		{1500 * time.Nanosecond, "1us 500ns"},
		{31_557_600 * time.Second, "1year"},
		{2*31_557_600*time.Second + 2_630_016*time.Second + 86400*time.Second + time.Second, "2years 1month 1day 1s"},
		{-90 * time.Second, "-1m 30s"},
	}
	for _, c := range cases {
		if got := FormatDuration(c.in); got != c.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	values := []time.Duration{1, 999, time.Microsecond, 1234567890, time.Hour + 7, 400 * 24 * time.Hour, math.MaxInt64}
	for s := time.Duration(0); s < 100000; s += 997 {
		values = append(values, s*time.Second, s*time.Second+s)
	}
	for _, d := range values {
		text := FormatDuration(d)
		back, err := ParseDuration(text)
		if err != nil || back != d {
			t.Fatalf("round trip of %d: %q -> %v, %v", d, text, back, err)
		}
	}
}

func TestDurationFromSeconds(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want time.Duration
	}{{0, 0}, {60, time.Minute}, {1.5, 1500 * time.Millisecond}, {0.001, time.Millisecond}} {
		got, err := DurationFromSeconds(c.in)
		if err != nil || got != c.want {
			t.Errorf("DurationFromSeconds(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []float64{-1, -0.5, math.NaN(), math.Inf(1), 1e12} {
		if _, err := DurationFromSeconds(bad); err == nil {
			t.Errorf("DurationFromSeconds(%v): no error", bad)
		}
	}
	if _, err := DurationFromSeconds(-5); err == nil || !strings.Contains(err.Error(), "positive integer specifying the number of seconds") {
		t.Errorf("negative integer error = %v", err)
	}
}
