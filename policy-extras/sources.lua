-- policy-extras.sources: egress sources and pools from TOML/JSON files.
--
-- Same public functions as KumoMTA's helper of the same name:
--
--   local sources = require 'policy-extras.sources'
--   sources:setup { '/opt/kumomta/etc/policy/sources.toml' }
--
-- registers get_egress_source and get_egress_pool handlers serving:
--
--   [source."ip-1"]
--   source_address = "10.0.0.1"
--   ehlo_domain = "mta1.example.com"
--
--   [pool."warmup"]            # a pool may be empty
--   [pool."main"."ip-1"]       # member with the default weight 1
--   [pool."main"."ip-2"]
--   weight = 2
--
-- Several files merge: a source's settings may be spread over files, and
-- pool members accumulate. Entries may also be inline Lua tables.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local M = {}

-- Checks one source's settings with the real constructor, so every error
-- text (for example `invalid hostname`) is the constructor's own.
local function check_source(where, name, params)
  local candidate = { name = name }
  utils.merge_into(params, candidate)
  candidate.name = name
  local ok, err = pcall(kumo.make_egress_source, candidate)
  if not ok then
    error(string.format("%s: source '%s': %s", where, name, tostring(err)), 0)
  end
end

local function check_table(where, what, value)
  if type(value) ~= 'table' then
    error(string.format('%s: %s must be a table, got %s', where, what, type(value)), 0)
  end
end

local function merge_file(target, file)
  local where = type(file) == 'table' and '(inline table)' or file
  local data = utils.load_json_or_toml_file(file)
  check_table(where, 'the sources data', data)
  for key in pairs(data) do
    if key ~= 'source' and key ~= 'pool' then
      error(string.format("%s: unknown top-level key '%s', expected 'source' or 'pool'", where, tostring(key)), 0)
    end
  end

  for name, params in pairs(data.source or {}) do
    check_table(where, "source '" .. tostring(name) .. "'", params)
    check_source(where, name, params)
    local source = target.sources[name] or { name = name }
    utils.merge_into(params, source)
    source.name = name
    target.sources[name] = source
  end

  for pool_name, members in pairs(data.pool or {}) do
    check_table(where, "pool '" .. tostring(pool_name) .. "'", members)
    local pool = target.pools[pool_name] or { name = pool_name, entries = {} }
    for member, params in pairs(members) do
      check_table(where, string.format("pool '%s' member '%s'", pool_name, member), params)
      local entry = { name = member }
      for key, value in pairs(params) do
        if key ~= 'weight' then
          error(string.format("%s: pool '%s' member '%s': unknown field '%s', expected 'weight'", where, pool_name, member, key), 0)
        end
        if type(value) ~= 'number' then
          error(string.format("%s: pool '%s' member '%s': weight must be a number", where, pool_name, member), 0)
        end
        entry.weight = value
      end
      table.insert(pool.entries, entry)
    end
    target.pools[pool_name] = pool
  end
end

-- Loads and merges the files into { sources = {...}, pools = {...} }.
local function load_data(files)
  local target = { sources = {}, pools = {} }
  for _, file in ipairs(files) do
    merge_file(target, file)
  end
  return target
end

M.load_data = load_data

function M:setup(data_files)
  if M.CONFIGURED then
    error 'sources module has already been configured'
  end
  local cached = kumo.memoize(load_data, {
    name = 'sources_data',
    ttl = '5 minutes',
    capacity = 10,
    invalidate_with_epoch = true,
  })
  local function get_data()
    return cached(data_files)
  end

  kumo.on('get_egress_source', function(name)
    local params = get_data().sources[name]
    if params == nil then
      error(string.format("egress source '%s' is not defined in the sources data", name))
    end
    return kumo.make_egress_source(params)
  end)

  kumo.on('get_egress_pool', function(name)
    local params = get_data().pools[name]
    if params == nil then
      error(string.format("egress pool '%s' is not defined in the sources data", name))
    end
    return kumo.make_egress_pool(params)
  end)

  M.CONFIGURED = { data_files = data_files, get_data = get_data }
end

kumo.on('validate_config', function()
  local configured = M.CONFIGURED
  if not configured then
    return
  end
  local header_done = false
  local function header()
    if header_done then
      return
    end
    header_done = true
    print 'Issues found in the combined set of sources files:'
    for _, file in ipairs(configured.data_files) do
      print(' - ' .. (type(file) == 'table' and '(inline table)' or file))
    end
  end

  local ok, data = pcall(configured.get_data)
  if not ok then
    header()
    print(tostring(data))
    kumo.validation_failed()
    return
  end
  for _, params in pairs(data.sources) do
    local built, err = pcall(kumo.make_egress_source, params)
    if not built then
      header()
      print(tostring(err))
      kumo.validation_failed()
    end
  end
  for pool_name, params in pairs(data.pools) do
    local built, err = pcall(kumo.make_egress_pool, params)
    if not built then
      header()
      print(tostring(err))
      kumo.validation_failed()
    end
    for _, entry in ipairs(params.entries) do
      if not data.sources[entry.name] then
        header()
        print(string.format("pool '%s' references source '%s' which is not defined", pool_name, entry.name))
      end
    end
  end
end)

function M:test()
  local parsed = load_data {
    kumo.serde.toml_parse [[
[source."ip-1"]
source_address = "10.0.0.1"
[source."ip-2"]
source_address = "10.0.0.2"
[pool."Empty"]
[pool."Main"."ip-1"]
[pool."Main"."ip-2"]
weight = 2
]],
    kumo.serde.toml_parse [[
[source."ip-1"]
ehlo_domain = "mta1.example.com"
]],
  }
  assert(parsed.pools.Empty and #parsed.pools.Empty.entries == 0, 'empty pool kept')
  assert(#parsed.pools.Main.entries == 2, 'pool members')
  assert(parsed.sources['ip-1'].ehlo_domain == 'mta1.example.com', 'files merge')
  assert(parsed.sources['ip-1'].source_address == '10.0.0.1', 'files merge')

  local ok, err = pcall(load_data, {
    kumo.serde.toml_parse [[
[source."ip"]
socks5_proxy_server = "not a valid hostname:5000"
]],
  })
  assert(not ok)
  assert(tostring(err):find 'invalid hostname', tostring(err))
end

return M
