package memoize

import (
	"testing"
	"time"
)

func TestDecodeParams(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"name": "user.p", "ttl": "1m", "capacity": int64(10)}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	valid := []struct {
		name string
		in   map[string]any
		want Params
	}{
		{"required only", base(nil), Params{Name: "user.p", TTL: time.Minute, Capacity: 10}},
		{"numeric durations", base(map[string]any{"ttl": int64(90), "populate_timeout": 0.5}),
			Params{Name: "user.p", TTL: 90 * time.Second, Capacity: 10, PopulateTimeout: 500 * time.Millisecond, PopulateTimeoutSet: true}},
		{"zero populate timeout is set", base(map[string]any{"populate_timeout": "0"}),
			Params{Name: "user.p", TTL: time.Minute, Capacity: 10, PopulateTimeoutSet: true}},
		{"flags", base(map[string]any{"invalidate_with_epoch": true, "retry_on_populate_timeout": true, "allow_stale_reads": true}),
			Params{Name: "user.p", TTL: time.Minute, Capacity: 10, InvalidateWithEpoch: true, RetryOnPopulateTimeout: true, AllowStaleReads: true}},
	}
	for _, c := range valid {
		got, err := DecodeParams(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}

	invalid := []struct {
		name string
		in   any
		want string
	}{
		{"not a table", nil, "invalid type: nil, expected a table of parameters"},
		{"a sequence", []any{"x"}, "invalid type: sequence, expected a table of parameters"},
		{"unknown", base(map[string]any{"bogus": true}),
			"unknown field `bogus`, expected one of `ttl`, `capacity`, `name`, `invalidate_with_epoch`, " +
				"`retry_on_populate_timeout`, `populate_timeout`, `allow_stale_reads`"},
		{"missing ttl", base(map[string]any{"ttl": nil}), "missing field `ttl`"},
		{"missing capacity", base(map[string]any{"capacity": nil}), "missing field `capacity`"},
		{"missing name", base(map[string]any{"name": nil}), "missing field `name`"},
		{"bad ttl", base(map[string]any{"ttl": "5 parsecs"}), `ttl: invalid value: string "5 parsecs", expected a duration`},
		{"ttl type", base(map[string]any{"ttl": true}), "ttl: invalid type: boolean `true`, expected a duration"},
		{"negative capacity", base(map[string]any{"capacity": int64(-1)}), "capacity: invalid value: integer `-1`, expected usize"},
		{"fractional capacity", base(map[string]any{"capacity": 1.5}), "capacity: invalid type: floating point `1.5`, expected usize"},
		{"name type", base(map[string]any{"name": int64(3)}), "name: invalid type: integer `3`, expected a string"},
		{"bool type", base(map[string]any{"allow_stale_reads": "yes"}), `allow_stale_reads: invalid type: string "yes", expected a boolean`},
		{"bad populate timeout", base(map[string]any{"populate_timeout": "soon"}), `populate_timeout: invalid value: string "soon", expected a duration`},
	}
	for _, c := range invalid {
		_, err := DecodeParams(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
