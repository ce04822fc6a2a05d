package kumo_test

import (
	"context"
	"strings"
	"testing"
)

func TestCidrMapLua(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local cmap = kumo.cidr.make_map {
    ['10.0.0.0/8'] = 'eight',
    ['10.1.0.0/16'] = { tier = 'sixteen' },
  }
  cmap['4.2.4.2'] = 4242
  cmap['[::1]:25'] = 'v6 loopback'
  local keys = {}
  for k in pairs(cmap) do table.insert(keys, k) end
  local tier = cmap['10.1.2.3:587'].tier
  cmap['10.1.0.0/16'] = nil
  return cmap['10.9.9.9'], tier, cmap['4.2.4.2'], cmap['::1'], cmap['not.set'],
    cmap['10.1.2.3'], table.concat(keys, ','), #cmap, tostring(cmap)
end)
`)
	wantValues(t, out, "eight", "sixteen", int64(4242), "v6 loopback", nil, "eight",
		"4.2.4.2,10.0.0.0/8,10.1.0.0/16,::1", int64(3), "CidrMap(3 entries)")
}

func TestCidrMapBadKey(t *testing.T) {
	for _, src := range []string{
		`kumo.cidr.make_map { ['10.0.0.0/40'] = 1 }`,
		`kumo.cidr.make_map()['example.com'] = 1`,
	} {
		rt := newRuntime(t, "local kumo = require 'kumo'\nkumo.on('main', function() "+src+" end)")
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), "is not an IP address or CIDR block") {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestCidrMapMemoizedIsCopyOnWrite(t *testing.T) {
	h := newMemoHarness(t, `
local load = kumo.memoize(function()
  return kumo.cidr.make_map { ['10.0.0.0/8'] = 'lan' }
end, { name = 'test.cidr', ttl = '1h', capacity = 4 })
kumo.on('main', function(op)
  local m = load()
  if op == 'set' then m['10.0.0.0/8'] = 'changed' end
  return m['10.2.3.4']
end)
`)
	sa, sb := h.state(), h.state()
	wantValues(t, memoFireIn(t, sa, "get"), "lan")
	wantValues(t, memoFireIn(t, sb, "set"), "changed")
	wantValues(t, memoFireIn(t, sa, "get"), "lan")
	wantValues(t, memoFireIn(t, sb, "get"), "lan")
}
