-- The TSA half of policy-extras.shaping: what setup_with_automation and
-- setup_publish configure, the record filter, the data watcher, and the
-- clear "not supported yet" errors where a daemon would be contacted.
--
-- kumo.on, kumo.spawn_task, kumo.configure_log_hook and kumo.sleep are
-- wrapped before the helper is set up, so the test sees what it registers
-- and starts, and can run the background tasks' handlers itself.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local handlers, spawned, log_hooks = {}, {}, {}
local real = { on = kumo.on, spawn_task = kumo.spawn_task, configure_log_hook = kumo.configure_log_hook }
kumo.on = function(name, fn)
  handlers[name] = fn
  return real.on(name, fn)
end
kumo.spawn_task = function(params)
  table.insert(spawned, params)
end
kumo.configure_log_hook = function(params)
  table.insert(log_hooks, params)
  return real.configure_log_hook(params)
end

local file = os.tmpname() .. '.toml'
local function write_data(limit)
  local f = assert(io.open(file, 'w'))
  f:write(string.format(
    [==[
[default]
connection_limit = %d

[[default.automation]]
regex = "slow down"
action = "Suspend"
duration = "1h"
]==],
    limit
  ))
  f:close()
end
write_data(10)

local shaping = require 'policy-extras.shaping'
local options = {
  no_default_files = true,
  extra_files = { file },
  publish = { 'http://127.0.0.1:8008' },
  subscribe = { 'http://127.0.0.1:8008', 'http://127.0.0.1:8009' },
  additional_skip_log_record_types = { 'Bounce' },
  back_pressure = 500,
  tsa_queue_config = { max_retry_interval = '5m', max_message_rate = '2/s' },
  -- Nothing is fetched from the daemons here.
  load_validation_options = { skip_remote = true },
  cache_ttl = '10ms',
}
local shaper = shaping:setup_with_automation(options)
local hook = 'http://127.0.0.1:8008.tsa.kumomta'

kumo.on = real.on

-- A log record as kumod hands it to should_enqueue_log_record.
local function record(kind, content)
  return {
    type = kind,
    id = 'a1',
    sender = 'sender@example.com',
    recipient = { 'someone@dest.example' },
    queue = 'dest.example',
    site = 'unspecified->mx.dest.example@smtp_client',
    size = 10,
    response = { code = 421, content = content },
    timestamp = 1700000000,
    created = 1700000000,
    num_attempts = 1,
    bounce_classification = 'Uncategorized',
    meta = {},
    headers = {},
    nodeid = '11111111-2222-3333-4444-555555555555',
  }
end

-- Just enough of a Message for the record filter.
local function message(log_record)
  local msg = { meta = { log_record = log_record } }
  function msg:get_meta(key)
    return self.meta[key]
  end
  function msg:set_meta(key, value)
    self.meta[key] = value
  end
  return msg
end

local function raises(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, 'expected an error')
  return tostring(err)
end

kumo.on('main', function()
  -- The caller's options are read, not rewritten.
  utils.assert_eq(options.pre_filter, nil)
  utils.assert_eq(options.skip_log_record_types, nil)

  -- The daemons' files follow the configured ones.
  utils.assert_eq(shaper.shaping_files(), {
    file,
    'http://127.0.0.1:8008/get_config_v1/shaping.toml',
    'http://127.0.0.1:8009/get_config_v1/shaping.toml',
  })

  -- setup_publish: one log hook per publish URL, skipped types disabled;
  -- a subscriber task per daemon and one data watcher.
  shaper.setup_publish()
  kumo.spawn_task = real.spawn_task
  kumo.configure_log_hook = real.configure_log_hook
  utils.assert_eq(#log_hooks, 1)
  utils.assert_eq(log_hooks[1].name, hook)
  utils.assert_eq(log_hooks[1].back_pressure, 500)
  local disabled = {}
  for kind in pairs(log_hooks[1].per_record) do
    table.insert(disabled, kind)
  end
  table.sort(disabled)
  utils.assert_eq(disabled, {
    'AdminRebind', 'Bounce', 'DeferredInjectionRebind', 'Delayed', 'Reception', 'Rejection', 'XferIn', 'XferOut',
  })
  utils.assert_eq(log_hooks[1].per_record.Delayed, { enable = false })
  utils.assert_eq(spawned, {
    { event_name = 'kumo.tsa.suspension.subscriber', args = { 'http://127.0.0.1:8008' } },
    { event_name = 'kumo.tsa.suspension.subscriber', args = { 'http://127.0.0.1:8009' } },
    { event_name = 'kumo.tsa.config.monitor', args = {} },
  })

  -- Contacting a daemon is not supported yet, and says what is missing.
  local err = raises(handlers['kumo.tsa.suspension.subscriber'], { 'http://127.0.0.1:8009' })
  assert(err:find('TSA daemon at http://127.0.0.1:8009', 1, true), err)
  assert(err:find('not supported by kumopolicy yet (it needs kumo.http.connect_websocket)', 1, true), err)
  err = raises(handlers['make.' .. hook], 'dest.example', nil, nil)
  assert(err:find('publishing log records to the TSA daemon at http://127.0.0.1:8008', 1, true), err)
  assert(err:find('not supported by kumopolicy yet (it needs kumo.http.build_client)', 1, true), err)

  -- The publish queue: KumoMTA's retry defaults, then tsa_queue_config,
  -- delivering through the hook's constructor. Other queues are not ours.
  local get_queue_config = handlers.get_queue_config
  local q = get_queue_config(hook, nil, nil, nil)
  utils.assert_eq(q.retry_interval, '1m')
  utils.assert_eq(q.max_retry_interval, '5m')
  utils.assert_eq(q.max_message_rate, '2/s')
  utils.assert_eq(q.protocol.custom_lua.constructor, 'make.' .. hook)
  utils.assert_eq(get_queue_config('dest.example', nil, nil, nil), nil)

  -- The record filter.
  local route = handlers.should_enqueue_log_record
  local msg = message(record('TransientFailure', 'slow down'))
  utils.assert_eq(route(msg, 'some other hook'), nil)
  utils.assert_eq(msg.meta.queue, nil)
  utils.assert_eq(route(msg, hook), true)
  utils.assert_eq(msg.meta.queue, hook)
  -- No automation rule matches: pre_filter drops it.
  utils.assert_eq(route(message(record('TransientFailure', 'mailbox full')), hook), false)
  -- A record that cannot be matched at all is dropped too.
  local broken = record('TransientFailure', 'slow down')
  broken.recipient = nil
  utils.assert_eq(route(message(broken), hook), false)
  -- Skipped types, records received from a daemon, and records about the
  -- publishing itself are never published.
  utils.assert_eq(route(message(record('Bounce', 'slow down')), hook), false)
  utils.assert_eq(route(message(record('Delayed', 'slow down')), hook), false)
  local relayed = record('TransientFailure', 'slow down')
  relayed.reception_protocol = 'LogRecord'
  utils.assert_eq(route(message(relayed), hook), false)
  local publishing = record('TransientFailure', 'slow down')
  publishing.queue = hook
  utils.assert_eq(route(message(publishing), hook), false)

  -- The data watcher bumps the epoch on its first look, again only when
  -- the merged data changed, and keeps going after a failed load.
  local bumps, looks = 0, 0
  local real_bump, real_sleep = kumo.bump_config_epoch, kumo.sleep
  kumo.bump_config_epoch = function()
    bumps = bumps + 1
    real_bump()
  end
  local function broken_data()
    local f = assert(io.open(file, 'w'))
    f:write '[default\n'
    f:close()
  end
  local steps = {
    function() end, -- nothing changes
    function() write_data(20) end,
    function() write_data(30) end,
    function()
      local p = shaper.get_egress_path_config('dest.example', 'unspecified', 'mx.dest.example', true)
      utils.assert_eq(p.connection_limit, 30)
      broken_data()
    end,
    function() end,
  }
  local seen = {}
  kumo.sleep = function(seconds)
    utils.assert_eq(seconds, 30)
    looks = looks + 1
    table.insert(seen, bumps)
    if looks > #steps then
      error('stop watching')
    end
    steps[looks]()
    real_sleep(0.05) -- past cache_ttl
  end
  err = raises(handlers['kumo.tsa.config.monitor'], {})
  kumo.bump_config_epoch, kumo.sleep = real_bump, real_sleep
  assert(err:find('stop watching', 1, true), err)
  -- Bumps after each look: first look, unchanged, 20, 30, unparseable
  -- (no bump), and the watcher goes on (the failure is cached: no bump).
  utils.assert_eq(seen, { 1, 1, 2, 3, 3, 3 })

  os.remove(file)
end)
