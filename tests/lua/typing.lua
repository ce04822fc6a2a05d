-- policy-extras.typing as policies use it: records, lists, maps, enums,
-- defaults, options, variants, the error texts KumoMTA's helpers match on,
-- and error positions that name the policy's line, not the module's.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'
local T = require 'policy-extras.typing'

-- Fixtures: a mail relay route.
local Tls = T.enum('Tls', 'Off', 'Opportunistic', 'Required')
local Endpoint = T.record('Endpoint', { host = T.string, port = T.number })
local Route = T.record('Route', {
  via = Endpoint,
  tls = T.option(Tls),
  retries = T.default(T.number, 3),
  pinned = T.default(T.boolean, false),
})

-- err of pcall(f, ...), failing when f succeeds.
local function failure(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, 'expected an error')
  return tostring(err)
end

local function has(text, fragment)
  assert(text:find(fragment, 1, true), ('%q lacks %q'):format(text, fragment))
end

local function test_records()
  local ep = Endpoint { host = 'mx1.example.org', port = 2525 }
  local r = Route { via = ep, tls = 'Required' }
  utils.assert_eq(r, { via = { host = 'mx1.example.org', port = 2525 }, tls = 'Required', retries = 3, pinned = false })
  assert(getmetatable(r) == Route and getmetatable(r.via) == Endpoint)
  assert(rawequal(r.via, ep), 'a value of the field type is kept as is')

  -- Plain tables become records; absent optional fields read as nil.
  local inline = Route { via = { host = 'mx2.example.org', port = 25 }, retries = 0 }
  assert(getmetatable(inline.via) == Endpoint)
  utils.assert_eq(inline.retries, 0)
  assert(inline.tls == nil)

  -- A default applies only when the field is absent: an explicit false
  -- stays false, and a default of false is used as such.
  local Toggle = T.record('Toggle', { on = T.default(T.boolean, true), off = T.default(T.boolean, false) })
  utils.assert_eq(Toggle {}, { on = true, off = false })
  utils.assert_eq(Toggle { on = false, off = true }, { on = false, off = true })
  local Level = T.record('Level', { tls = T.default(Tls, 'Opportunistic') })
  utils.assert_eq(Level({}).tls, 'Opportunistic')

  -- A default is checked like any value.
  local Broken = T.record('Broken', { n = T.default(T.number, 'many') })
  has(failure(Broken, {}), "Broken: invalid value for field 'n'")

  -- Fields not yet set are checked on assignment too (Lua consults the
  -- type only for absent keys), and unknown ones refused.
  has(failure(function()
    inline.tls = 'Sometimes'
  end), "Route: invalid value for field 'tls'")
  inline.tls = 'Off'
  utils.assert_eq(inline.tls, 'Off')
  has(failure(function()
    r.speed = 1
  end), "Route: unknown field 'speed'")
  has(failure(function()
    return r.speed
  end), "Route: attempt to read unknown field 'speed'")
  r.tls = nil
  assert(r.tls == nil)

  has(failure(Endpoint, { host = 'mx.example.org' }), "Endpoint: missing value for field 'port' of type 'number'")
  has(failure(Route, { tls = 'Off' }), "Route: missing value for field 'via' of type 'Endpoint'")
  has(failure(Route, { via = ep, tls = 'Sometimes' }), "Unexpected 'Tls' value 'Sometimes', expected one of 'Off', 'Opportunistic', 'Required'")
  has(failure(Endpoint, { host = 'h', port = '25' }), "Expected 'number', got 'string' '25'")

  -- A record of another type is refused by name, a non-table by Lua type.
  local err = failure(Route, { via = Level {} })
  has(err, "Route: invalid value for field 'via'")
  has(err, "Expected value of type 'Endpoint' but got type 'Level' with value")
  has(failure(Route, { via = 42 }), "Expected value of type 'Endpoint' but got type 'number' 42")
  -- A plain table that does not build says so, with the reason below.
  err = failure(Route, { via = { host = 7, port = 1 } })
  has(err, "Expected value of type 'Endpoint' and encountered an error during coercion")
  has(err, "Endpoint: invalid value for field 'host'")
end

local function test_dynamic_fields()
  -- _dynamic vets fields not listed: true accepts, (false, err) is an
  -- invalid value, (false, nil) an unknown field.
  local Labels = T.record('Labels', {
    owner = T.string,
    _dynamic = function(key, value)
      if type(key) == 'string' and key:find '^x%-' then
        if type(value) == 'string' then
          return true
        end
        return false, 'labels are strings'
      end
      return false, nil
    end,
  })
  local l = Labels { owner = 'ops', ['x-team'] = 'mail' }
  utils.assert_eq(l['x-team'], 'mail')
  assert(l['x-other'] == nil, 'unknown fields read as nil when _dynamic is set')
  local err = failure(Labels, { owner = 'ops', ['x-n'] = 5 })
  has(err, "Labels: invalid value for field 'x-n'")
  has(err, 'labels are strings')
  has(failure(Labels, { owner = 'ops', colour = 'red' }), "Labels: unknown field 'colour'")
end

local function test_lists_and_maps()
  local Hosts = T.list(T.string)
  utils.assert_eq(Hosts.name, 'list<string>')
  utils.assert_eq(Hosts {}, {})
  utils.assert_eq(Hosts { 'a.example', 'b.example' }, { 'a.example', 'b.example' })
  has(failure(Hosts, { 'a.example', false }), "list<string>: invalid value for idx 2\n")
  has(failure(Hosts, { 'a.example', false }), "Expected 'string', got 'boolean' false")
  local hosts = Hosts { 'a.example' }
  has(failure(function()
    hosts.first = 'x'
  end), "list<string>: invalid index ''first'' list")

  local Routes = T.map(T.string, Route)
  utils.assert_eq(Routes.name, 'map<string,Route>')
  local routes = Routes { primary = { via = { host = 'p', port = 25 } } }
  assert(getmetatable(routes.primary) == Route)
  has(failure(Routes, { [7] = { via = { host = 'p', port = 25 } } }), "map<string,Route>: invalid key 7\n")
  has(failure(function()
    routes[false] = 'x'
  end), "map<string,Route>: invalid key false")
  local err = failure(Routes, { backup = 'mx.example' })
  has(err, "map<string,Route>: invalid value for key 'backup'\n")
  has(err, "Expected value of type 'Route' but got type 'string' 'mx.example'")

  -- Lists and maps nest, converting plain tables all the way down.
  local Grid = T.map(T.string, T.list(Endpoint))
  local g = Grid { east = { { host = 'e1', port = 25 } } }
  assert(getmetatable(g.east[1]) == Endpoint)
end

local function test_simple_types()
  utils.assert_eq(T.number(4.5), 4.5)
  utils.assert_eq(T.string 'x', 'x')
  utils.assert_eq(T.boolean(false), false)
  assert(T.Function(print) == print)
  utils.assert_eq(T.Function.name, 'function')
  has(failure(T.boolean, 'yes'), "Expected 'boolean', got 'string' 'yes'")
  has(failure(T.number, { 1 }), "Expected 'number', got 'table' [")
  assert(T.any(nil) == nil)
  utils.assert_eq(T.any.name, 'Any')
  utils.assert_eq(Tls 'Off', 'Off')
  utils.assert_eq(T.option(Tls).name, 'option<Tls>')
  assert(T.option(Tls)(nil) == nil)
  utils.assert_eq(T.default(T.number, 9).name, 'number')

  local Limit = T.variant(T.number, T.string, Endpoint)
  utils.assert_eq(Limit.name, 'variant<number,string,Endpoint>')
  utils.assert_eq(Limit(10), 10)
  utils.assert_eq(Limit '10/s', '10/s')
  assert(getmetatable(Limit { host = 'h', port = 1 }) == Endpoint, 'a variant converts with the type that matched')
  local err = failure(Limit, true)
  has(err, "Unexpected 'variant<number,string,Endpoint>' value true. Failed to match any allowed variant: ")
  has(err, "Expected 'number', got 'boolean' true. ")
  has(failure(T.variant, T.number), 'typing.variant: must have a list of 2 or more variants, 1 were provided')

  -- validate_value answers instead of raising.
  local ok, v = Route:validate_value { via = { host = 'h', port = 2 } }
  assert(ok and getmetatable(v) == Route)
  local bad, problem = T.string:validate_value(3)
  assert(bad == false and tostring(problem):find "Expected 'string', got 'number' 3", tostring(problem))
end

local function test_positions()
  -- Every line of an error names this file and the line of the call that
  -- failed, and the error itself is placed there.
  local line = debug.getinfo(1, 'l').currentline + 1
  local ok, err = pcall(Route, { via = { host = 'h', port = 'x' } })
  assert(not ok)
  local at = 'typing.lua:' .. line
  local want = {
    at .. ': ' .. at .. " Route: invalid value for field 'via'",
    at .. " Expected value of type 'Endpoint' and encountered an error during coercion",
    -- the coercion's own error, as raised, is the next cause
    at .. ' ' .. at .. ': ' .. at .. " Endpoint: invalid value for field 'port'",
    at .. " Expected 'number', got 'string' 'x'",
  }
  utils.assert_eq(err, table.concat(want, '\n'))

  local function assign(target)
    target.tls = 'Nope' -- the line blamed below
  end
  line = debug.getinfo(1, 'l').currentline - 2
  err = failure(assign, Route { via = { host = 'h', port = 1 } })
  has(err, ('typing.lua:%d: typing.lua:%d Route:'):format(line, line))
end

local function test_extract_deserialize_error()
  utils.assert_eq(
    T.extract_deserialize_error 'deserialize error: invalid type: string "x", expected u16, while processing {"port":"x"}',
    'invalid type: string "x", expected u16'
  )
  utils.assert_eq(T.extract_deserialize_error 'some other failure', 'some other failure')
  local _, err = pcall(kumo.make_egress_source, { name = 's', remote_port = 'x' })
  has(T.extract_deserialize_error(err), 'invalid type')
  assert(not T.extract_deserialize_error(err):find 'while processing')
end

kumo.on('main', function()
  T:test()
  test_records()
  test_dynamic_fields()
  test_lists_and_maps()
  test_simple_types()
  test_positions()
  test_extract_deserialize_error()
end)
