package kumo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// A memoized domain map is loaded once and shared by every state; each
// state that hits the cache gets its own copy-on-write view, so an
// assignment in one state never shows in the cache or in another state.
func TestDomainMapMemoizedAcrossStates(t *testing.T) {
	h := newMemoHarness(t, `
local load = kumo.memoize(function(name)
  h.count()
  return kumo.domain_map.new {
    ['*.example.com'] = { pool = 'wild', hosts = { 'a', 'b' } },
    ['example.com'] = { pool = 'exact' },
  }
end, { name = 'test.domain_map', ttl = '1h', capacity = 4 })
kumo.on('main', function(op, domain, value)
  local map = load('data')
  if op == 'set' then
    map[domain] = value
  end
  local v = map[domain]
  return type(map), v and v.pool, v and v.hosts and #v.hosts
end)
`)
	sa, sb := h.state(), h.state()
	wantValues(t, memoFireIn(t, sa, "get", "x.example.com"), "userdata", "wild", int64(2))
	// State b hits the cache, then changes its view.
	wantValues(t, memoFireIn(t, sb, "set", "x.example.com", map[string]any{"pool": "changed"}), "userdata", "changed", nil)
	// Neither the cache nor state a sees that.
	wantValues(t, memoFireIn(t, sa, "get", "x.example.com"), "userdata", "wild", int64(2))
	wantValues(t, memoFireIn(t, sb, "get", "x.example.com"), "userdata", "wild", int64(2))
	wantValues(t, memoFireIn(t, sb, "get", "EXAMPLE.com"), "userdata", "exact", nil)
	if n := h.count.Load(); n != 1 {
		t.Fatalf("populations = %d, want 1", n)
	}

	// Many states reading and writing their views at once (run with -race).
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for j := 0; j < 20; j++ {
				d := fmt.Sprintf("h%d-%d.example.com", i, j)
				out, err := h.fire(ctx, "set", d, map[string]any{"pool": d})
				if err == nil && out[1] != d {
					err = fmt.Errorf("set %s: got %v", d, out)
				}
				if err == nil {
					out, err = h.fire(ctx, "get", d)
					if err == nil && out[1] != "wild" {
						err = fmt.Errorf("another dispatch saw a change: %s -> %v", d, out)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Values are stored as data: what has no data form is refused, naming the
// key, and so are keys that are not domain names.
func TestDomainMapErrors(t *testing.T) {
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function(which)
  local m = kumo.domain_map.new()
  if which == 'function' then m['example.com'] = { f = print } end
  if which == 'bad key' then m['a..example.com'] = 1 end
  if which == 'bad new' then kumo.domain_map.new { ['foo.*.com'] = 1 } end
  if which == 'boolean key' then return m[true] end
  if which == 'not a table' then kumo.domain_map.new 'example.com' end
end)
`)
	for which, want := range map[string]string{
		"function":    `kumo.domain_map: cannot store the value of "example.com": f: cannot convert a function value to data`,
		"bad key":     `kumo.domain_map: invalid domain "a..example.com": it is not a domain name: Malformed label: `,
		"bad new":     `kumo.domain_map: invalid domain "foo.*.com": "*" is only allowed as the whole leftmost label`,
		"boolean key": "kumo.domain_map: a key must be a domain name string, got boolean `true`",
		"not a table": `a table or a DomainMap expected, got string "example.com"`,
	} {
		_, _, err := rt.Fire(context.Background(), "main", which)
		if err == nil {
			t.Errorf("%s: no error", which)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q, want it to contain %q", which, err, want)
		}
	}
}
