package kumo_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/counterseries"
)

func TestCounterSeriesLua(t *testing.T) {
	var now atomic.Int64
	now.Store(1_700_000_000)
	reg := counterseries.NewRegistry(func() time.Time { return time.Unix(now.Load(), 0) })
	rt, _ := newRuntimeWith(t, `
local kumo = require 'kumo'
local function series()
  return kumo.counter_series.define { name = 's', num_buckets = 3, bucket_size = '10s', initial_value = 2 }
end
kumo.on('main', function(op, n)
  local s = series()
  if op == 'inc' then s:increment(n) elseif op == 'delta' then s:delta(n) end
  return s:sum(), s:sum_over '5s', tostring(s)
end)
`, kumo.Services{CounterSeries: reg})
	fire := func(args ...any) []any {
		t.Helper()
		out, _, err := rt.Fire(context.Background(), "main", args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	wantValues(t, fire("inc", 3), int64(5), int64(5), "CounterSeries(s, 3 x 10s)")
	now.Add(10)
	wantValues(t, fire("delta", -1), int64(5), int64(0), "CounterSeries(s, 3 x 10s)")
	now.Add(10)
	wantValues(t, fire("inc", 1), int64(6), int64(1), "CounterSeries(s, 3 x 10s)")
	now.Add(10) // the first bucket ages out
	wantValues(t, fire("sum"), int64(1), int64(0), "CounterSeries(s, 3 x 10s)")
}

func TestCounterSeriesErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`kumo.counter_series.define { num_buckets = 1, bucket_size = 1 }`, "missing field `name`"},
		{`kumo.counter_series.define { name = 'x', num_buckets = 0, bucket_size = 1 }`, "num_buckets must be >= 1"},
		{`kumo.counter_series.define { name = 'x', num_buckets = 1, bucket_size = 'soon' }`, "bucket_size"},
		{`kumo.counter_series.define { name = 'x', num_buckets = 1, bucket_size = 1, bukets = 2 }`, "unknown field `bukets`"},
		{`kumo.counter_series.define { name = 'x', num_buckets = 1, bucket_size = 1 }:increment(-1)`, "counter_series:increment"},
		{`kumo.counter_series.define { name = 'x', num_buckets = 1, bucket_size = 1 }:delta(0.5)`, "expected a signed integer"},
		{`kumo.counter_series.define { name = 'x', num_buckets = 1, bucket_size = 1 }.sum()`, "expected a CounterSeries as self"},
	} {
		rt := newRuntime(t, "local kumo = require 'kumo'\nkumo.on('main', function() "+c.src+" end)")
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.src, err, c.want)
		}
	}
}
