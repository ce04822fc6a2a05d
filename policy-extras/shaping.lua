-- policy-extras.shaping: traffic shaping from layered TOML/JSON files, and
-- the wiring to a Traffic Shaping Automation (TSA) daemon.
--
-- Same public functions and options as KumoMTA's helper of the same name:
--
--   local shaping = require 'policy-extras.shaping'
--
--   -- Shaping from files only:
--   kumo.on('get_egress_path_config', shaping:setup { '/opt/kumomta/etc/policy/shaping.toml' })
--
--   -- With automation:
--   local shaper = shaping:setup_with_automation {
--     publish = { 'http://127.0.0.1:8008' },     -- TSA daemons to send logs to
--     subscribe = { 'http://127.0.0.1:8008' },   -- TSA daemons to take actions from
--     extra_files = { '/opt/kumomta/etc/policy/shaping.toml' },
--   }
--   kumo.on('init', function() shaper.setup_publish() end)
--   kumo.on('get_egress_path_config', shaper.get_egress_path_config)
--
-- The files are /opt/kumomta/share/policy-extras/shaping.toml (unless
-- no_default_files = true), then extra_files, then each subscribed daemon's
-- /get_config_v1/shaping.toml, loaded and merged by kumo.shaping.load.
--
-- Options of setup_with_automation: publish, subscribe, extra_files,
-- no_default_files, cache_ttl ('1 minute'), load_validation_options,
-- validation_options, pre_filter (true), skip_log_record_types,
-- additional_skip_log_record_types, back_pressure, tsa_queue_config,
-- publish_timeout, publish_pool_idle_timeout, publish_connection_verbose,
-- retry_shaping_data_fetch_on_populate_timeout,
-- shaping_data_populate_timeout, allow_stale_shaping_data.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'
local sources = require 'policy-extras.sources'

local M = {}

local DEFAULT_SHAPING_FILE = '/opt/kumomta/share/policy-extras/shaping.toml'

-- Record types that describe mail entering or moving inside the MTA rather
-- than a conversation with a destination; they are not sent to TSA.
local DEFAULT_SKIP_TYPES = {
  'AdminRebind',
  'DeferredInjectionRebind',
  'Delayed',
  'Reception',
  'Rejection',
  'XferIn',
  'XferOut',
}

-- Options used by `validate` when validation_options is not given.
local DEFAULT_VALIDATION_OPTIONS = {
  aliased_site = 'Warn',
  dns_fail = 'Warn',
  local_load = 'Error',
  null_mx = 'Warn',
  provider_overlap = 'Warn',
  remote_load = 'Ignore',
  skip_remote = true,
}

-- The name kumo.shaping.load gives a file in its messages: the file
-- itself, or, when it does not exist and kumopolicy has embedded default
-- data standing in for it, the stand-in's name.
local function loaded_name(file)
  return kumo.shaping._source_name(file)
end

-- Loads the shaping files, logging what the load reported.
local function load_and_log(files, options)
  local data = kumo.shaping.load(files, options)
  for _, message in ipairs(data:get_errors()) do
    kumo.log_error(message)
  end
  for _, message in ipairs(data:get_warnings()) do
    kumo.log_warn(message)
  end
  return data
end

local function as_set(list)
  local set = {}
  for _, item in ipairs(list or {}) do
    set[item] = true
  end
  return set
end

-- Builds the connection object the publish queue's dispatcher uses to post
-- each log record to a TSA daemon.
local function make_publisher(endpoint, options)
  local client = kumo.http.build_client {
    timeout = options.publish_timeout or '1 minute',
    pool_idle_timeout = options.publish_pool_idle_timeout or '90 seconds',
    connection_verbose = options.publish_connection_verbose,
  }
  local publisher = {}
  function publisher:send(message)
    local response = client
      :post(endpoint .. '/publish_log_v1')
      :header('Content-Type', 'application/json')
      :body(message:get_data())
      :send()
    local disposition = string.format(
      '%d %s: %s',
      response:status_code(),
      response:status_reason(),
      response:text()
    )
    if response:status_is_success() then
      return disposition
    end
    -- A transient rejection: the dispatcher retries later.
    kumo.reject(400, disposition)
  end
  return publisher
end

local function reason_of(item)
  return string.format('%s (rule_hash=%s)', item.reason, item.rule_hash)
end

-- Scheduled-queue actions are keyed by campaign, tenant and domain.
local function sched_q_params(item)
  return {
    campaign = item.campaign,
    domain = item.domain,
    tenant = item.tenant,
    reason = reason_of(item),
    expires = item.expires,
  }
end

local APPLY = {
  ReadyQSuspension = function(item)
    kumo.api.admin.suspend_ready_q.suspend {
      name = item.site_name,
      reason = reason_of(item),
      expires = item.expires,
    }
  end,
  SchedQSuspension = function(item)
    kumo.api.admin.suspend.suspend(sched_q_params(item))
  end,
  SchedQBounce = function(item)
    kumo.api.admin.bounce.bounce(sched_q_params(item))
  end,
}

-- Applies one event received from a TSA daemon.
local function apply_event(event)
  for kind, item in pairs(event) do
    local apply = APPLY[kind]
    if apply then
      apply(item)
      return
    end
  end
  kumo.log_error(
    string.format(
      'Received unsupported record type %s from TSA. Do you need to upgrade kumod on this instance?',
      kumo.serde.json_encode(event)
    )
  )
end

-- Follows a TSA daemon's event stream until it fails. Daemons without the
-- event endpoint get the older suspension-only endpoint.
local function follow_daemon(url)
  local ws = url:gsub('^http', 'ws')
  local events_url = ws .. '/subscribe_event_v1'
  local ok, stream = pcall(kumo.http.connect_websocket, events_url)
  if ok then
    while true do
      for _, text in ipairs(stream:recv_batch '3s') do
        apply_event(kumo.json_parse(text))
      end
    end
  end
  if not tostring(stream):find('HTTP error: 404 Not Found', 1, true) then
    error(string.format('Request to %s failed: %s', events_url, tostring(stream)))
  end
  local legacy_url = ws .. '/subscribe_suspension_v1'
  kumo.log_warn(
    string.format(
      "NOTE: Your TSA daemon doesn't support %s, falling back to %s. Please upgrade and restart your TSA daemon to enable full functionality!",
      events_url,
      legacy_url
    )
  )
  local legacy = kumo.http.connect_websocket(legacy_url)
  while true do
    local event = kumo.json_parse(legacy:recv())
    if event.ReadyQ then
      APPLY.ReadyQSuspension(event.ReadyQ)
    elseif event.SchedQ then
      APPLY.SchedQSuspension(event.SchedQ)
    end
  end
end

-- Background task: keep following a daemon, retrying after failures.
kumo.on('kumo.tsa.suspension.subscriber', function(args)
  local url = args[1]
  while true do
    local ok, err = pcall(follow_daemon, url)
    kumo.log_error('TSA Error, will retry in 30 seconds', ok, err)
    kumo.sleep(30)
  end
end)

-- Background task: bump the config epoch whenever the merged shaping data
-- (including the daemons' overrides) changes, so egress paths refresh.
kumo.on('kumo.tsa.config.monitor', function(args)
  kumo.log_info 'TSA config monitor running'
  local last = ''
  while true do
    local ok, err = pcall(function()
      local current = M.CONFIGURED.load_shaping_data():hash()
      if current ~= last then
        kumo.log_info 'TSA config changed'
        last = current
        kumo.bump_config_epoch()
      end
    end)
    if not ok then
      kumo.log_error('TSA Error, will retry in 30 seconds', ok, err)
    end
    collectgarbage()
    kumo.sleep(30)
  end
end)

-- setup(extra_files) is setup_with_automation without TSA; it returns the
-- get_egress_path_config handler.
function M:setup(extra_files)
  return self:setup_with_automation({
    extra_files = extra_files,
    publish = {},
    subscribe = {},
  }).get_egress_path_config
end

function M:setup_with_automation(options)
  if M.CONFIGURED then
    error 'shaping module has already been configured'
  end
  options = options or {}
  if options.pre_filter == nil then
    options.pre_filter = true
  end

  local skip = options.skip_log_record_types
  if skip == nil then
    skip = DEFAULT_SKIP_TYPES
  end
  skip = as_set(skip)
  for _, record_type in ipairs(options.additional_skip_log_record_types or {}) do
    skip[record_type] = true
  end
  options.skip_log_record_types = skip

  local files = {}
  if not options.no_default_files then
    table.insert(files, DEFAULT_SHAPING_FILE)
  end
  for _, file in ipairs(options.extra_files or {}) do
    table.insert(files, file)
  end
  for _, url in ipairs(options.subscribe or {}) do
    table.insert(files, url .. '/get_config_v1/shaping.toml')
  end

  local cached_load = kumo.memoize(load_and_log, {
    name = 'shaping_data',
    ttl = options.cache_ttl or '1 minute',
    capacity = 16,
    invalidate_with_epoch = true,
    retry_on_populate_timeout = options.retry_shaping_data_fetch_on_populate_timeout,
    populate_timeout = options.shaping_data_populate_timeout,
    allow_stale_reads = options.allow_stale_shaping_data or false,
  })
  local function load_shaping_data()
    return cached_load(files, options.load_validation_options)
  end

  -- One log hook per daemon we publish to, named after its endpoint.
  local hooks = {}
  for _, endpoint in ipairs(options.publish or {}) do
    local hook_name = endpoint .. '.tsa.kumomta'
    local hook = {
      endpoint = endpoint,
      hook_name = hook_name,
      constructor = 'make.' .. hook_name,
    }
    hooks[hook_name] = hook
    kumo.on(hook.constructor, function(_domain, _tenant, _campaign)
      return make_publisher(endpoint, options)
    end)
  end

  local function setup_publish()
    local per_record = {}
    for record_type in pairs(skip) do
      per_record[record_type] = { enable = false }
    end
    for _, hook in pairs(hooks) do
      kumo.configure_log_hook {
        name = hook.hook_name,
        per_record = per_record,
        back_pressure = options.back_pressure,
      }
    end
    if options.subscribe then
      for _, url in ipairs(options.subscribe) do
        kumo.spawn_task {
          event_name = 'kumo.tsa.suspension.subscriber',
          args = { url },
        }
      end
      kumo.spawn_task { event_name = 'kumo.tsa.config.monitor', args = {} }
    end
  end

  -- The get_egress_path_config handler. With skip_make the merged
  -- parameters come back as a plain table instead of an egress path.
  local function get_egress_path_config(domain, egress_source, site_name, skip_make)
    local params = load_shaping_data():get_egress_path_config(domain, egress_source, site_name)
    if params.refresh_strategy == nil then
      params.refresh_strategy = 'Epoch'
    end
    if skip_make then
      return params
    end
    return kumo.make_egress_path(params)
  end

  -- The queue that carries log records to a daemon dispatches through the
  -- publisher constructor above.
  kumo.on('get_queue_config', function(domain, _tenant, _campaign, _routing_domain)
    local hook = hooks[domain]
    if not hook then
      return
    end
    local params = { retry_interval = '1m', max_retry_interval = '20m' }
    utils.merge_into(options.tsa_queue_config, params)
    params.protocol = { custom_lua = { constructor = hook.constructor } }
    return kumo.make_queue_config(params)
  end)

  kumo.on('should_enqueue_log_record', function(msg, hook_name)
    if not hooks[hook_name] then
      return -- someone else's hook
    end
    local record = msg:get_meta 'log_record'
    if record.reception_protocol == 'LogRecord' then
      return false
    end
    if hooks[record.queue] then
      return false -- the outcome of publishing; never publish that
    end
    if skip[record.type] then
      return false
    end
    if options.pre_filter then
      local ok, matches = pcall(function()
        return #load_shaping_data():match_rules(record) > 0
      end)
      if not ok or not matches then
        return false
      end
    end
    msg:set_meta('queue', hook_name)
    return true
  end)

  M.CONFIGURED = {
    _file_names = files,
    _options = options,
    load_shaping_data = load_shaping_data,
    get_egress_path_config = get_egress_path_config,
    setup_publish = setup_publish,
  }
  return M.CONFIGURED
end

-- `validate` checks the configured files strictly and cross-checks the
-- sources they reference against the sources helper's data.
kumo.on('validate_config', function()
  local configured = M.CONFIGURED
  if not configured then
    return
  end
  local data = kumo.shaping.load(
    configured._file_names,
    configured._options.validation_options or DEFAULT_VALIDATION_OPTIONS
  )

  local header_done = false
  local function header()
    if header_done then
      return
    end
    header_done = true
    print 'Issues found in the combined set of shaping files:'
    for _, file in ipairs(configured._file_names) do
      print(' - ' .. loaded_name(file))
    end
  end

  local errors = data:get_errors()
  if #errors > 0 then
    header()
    kumo.validation_failed()
    for _, message in ipairs(errors) do
      print('ERROR: ' .. message)
    end
  end
  local warnings = data:get_warnings()
  if #warnings > 0 then
    header()
    for _, message in ipairs(warnings) do
      print('WARNING: ' .. message)
    end
  end

  if sources.CONFIGURED then
    local known = sources.CONFIGURED.get_data().sources
    for source, referrers in pairs(data:get_referenced_sources()) do
      local is_sample = source == 'my source name' and referrers[1] == 'domain:example.com'
      if not is_sample and not known[source] then
        header()
        kumo.validation_failed()
        print(
          string.format(
            "Source '%s' is not present in your sources helper data. Referenced by %s",
            source,
            table.concat(referrers, ', ')
          )
        )
      end
    end
  end
end)

return M
