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
-- Talking to a daemon needs kumo.http, which kumopolicy does not provide
-- yet: posting log records (the publish queues' delivery) and following a
-- daemon's event stream raise an error saying so when they would run. The
-- rest works: log hooks and their queues are configured, records are
-- filtered, and the config epoch is bumped when the merged data changes.
local kumo = require 'kumo'
local sources = require 'policy-extras.sources'

local shaping = {}

local BUNDLED_DATA = '/opt/kumomta/share/policy-extras/shaping.toml'

-- Tasks started by setup_publish, named as KumoMTA names them.
local FOLLOW_DAEMON = 'kumo.tsa.suspension.subscriber'
local WATCH_DATA = 'kumo.tsa.config.monitor'
local WATCH_INTERVAL = 30 -- seconds

local function append_all(list, items)
  for _, item in ipairs(items or {}) do
    list[#list + 1] = item
  end
  return list
end

local function set_of(list)
  local set = {}
  for _, item in ipairs(list) do
    set[item] = true
  end
  return set
end

-- Raised where the automation half would need what kumopolicy lacks.
local function not_supported_yet(what, needs)
  error(
    string.format(
      'policy-extras.shaping: %s is not supported by kumopolicy yet (it needs %s)',
      what,
      needs
    ),
    0
  )
end

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

-- Log record types that are about mail arriving at or moving within this
-- MTA, not about a destination's answers; daemons do not get them.
local UNPUBLISHED_TYPES = {
  'AdminRebind', 'DeferredInjectionRebind', 'Delayed', 'Reception', 'Rejection', 'XferIn', 'XferOut',
}

-- Normalises the options of setup_with_automation into the settings the
-- rest of this module works from. The caller's table is left as it was.
local function read_settings(opts)
  opts = opts or {}
  local files = {}
  if not opts.no_default_files then
    files[1] = BUNDLED_DATA
  end
  append_all(files, opts.extra_files)
  for _, url in ipairs(opts.subscribe or {}) do
    files[#files + 1] = url .. '/get_config_v1/shaping.toml'
  end

  local skipped = set_of(opts.skip_log_record_types or UNPUBLISHED_TYPES)
  for _, kind in ipairs(opts.additional_skip_log_record_types or {}) do
    skipped[kind] = true
  end

  -- One log hook per daemon we publish to, named after its URL.
  local hooks, hook_names = {}, {}
  for _, url in ipairs(opts.publish or {}) do
    local name = url .. '.tsa.kumomta'
    hooks[name] = { url = url, constructor = 'make.' .. name }
    hook_names[#hook_names + 1] = name
  end

  return {
    files = files,
    load_options = opts.load_validation_options,
    check_options = opts.validation_options or strict_validation(),
    cache = {
      name = 'shaping_data',
      ttl = opts.cache_ttl or '1 minute',
      capacity = 16,
      invalidate_with_epoch = true,
      allow_stale_reads = opts.allow_stale_shaping_data or false,
      retry_on_populate_timeout = opts.retry_shaping_data_fetch_on_populate_timeout,
      populate_timeout = opts.shaping_data_populate_timeout,
    },
    hooks = hooks,
    hook_names = hook_names,
    skipped = skipped,
    pre_filter = opts.pre_filter ~= false,
    back_pressure = opts.back_pressure,
    queue_overrides = opts.tsa_queue_config or {},
    daemons = opts.subscribe or {},
    -- The data watcher runs whenever subscribe was given, even empty.
    watch = opts.subscribe ~= nil,
  }
end

-- A fresh load, with what the loader reported sent to the log. Only ever
-- called through the cache.
local function load_logged(files, load_options)
  local data = kumo.shaping.load(files, load_options)
  for _, text in ipairs(data:get_errors()) do
    kumo.log_error(text)
  end
  for _, text in ipairs(data:get_warnings()) do
    kumo.log_warn(text)
  end
  return data
end

-- The `validate_config` check: a strict load of the same files, and the
-- sources they name against the sources helper's data when it is set up.
local function report_problems(settings)
  local data = kumo.shaping.load(settings.files, settings.check_options)
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
  for _, name in ipairs(kumo.shaping._display_names(settings.files)) do
    print(' - ' .. name)
  end
  print(table.concat(lines, '\n'))
  if failed then
    kumo.validation_failed()
  end
end

-- Registers what publishing to the daemons needs: each hook's queue, the
-- queue's delivery constructor, and the record filter.
local function wire_publishing(settings, current_data)
  local hooks = settings.hooks
  for _, name in ipairs(settings.hook_names) do
    local hook = hooks[name]
    kumo.on(hook.constructor, function()
      not_supported_yet(
        string.format('publishing log records to the TSA daemon at %s (hook %s)', hook.url, name),
        'kumo.http.build_client'
      )
    end)
  end

  kumo.on('get_queue_config', function(queue)
    local hook = hooks[queue]
    if hook == nil then
      return nil -- not one of ours: another handler decides
    end
    local params = { retry_interval = '1m', max_retry_interval = '20m' }
    for key, value in pairs(settings.queue_overrides) do
      params[key] = value
    end
    params.protocol = { custom_lua = { constructor = hook.constructor } }
    return kumo.make_queue_config(params)
  end)

  local function interesting(record)
    if not settings.pre_filter then
      return true
    end
    local ok, rules = pcall(function()
      return current_data():match_rules(record)
    end)
    return ok and #rules > 0
  end

  -- Routes a record to a daemon's queue, unless it came from a daemon, is
  -- about the publishing itself, is of a skipped type, or (with pre_filter)
  -- matches none of the automation rules.
  local function route_record(msg, hook_name)
    if hooks[hook_name] == nil then
      return nil -- another hook's record
    end
    local record = msg:get_meta 'log_record'
    local own = record.reception_protocol == 'LogRecord' or hooks[record.queue] ~= nil
    if own or settings.skipped[record.type] or not interesting(record) then
      return false
    end
    msg:set_meta('queue', hook_name)
    return true
  end
  kumo.on('should_enqueue_log_record', route_record)
end

-- Background task: bump the config epoch whenever the merged data changes
-- (a daemon's overrides, or an edited file once the cache expires), so
-- egress paths with refresh_strategy 'Epoch' are rebuilt.
local function watch_data(current_data)
  kumo.log_info 'TSA config monitor running'
  local last
  while true do
    local ok, result = pcall(function()
      return current_data():hash()
    end)
    if not ok then
      kumo.log_error('TSA Error, will retry in 30 seconds', result)
    elseif result ~= last then
      kumo.log_info 'TSA config changed'
      last = result
      kumo.bump_config_epoch()
    end
    kumo.sleep(WATCH_INTERVAL)
  end
end

-- setup_publish: one log hook per daemon, with the skipped record types
-- disabled, then the background tasks.
local function start_publishing(settings)
  local disabled = {}
  for kind in pairs(settings.skipped) do
    disabled[kind] = { enable = false }
  end
  for _, name in ipairs(settings.hook_names) do
    kumo.configure_log_hook { name = name, per_record = disabled, back_pressure = settings.back_pressure }
  end
  if settings.watch then
    for _, url in ipairs(settings.daemons) do
      kumo.spawn_task { event_name = FOLLOW_DAEMON, args = { url } }
    end
    kumo.spawn_task { event_name = WATCH_DATA, args = {} }
  end
end

function shaping:setup_with_automation(opts)
  if shaping.CONFIGURED then
    error 'shaping module has already been configured'
  end
  local settings = read_settings(opts)

  -- The cache key is the files and options as one string, built once: a
  -- string key costs the hot path far less than encoding the tables on
  -- every call.
  local key = kumo.json_encode { settings.files, settings.load_options or {} }
  local cached_load = kumo.memoize(function(_)
    return load_logged(settings.files, settings.load_options)
  end, settings.cache)
  local function current_data()
    return cached_load(key)
  end

  local shaper = {}
  shaper.load_shaping_data = current_data

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
    -- The watcher bumps the epoch when the data changes: follow it.
    if merged.refresh_strategy == nil then merged.refresh_strategy = 'Epoch' end
    return merged
  end

  function shaper.setup_publish()
    start_publishing(settings)
  end

  -- The paths loaded, in order (kumopolicy's addition).
  function shaper.shaping_files()
    return append_all({}, settings.files)
  end

  if #settings.hook_names > 0 then
    wire_publishing(settings, current_data)
  end
  if #settings.daemons > 0 then
    kumo.on(FOLLOW_DAEMON, function(args)
      not_supported_yet(
        string.format('following the event stream of the TSA daemon at %s', args[1]),
        'kumo.http.connect_websocket'
      )
    end)
  end
  if settings.watch then
    kumo.on(WATCH_DATA, function()
      watch_data(current_data)
    end)
  end
  kumo.on('validate_config', function() report_problems(settings) end)

  shaping.CONFIGURED = shaper
  return shaper
end

-- Files only, no daemons: returns the get_egress_path_config handler.
function shaping:setup(extra_files)
  return shaping:setup_with_automation({ extra_files = extra_files, publish = {}, subscribe = {} })
    .get_egress_path_config
end

return shaping
