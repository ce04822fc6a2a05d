-- kumo.memoize from a policy's point of view.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local calls = 0
local lookup = kumo.memoize(function(domain, n)
  calls = calls + 1
  return { domain = domain, n = n, list = { 1, 2, 3 } }
end, { name = 'tests.lua.lookup', ttl = '5 minutes', capacity = 10 })

local two = kumo.memoize(function() return 'a', 'b' end, { name = 'tests.lua.two', ttl = '1m', capacity = 1 })

kumo.on('main', function()
  local first = lookup('example.com', 1)
  local second = lookup('example.com', 1)
  utils.assert_eq(calls, 1, 'second call must be a cache hit')
  utils.assert_eq(first, second)
  assert(first ~= second, 'each hit must hand out a fresh table')
  assert(type(second) == 'table' and #second.list == 3)
  first.list[1] = 99
  utils.assert_eq(lookup('example.com', 1).list[1], 1, 'mutating a result must not touch the cache')

  lookup('example.com', 2)
  utils.assert_eq(calls, 2, 'different arguments are different keys')

  utils.assert_eq(two(), { 'a', 'b' }, 'several results come back as one array')

  local ok, err = pcall(kumo.memoize, print, { name = 'x', ttl = '1m' })
  assert(not ok and tostring(err):find 'capacity', tostring(err))
  ok, err = pcall(kumo.memoize, print, { name = 'dns_resolver_mx', ttl = '1m', capacity = 1 })
  assert(not ok and tostring(err):find 'collides with a built%-in cache', tostring(err))
  ok, err = pcall(lookup, print)
  assert(not ok, 'a function argument cannot be a key')
end)
