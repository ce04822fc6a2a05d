-- The TSA half of policy-extras.shaping as a policy sees it: what
-- setup_with_automation registers (the publish constructor, the queue
-- configuration, the record filter, validate_config), the option checks,
-- and that the background work is native (no task names are registered).
-- setup_publish starts goroutines that contact the daemons; the Go tests
-- of modules/kumo cover it against an in-process daemon.
--
-- kumo.on is wrapped before the helper is set up, so the test sees the
-- handlers it registers.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local handlers = {}
local real_on = kumo.on
kumo.on = function(name, fn)
  handlers[name] = fn
  return real_on(name, fn)
end

local file = os.tmpname() .. '.toml'
local f = assert(io.open(file, 'w'))
f:write [==[
[default]
connection_limit = 10

[[default.automation]]
regex = "slow down"
action = "Suspend"
duration = "1h"
]==]
f:close()

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
  config_monitor_interval = '1s',
  subscriber_retry_delay = '2s',
}
local shaper = shaping:setup_with_automation(options)
local hook = 'http://127.0.0.1:8008.tsa.kumomta'

kumo.on = real_on

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
  utils.assert_eq(options.config_monitor_interval, '1s')

  -- The daemons' files follow the configured ones.
  utils.assert_eq(shaper.shaping_files(), {
    file,
    'http://127.0.0.1:8008/get_config_v1/shaping.toml',
    'http://127.0.0.1:8009/get_config_v1/shaping.toml',
  })
  local p = shaper.get_egress_path_config('dest.example', 'unspecified', 'mx.dest.example', true)
  utils.assert_eq(p.connection_limit, 10)
  utils.assert_eq(p.refresh_strategy, 'Epoch')

  -- The background work is native: KumoMTA's task names stay free.
  utils.assert_eq(handlers['kumo.tsa.suspension.subscriber'], nil)
  utils.assert_eq(handlers['kumo.tsa.config.monitor'], nil)
  assert(handlers.validate_config, 'validate_config is registered')

  -- The publish constructor returns a connection with send and close.
  local conn = handlers['make.' .. hook]('dest.example', nil, nil)
  utils.assert_eq(type(conn.send), 'function')
  utils.assert_eq(type(conn.close), 'function')
  conn:close()

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

  -- Options are checked strictly, kumopolicy's two included.
  shaping.CONFIGURED = nil
  local err = raises(shaping.setup_with_automation, shaping, { publish = { 'tsa:8008' } })
  assert(err:find('publish[1]', 1, true) and err:find('an http:// or https:// URL', 1, true), err)
  err = raises(shaping.setup_with_automation, shaping, { publish_everything = true })
  assert(err:find('publish_everything', 1, true), err)
  err = raises(shaping.setup_with_automation, shaping, { config_monitor_interval = 'soon' })
  assert(err:find('config_monitor_interval', 1, true), err)
  err = raises(shaping.setup_with_automation, shaping, { subscriber_retry_delay = 0 })
  assert(err:find('subscriber_retry_delay', 1, true), err)

  os.remove(file)
end)
