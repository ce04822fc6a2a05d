-- kumo.domain_map: the reference page's examples, and how keys, values,
-- iteration, encoding and memoization behave.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local function raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, 'expected an error matching ' .. pattern)
  assert(tostring(err):find(pattern, 1, true), tostring(err))
end

kumo.on('main', function()
  -- The reference's examples.
  local dmap = kumo.domain_map.new()
  dmap['foo'] = 'bar'
  assert(dmap['foo'] == 'bar')
  assert(dmap['not.set'] == nil)

  dmap = kumo.domain_map.new()
  dmap['*.example.com'] = 'wildcard'
  assert(dmap['example.com'] == nil)
  assert(dmap['foo.example.com'] == 'wildcard')
  dmap['explicit.example.com'] = 'explicit'
  assert(dmap['explicit.example.com'] == 'explicit')

  dmap = kumo.domain_map.new {
    ['*.woot.com'] = 123,
    ['example.com'] = 24,
  }
  dmap['*.example.com'] = 42
  assert(dmap['lemon.example.com'] == 42)
  assert(dmap['example.com'] == 24)
  assert(dmap['woot.com'] == nil)
  assert(dmap['aa.woot.com'] == 123)

  -- Deeper names, the most specific wildcard, the catch-all, case.
  dmap = kumo.domain_map.new {
    ['*'] = 'default',
    ['*.example.com'] = 'wild',
    ['*.EU.example.com'] = 'wild-eu',
    ['Example.COM'] = 'exact',
  }
  utils.assert_eq(dmap['a.b.example.com'], 'wild')
  utils.assert_eq(dmap['mx.eu.example.com'], 'wild-eu')
  utils.assert_eq(dmap['eu.example.com'], 'wild')
  utils.assert_eq(dmap['EXAMPLE.com'], 'exact')
  utils.assert_eq(dmap['example.com.'], 'exact')
  utils.assert_eq(dmap['elsewhere.org'], 'default')
  utils.assert_eq(dmap['*'], 'default')
  utils.assert_eq(dmap['*.example.com'], 'wild')

  -- Assigning nil removes a key.
  dmap['*'] = nil
  utils.assert_eq(dmap['elsewhere.org'], nil)

  -- pairs: lower-cased keys, sorted.
  local keys = {}
  for k, v in pairs(dmap) do
    table.insert(keys, k .. '=' .. v)
  end
  utils.assert_eq(table.concat(keys, ' '), '*.eu.example.com=wild-eu *.example.com=wild example.com=exact')
  utils.assert_eq(tostring(dmap), 'DomainMap(3 entries)')
  utils.assert_eq(kumo.json_encode(dmap), '{"*.eu.example.com":"wild-eu","*.example.com":"wild","example.com":"exact"}')

  -- Values are data: each lookup is a fresh copy, arrays stay arrays.
  local data = kumo.toml_parse [[
["*.example.com"]
relay_from = ['10.0.0.0/24']
none = []
]]
  dmap = kumo.domain_map.new(data)
  local v = dmap['x.example.com']
  v.relay_from[1] = 'changed'
  utils.assert_eq(dmap['x.example.com'].relay_from[1], '10.0.0.0/24')
  assert(getmetatable(v.relay_from) == false)
  utils.assert_eq(kumo.json_encode(dmap['x.example.com']), '{"none":[],"relay_from":["10.0.0.0/24"]}')
  -- ... and changing the source table later does not change the map.
  data['*.example.com'].extra = true
  utils.assert_eq(dmap['y.example.com'].extra, nil)

  -- new() copies another map.
  local copy = kumo.domain_map.new(dmap)
  copy['*.example.com'] = 'replaced'
  utils.assert_eq(dmap['x.example.com'].relay_from[1], '10.0.0.0/24')
  utils.assert_eq(copy['x.example.com'], 'replaced')

  -- Invalid keys are refused with their name; lookups of non-domains find nothing.
  raises('invalid domain "bad..example.com"', function() dmap['bad..example.com'] = 1 end)
  raises('invalid domain "foo.*.com"', kumo.domain_map.new, { ['foo.*.com'] = 1 })
  raises('invalid domain ""', kumo.domain_map.new, { [''] = 1 })
  raises('cannot store the value of "f.com"', function() dmap['f.com'] = function() end end)
  raises('a key must be a domain name string', function() return dmap[{}] end)
  utils.assert_eq(dmap['not a domain'], nil)
  utils.assert_eq(dmap[''], nil)

  -- Memoized: the map is built once, and a hit's changes stay local.
  local builds = 0
  local load = kumo.memoize(function()
    builds = builds + 1
    return { by_listener = { ['*'] = kumo.domain_map.new { ['*.example.com'] = { n = 1 } } } }
  end, { name = 'domain_map_test', ttl = '1 minute', capacity = 2 })
  local first = load()
  local second = load()
  utils.assert_eq(builds, 1)
  utils.assert_eq(second.by_listener['*']['a.example.com'].n, 1)
  second.by_listener['*']['a.example.com'] = { n = 2 }
  utils.assert_eq(second.by_listener['*']['a.example.com'].n, 2)
  utils.assert_eq(load().by_listener['*']['a.example.com'].n, 1)
  utils.assert_eq(first.by_listener['*']['a.example.com'].n, 1)
end)
