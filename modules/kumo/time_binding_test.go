package kumo_test

import (
	"reflect"
	"strings"
	"testing"
)

func TestTimeObjects(t *testing.T) {
	got := runRegex(t, `
local t = kumo.time.with_ymd_hms(2000, 1, 2, 3, 4, 5)
local later = t + kumo.time.parse_duration '1h 30m'
local d = later - t
return tostring(t), t.unix_timestamp, math.type and math.type(t.unix_timestamp) or 'n/a', t.unix_timestamp_millis,
  tostring(later), d.seconds, d.milliseconds, tostring(d), t < later, later <= t,
  t == kumo.time.parse_rfc3339 '2000-01-02T03:04:05Z', t:format '%Y%m%d',
  tostring(kumo.time.from_unix_timestamp(-1)), tostring(kumo.time.parse_duration(-3)),
  kumo.time.parse_duration('2s') == kumo.time.parse_duration(2), kumo.time.parse_duration('1m') < kumo.time.parse_duration(61)`)
	want := []any{"2000-01-02 03:04:05 UTC", int64(946782245), "integer", int64(946782245000),
		"2000-01-02 04:34:05 UTC", int64(5400), int64(5400000), "1h 30m", true, false,
		true, "20000102", "1969-12-31 23:59:59 UTC", "-3s", true, true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

func TestTimeTimer(t *testing.T) {
	got := runRegex(t, `
local timer = kumo.time.start_timer 'op'
local a = timer:done()
local b = timer:done()
return type(a), b >= a, tostring(timer)`)
	if !reflect.DeepEqual(got, []any{"number", true, `Timer("op")`}) {
		t.Fatalf("got %#v", got)
	}
}

func TestTimeErrors(t *testing.T) {
	for body, wantErr := range map[string]string{
		`kumo.time.with_ymd_hms(2001, 2, 29, 0, 0, 0)`:         "invalid date or time 2001-02-29",
		`kumo.time.with_ymd_hms(2001, 2, 1.5, 0, 0, 0)`:        "integer expected",
		`kumo.time.parse_rfc2822 'yesterday'`:                  `invalid RFC 2822 date "yesterday"`,
		`kumo.time.parse_rfc3339 '2000'`:                       `invalid RFC 3339 timestamp "2000"`,
		`kumo.time.parse_duration '5 parsecs'`:                 `unknown time unit "parsecs"`,
		`kumo.time.parse_duration {}`:                          "number or string expected",
		`return kumo.time.now().nope`:                          `Time has no field "nope"`,
		`return kumo.time.parse_duration(1).nope`:              `TimeDelta has no field "nope"`,
		`return kumo.time.now() + kumo.time.now()`:             "a Time can only be added to a TimeDelta",
		`return kumo.time.parse_duration(1) - kumo.time.now()`: "a TimeDelta can only be subtracted from a TimeDelta",
		`return kumo.time.now() < kumo.time.parse_duration(1)`: "attempt to compare",
		`return kumo.time.from_unix_timestamp(0/0)`:            "out of range",
	} {
		if msg := runLuaErr(t, body); !strings.Contains(msg, wantErr) {
			t.Errorf("%s: %s", body, msg)
		}
	}
}
