-- policy-extras.sources: combining sources files, the errors that name
-- what is wrong, the get_egress_source / get_egress_pool handlers that
-- setup registers, and what --validate reports.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

-- Keep the handlers the helper registers (at require time and in setup)
-- so that the test can call them.
local handlers = {}
local register = kumo.on
kumo.on = function(event, fn)
  if event == 'main' then
    return register(event, fn)
  end
  handlers[event] = fn
end
local sources = require 'policy-extras.sources'

local function failure(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, 'expected an error')
  return tostring(err)
end

local function has(text, fragment)
  assert(text:find(fragment, 1, true), ('%q lacks %q'):format(text, fragment))
end

local function write(name, text)
  local f = assert(io.open(name, 'w'))
  f:write(text)
  f:close()
  return name
end

local function plain(obj)
  return kumo.json_parse(kumo.json_encode(obj))
end

local base = os.tmpname()
local toml_file = write(
  base .. '.toml',
  [[
[source."edge-a"]
source_address = "192.0.2.10"

[source."edge-b"]
source_address = "192.0.2.11"
ehlo_domain = "b.example.net"

[pool."bulk"."edge-a"]
[pool."bulk"."edge-b"]
weight = 4

[pool."parked"]
]]
)
local json_file = write(
  base .. '.json',
  [[
{
  // a second file adds to a source and to a pool
  "source": { "edge-a": { "ehlo_domain": "a.example.net" } },
  "pool": { "bulk": { "edge-c": { "weight": 1 } } }
}
]]
)
local inline = { source = { ['edge-c'] = { source_address = '192.0.2.12' } } }

local function members(pool)
  local out = {}
  for _, entry in ipairs(pool.entries) do
    out[entry.name] = entry.weight or 'default'
  end
  return out
end

local function test_load_data()
  local data = sources.load_data { toml_file, json_file, inline }
  utils.assert_eq(data.sources['edge-a'], { name = 'edge-a', source_address = '192.0.2.10', ehlo_domain = 'a.example.net' })
  utils.assert_eq(data.sources['edge-c'], { name = 'edge-c', source_address = '192.0.2.12' })
  utils.assert_eq(data.pools.bulk.name, 'bulk')
  utils.assert_eq(members(data.pools.bulk), { ['edge-a'] = 'default', ['edge-b'] = 4, ['edge-c'] = 1 })
  utils.assert_eq(data.pools.parked, { name = 'parked', entries = {} })
  utils.assert_eq(sources.load_data {}, { sources = {}, pools = {} })
end

local function test_load_errors()
  local function problem(doc)
    return failure(sources.load_data, { doc })
  end
  -- The constructor's own text says what is wrong with a source.
  local err = problem { source = { relay = { ha_proxy_server = 'no such host:1' } } }
  has(err, "(inline table): source 'relay': ")
  has(err, 'invalid hostname')
  has(problem { source = { relay = { helo = 'x' } } }, 'unknown field `helo`')
  has(failure(sources.load_data, { toml_file, { source = { ['edge-a'] = { remote_port = 'x' } } } }), "source 'edge-a': ")

  utils.assert_eq(problem { sources = {} }, "(inline table): unknown top-level key 'sources', expected 'source' or 'pool'")
  utils.assert_eq(problem { source = { relay = 'x' } }, "(inline table): source 'relay' must be a table, got string")
  utils.assert_eq(problem { pool = { p = 1 } }, "(inline table): pool 'p' must be a table, got number")
  utils.assert_eq(problem { pool = { p = { m = true } } }, "(inline table): pool 'p' member 'm' must be a table, got boolean")
  utils.assert_eq(problem { pool = { p = { m = { weigth = 2 } } } }, "(inline table): pool 'p' member 'm': unknown field 'weigth', expected 'weight'")
  utils.assert_eq(problem { pool = { p = { m = { weight = 'heavy' } } } }, "(inline table): pool 'p' member 'm': weight must be a number")

  local bad_file = write(base .. '-bad.toml', '[pool."p"."m"]\nweight = "2"\n')
  utils.assert_eq(failure(sources.load_data, { bad_file }), bad_file .. ": pool 'p' member 'm': weight must be a number")
  os.remove(bad_file)
end

local function test_handlers()
  sources:setup { toml_file, json_file, inline }
  has(failure(sources.setup, sources, { toml_file }), 'sources module has already been configured')
  utils.assert_eq(sources.CONFIGURED.data_files, { toml_file, json_file, inline })
  utils.assert_eq(members(sources.CONFIGURED.get_data().pools.bulk)['edge-c'], 1)

  local a = plain(handlers.get_egress_source('edge-a'))
  utils.assert_eq(a.name, 'edge-a')
  utils.assert_eq(a.ehlo_domain, 'a.example.net')
  utils.assert_eq(a.source_address, '192.0.2.10')
  has(failure(handlers.get_egress_source, 'edge-z'), "egress source 'edge-z' is not defined in the sources data")

  local bulk = plain(handlers.get_egress_pool('bulk'))
  utils.assert_eq(bulk.name, 'bulk')
  utils.assert_eq(#bulk.entries, 3)
  utils.assert_eq(plain(handlers.get_egress_pool('parked')).name, 'parked')
  has(failure(handlers.get_egress_pool, 'nope'), "egress pool 'nope' is not defined in the sources data")
end

-- Runs the validate_config handler over data, returning what it printed
-- and whether it failed the validation.
local function validate(files, data)
  local seen = { printed = {}, failed = false }
  local real_print, real_failed = print, kumo.validation_failed
  print = function(line)
    table.insert(seen.printed, line)
  end
  kumo.validation_failed = function()
    seen.failed = true
  end
  local saved = sources.CONFIGURED
  sources.CONFIGURED = {
    data_files = files,
    get_data = function()
      return sources.load_data(data)
    end,
  }
  local ok, err = pcall(handlers.validate_config)
  print, kumo.validation_failed, sources.CONFIGURED = real_print, real_failed, saved
  assert(ok, err)
  return seen.printed, seen.failed
end

local function test_validate()
  local printed, failed = validate({ toml_file }, { toml_file, json_file, inline })
  utils.assert_eq(printed, {})
  assert(not failed)

  -- A pool member with no source is reported, but does not fail.
  printed, failed = validate({ toml_file, inline }, { toml_file, json_file })
  utils.assert_eq(printed, {
    'Issues found in the combined set of sources files:',
    ' - ' .. toml_file,
    ' - (inline table)',
    "pool 'bulk' references source 'edge-c' which is not defined",
  })
  assert(not failed)

  -- Data that does not load fails, with the loading error.
  printed, failed = validate({ 'x.toml' }, { { pool = { p = 3 } } })
  utils.assert_eq(printed, {
    'Issues found in the combined set of sources files:',
    ' - x.toml',
    "(inline table): pool 'p' must be a table, got number",
  })
  assert(failed)

  -- Nothing configured: nothing to say.
  local saved = sources.CONFIGURED
  sources.CONFIGURED = nil
  handlers.validate_config()
  sources.CONFIGURED = saved
end

kumo.on('main', function()
  sources:test()
  test_load_data()
  test_load_errors()
  test_handlers()
  test_validate()
  os.remove(toml_file)
  os.remove(json_file)
  os.remove(base)
end)
