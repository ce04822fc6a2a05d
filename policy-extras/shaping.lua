-- policy-extras.shaping, kumopolicy's implementation.
--
-- Answers get_egress_path_config from layered shaping files (TOML or JSON,
-- local or http(s)), merged by the native kumo.shaping loader, and wires a
-- policy to Traffic Shaping Automation (TSA) daemons. Module name, public
-- functions, option names and defaults are those KumoMTA documents for its
-- helper of the same name, so policies written for it run unchanged:
--
--   local shaping = require 'policy-extras.shaping'
--   kumo.on('get_egress_path_config', shaping:setup { '/opt/kumomta/etc/policy/shaping.toml' })
--
--   local shaper = shaping:setup_with_automation {
--     extra_files = { '/opt/kumomta/etc/policy/shaping.toml' },
--     publish = { 'http://127.0.0.1:8008' },
--     subscribe = { 'http://127.0.0.1:8008' },
--   }
--   kumo.on('init', function() shaper.setup_publish() end)
--   kumo.on('get_egress_path_config', shaper.get_egress_path_config)
--
-- The data is KumoMTA's bundled file (unless no_default_files), then
-- extra_files, then what each subscribed daemon serves at
-- /get_config_v1/shaping.toml, read through a cache that follows the
-- config epoch.
--
-- The automation half runs natively (kumo.shaping._automation, internal to
-- this file): the should_enqueue_log_record filter and match_rules, the
-- publish queue's configuration and its connection posting records to
-- each daemon, and, started by setup_publish outside validate mode, one
-- subscriber per daemon applying its suspensions and bounces to
-- kumo.api.admin, plus the config monitor bumping the config epoch when the
-- merged data changes. Two kumopolicy options tune them (KumoMTA's helper
-- ignores keys it does not know): config_monitor_interval and
-- subscriber_retry_delay, both 30 seconds by default.
local kumo = require 'kumo'
local sources = require 'policy-extras.sources'

local shaping = {}

-- The checks `kumopolicy validate` runs when validation_options is not
-- given: the four consistency checks warn, a missing local file is an
-- error, remote data is not fetched.
local function strict_validation()
  local levels = { local_load = 'Error', remote_load = 'Ignore', skip_remote = true }
  for _, check in ipairs { 'aliased_site', 'dns_fail', 'null_mx', 'provider_overlap' } do
    levels[check] = 'Warn'
  end
  return levels
end

-- The `validate_config` check: a strict load of the same files, and the
-- sources they name against the sources helper's data when it is set up.
local function report_problems(files, check_options)
  local data = kumo.shaping.load(files, check_options)
  local lines, failed = {}, false
  for _, text in ipairs(data:get_errors()) do
    lines[#lines + 1] = 'ERROR: ' .. text
    failed = true
  end
  for _, text in ipairs(data:get_warnings()) do
    lines[#lines + 1] = 'WARNING: ' .. text
  end

  local helper = sources.CONFIGURED
  if helper then
    local defined = helper.get_data().sources
    local used_by = data:get_referenced_sources()
    local names = {}
    for name in pairs(used_by) do
      names[#names + 1] = name
    end
    table.sort(names)
    for _, name in ipairs(names) do
      local refs = used_by[name]
      -- KumoMTA's bundled data uses this source for example.com as an
      -- illustration; it is not expected in anyone's sources data.
      local illustration = name == 'my source name' and refs[1] == 'domain:example.com'
      if not (illustration or defined[name]) then
        local text = "Source '%s' is not present in your sources helper data. Referenced by %s"
        lines[#lines + 1] = text:format(name, table.concat(refs, ', '))
        failed = true
      end
    end
  end

  if #lines == 0 then
    return
  end
  print 'Issues found in the combined set of shaping files:'
  for _, name in ipairs(kumo.shaping._display_names(files)) do
    print(' - ' .. name)
  end
  print(table.concat(lines, '\n'))
  if failed then
    kumo.validation_failed()
  end
end

function shaping:setup_with_automation(opts)
  if shaping.CONFIGURED then
    error 'shaping module has already been configured'
  end
  opts = opts or {}
  -- Checks the options and holds the native half; nothing starts yet.
  local automation = kumo.shaping._automation(opts)
  local files = automation:files()

  -- The merged data, through the cache every state shares.
  local function current_data()
    return automation:load()
  end

  local shaper = { load_shaping_data = current_data }

  -- With skip_make, the merged parameters come back as a plain table for
  -- the caller to adjust and pass to kumo.make_egress_path itself.
  -- Without it, the native get_egress_path builds the same config in Go,
  -- with no Lua table in between.
  function shaper.get_egress_path_config(domain, egress_source, site_name, skip_make)
    local data = current_data()
    if not skip_make then
      return data:get_egress_path(domain, egress_source, site_name)
    end
    local merged = data:get_egress_path_config(domain, egress_source, site_name)
    -- The config monitor bumps the epoch when the data changes: follow it.
    if merged.refresh_strategy == nil then merged.refresh_strategy = 'Epoch' end
    return merged
  end

  -- The log hooks, then (outside validate mode) the subscribers and the
  -- config monitor.
  function shaper.setup_publish()
    automation:setup_publish()
  end

  -- The paths loaded, in order (kumopolicy's addition).
  function shaper.shaping_files()
    return automation:files()
  end

  -- Publishing: each hook's delivery constructor, its queue, and the
  -- record filter. Each answers only for this helper's hooks.
  local constructors = automation:constructors()
  for _, constructor in ipairs(constructors) do
    local hook = constructor:sub(#'make.' + 1)
    kumo.on(constructor, function()
      return automation:connect(hook)
    end)
  end
  if #constructors > 0 then
    kumo.on('get_queue_config', function(domain)
      return automation:queue_config(domain)
    end)
    kumo.on('should_enqueue_log_record', function(msg, hook_name)
      return automation:should_enqueue_log_record(msg, hook_name)
    end)
  end

  local check_options = opts.validation_options or strict_validation()
  kumo.on('validate_config', function() report_problems(files, check_options) end)

  shaping.CONFIGURED = shaper
  return shaper
end

-- Files only, no daemons: returns the get_egress_path_config handler.
function shaping:setup(extra_files)
  return shaping:setup_with_automation({ extra_files = extra_files, publish = {}, subscribe = {} })
    .get_egress_path_config
end

return shaping
