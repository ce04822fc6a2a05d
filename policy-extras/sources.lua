-- policy-extras.sources: egress sources and pools kept in TOML or JSON
-- data files rather than in policy code.
--
--   local sources = require 'policy-extras.sources'
--   sources:setup { '/opt/kumomta/etc/policy/sources.toml' }
--
-- answers get_egress_source and get_egress_pool from files such as
--
--   [source."relay-a"]              # any kumo.make_egress_source option
--   source_address = "192.0.2.10"
--   ehlo_domain = "out-a.example.net"
--
--   [pool."bulk"."relay-a"]         # a member, weight 1
--   [pool."bulk"."relay-b"]
--   weight = 3
--   [pool."parked"]                 # a pool with no member yet
--
-- The files are read together: settings of one source may come from
-- several files, and a pool's members from all of them. A Lua table may
-- stand in for a file. The data is memoized (`sources_data`, 5 minutes,
-- dropped on a configuration epoch change). When set up, --validate checks
-- every source and pool and reports pool members naming no known source.
--
-- The public names and texts are those of KumoMTA's helper of the same name.
local kumo = require('kumo')
local utils = require('policy-extras.policy_utils')

local sources = {}

-- How a data file is named in messages.
local function file_label(file)
  if type(file) == 'table' then
    return '(inline table)'
  end
  return file
end

-- A loading error: `<file>: <detail>`, without a position.
local function bad_data(file, detail)
  error(file_label(file) .. ': ' .. detail, 0)
end

-- what names the value in the message.
local function want_table(file, v, what)
  if type(v) ~= 'table' then
    bad_data(file, ('%s must be a table, got %s'):format(what, type(v)))
  end
end

-- The combined data of the files: sources by name (each a table of
-- kumo.make_egress_source parameters) and pools by name (each a table of
-- kumo.make_egress_pool parameters).
local Catalog = {}
Catalog.__index = Catalog

local function new_catalog()
  return setmetatable({ sources = {}, pools = {} }, Catalog)
end

-- Adds one file's settings for source `name`, each file's share checked on
-- its own by the real constructor so that its error text (`invalid
-- hostname`, unknown fields) reaches the operator.
function Catalog:add_source(file, name, settings)
  want_table(file, settings, ("source '%s'"):format(tostring(name)))
  local trial = { name = name }
  utils.merge_into(settings, trial)
  trial.name = name
  local built, err = pcall(kumo.make_egress_source, trial)
  if not built then
    bad_data(file, ("source '%s': %s"):format(name, tostring(err)))
  end
  local known = self.sources[name]
  if known == nil then
    known = { name = name }
    self.sources[name] = known
  end
  utils.merge_into(settings, known)
  known.name = name
end

-- Adds the members that one file lists for pool `name`; each member takes
-- at most a numeric weight.
function Catalog:add_pool(file, name, members)
  want_table(file, members, ("pool '%s'"):format(tostring(name)))
  local pool = self.pools[name]
  if pool == nil then
    pool = { name = name, entries = {} }
    self.pools[name] = pool
  end
  for member, settings in pairs(members) do
    local who = ("pool '%s' member '%s'"):format(name, member)
    want_table(file, settings, who)
    local entry = { name = member }
    for option, v in pairs(settings) do
      if option ~= 'weight' then
        bad_data(file, ("%s: unknown field '%s', expected 'weight'"):format(who, option))
      elseif type(v) ~= 'number' then
        bad_data(file, who .. ': weight must be a number')
      end
      entry.weight = v
    end
    pool.entries[#pool.entries + 1] = entry
  end
end

function Catalog:add_file(file)
  local doc = utils.load_json_or_toml_file(file)
  want_table(file, doc, 'the sources data')
  for key in pairs(doc) do
    if key ~= 'source' and key ~= 'pool' then
      bad_data(file, ("unknown top-level key '%s', expected 'source' or 'pool'"):format(tostring(key)))
    end
  end
  for name, settings in pairs(doc.source or {}) do
    self:add_source(file, name, settings)
  end
  for name, members in pairs(doc.pool or {}) do
    self:add_pool(file, name, members)
  end
end

-- load_data(files) reads and combines the files (names or tables) into
-- { sources = { NAME = params }, pools = { NAME = params } }, raising on
-- the first problem.
function sources.load_data(files)
  local catalog = new_catalog()
  for _, file in ipairs(files) do
    catalog:add_file(file)
  end
  return { sources = catalog.sources, pools = catalog.pools }
end

local memo_options = { name = 'sources_data', ttl = '5 minutes', capacity = 10, invalidate_with_epoch = true }

function sources:setup(data_files)
  if sources.CONFIGURED then
    error('sources module has already been configured')
  end
  local cached = kumo.memoize(sources.load_data, memo_options)
  local function current()
    return cached(data_files)
  end

  kumo.on('get_egress_source', function(wanted)
    local params = current().sources[wanted]
    if params == nil then
      error(("egress source '%s' is not defined in the sources data"):format(wanted))
    end
    return kumo.make_egress_source(params)
  end)
  kumo.on('get_egress_pool', function(wanted)
    local params = current().pools[wanted]
    if params == nil then
      error(("egress pool '%s' is not defined in the sources data"):format(wanted))
    end
    return kumo.make_egress_pool(params)
  end)

  sources.CONFIGURED = { data_files = data_files, get_data = current }
end

-- What --validate reports about the configured data: { lines to print,
-- fatal = whether they fail the validation }. A pool member naming an
-- unknown source is reported but does not fail it, as in KumoMTA.
local function review(setup)
  local found = { fatal = false }
  local function report(line, fatal)
    found[#found + 1] = line
    found.fatal = found.fatal or fatal
  end
  local loaded, data = pcall(setup.get_data)
  if not loaded then
    report(tostring(data), true)
    return found
  end
  local function try(make, params)
    local built, err = pcall(make, params)
    if not built then
      report(tostring(err), true)
    end
  end
  for _, params in pairs(data.sources) do
    try(kumo.make_egress_source, params)
  end
  for pool_name, params in pairs(data.pools) do
    try(kumo.make_egress_pool, params)
    for _, entry in ipairs(params.entries) do
      if data.sources[entry.name] == nil then
        report(("pool '%s' references source '%s' which is not defined"):format(pool_name, entry.name), false)
      end
    end
  end
  return found
end

kumo.on('validate_config', function()
  local setup = sources.CONFIGURED
  if not setup then
    return
  end
  local found = review(setup)
  if #found == 0 then
    return
  end
  print('Issues found in the combined set of sources files:')
  for _, file in ipairs(setup.data_files) do
    print(' - ' .. file_label(file))
  end
  for _, line in ipairs(found) do
    print(line)
  end
  if found.fatal then
    kumo.validation_failed()
  end
end)

-- Self-check of this module (KumoMTA's helpers carry one under this name;
-- tests/lua/sources.lua holds the full tests).
function sources:test()
  local data = sources.load_data {
    { source = { edge = { source_address = '198.51.100.4' } }, pool = { solo = { edge = { weight = 5 } } } },
    { source = { edge = { ehlo_domain = 'edge.example.org' } }, pool = { idle = {} } },
  }
  assert(data.sources.edge.source_address == '198.51.100.4' and data.sources.edge.ehlo_domain == 'edge.example.org')
  assert(data.pools.solo.entries[1].weight == 5 and #data.pools.idle.entries == 0)
  local ok, err = pcall(sources.load_data, { { source = { edge = { ha_proxy_server = 'bad host name:1' } } } })
  assert(not ok and tostring(err):find('invalid hostname', 1, true), tostring(err))
end

return sources
