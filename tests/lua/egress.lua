-- kumo.make_egress_path, make_queue_config, make_egress_source and
-- make_egress_pool from a policy's point of view.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

-- pcall f(...) and return the error text, failing if it succeeded.
local function error_of(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, 'expected an error')
  return tostring(err)
end

local function assert_contains(text, want)
  assert(text:find(want, 1, true), string.format('%q does not contain %q', text, want))
end

local function test_defaults()
  local p = kumo.make_egress_path {}
  utils.assert_eq(p.connection_limit, { limit = 32, force_local = false })
  utils.assert_eq(p.enable_tls, 'Opportunistic')
  utils.assert_eq(p.enable_mta_sts, true)
  utils.assert_eq(p.enable_dane, false)
  utils.assert_eq(p.smtp_port, 25)
  utils.assert_eq(p.max_ready, 1024)
  utils.assert_eq(p.max_deliveries_per_connection, 1024)
  utils.assert_eq(p.max_recipients_per_batch, 100)
  utils.assert_eq(p.consecutive_connection_failures_before_delay, 100)
  -- the code's timeout defaults (the docs give 30s/60s/60s)
  utils.assert_eq(p.connect_timeout, '1m')
  utils.assert_eq(p.ehlo_timeout, '5m')
  utils.assert_eq(p.data_timeout, '5m')
  utils.assert_eq(p.data_dot_timeout, '5m')
  utils.assert_eq(p.idle_timeout, '5s')
  utils.assert_eq(p.auth_timeout, '1m')
  utils.assert_eq(p.refresh_interval, '1m')
  utils.assert_eq(p.refresh_strategy, 'Ttl')
  utils.assert_eq(p.ip_lookup_strategy, 'Ipv4AndIpv6')
  utils.assert_eq(p.reconnect_strategy, 'ConnectNextHost')
  utils.assert_eq(p.low_memory_reduction_policy, 'ShrinkDataAndMeta')
  -- adjacent default entries merge: :: and ::1 print as ::/127
  utils.assert_eq(p.prohibited_hosts, { '0.0.0.0', '127.0.0.0/8', '::/127' })
  utils.assert_eq(p.skip_hosts, {})
  utils.assert_eq(p.additional_connection_limits, {})
  -- options that are not set read as nil
  assert(p.ehlo_domain == nil and p.max_message_rate == nil and p.tls_certificate == nil)
  -- not serialized, as upstream
  assert(p.openssl_options == nil and p.rustls_cipher_suites == nil)
  assert(p.no_such_field == nil)
  utils.assert_eq(#p, 0)
end

local function test_normalized_forms()
  local p = kumo.make_egress_path {
    connection_limit = '1,000',
    additional_connection_limits = { shared = 'local:5', other = { limit = 7, force_local = true } },
    max_message_rate = 'local:100/123m',
    max_connection_rate = '100/min',
    source_selection_rate = '50/day,max_burst=1',
    additional_message_rate_throttles = { hourly = '1,000/hr' },
    idle_timeout = 90,
    data_timeout = '1h 30m',
    connect_timeout = 2.5,
    remember_broken_tls = '1 day',
    prohibited_hosts = { '10.0.0.0/25', '10.0.0.128/25', '::1' },
    tls_certificate = '/etc/tls/cert.pem',
    tls_private_key = { key_data = 'PEM DATA' },
    openssl_options = 'NO_TLSV1|NO_TLSV1_1',
    rustls_cipher_suites = { 'tls13_aes_128_gcm_sha256' },
    enable_tls = 'Required',
  }
  utils.assert_eq(p.connection_limit, { limit = 1000, force_local = false })
  utils.assert_eq(p.additional_connection_limits.shared, { limit = 5, force_local = true })
  utils.assert_eq(p.additional_connection_limits.other, { limit = 7, force_local = true })
  utils.assert_eq(p.max_message_rate, 'local:100/7380s')
  utils.assert_eq(p.max_connection_rate, '100/m')
  utils.assert_eq(p.source_selection_rate, '50/d,max_burst=1')
  utils.assert_eq(p.additional_message_rate_throttles, { hourly = '1000/h' })
  utils.assert_eq(p.idle_timeout, '1m 30s')
  utils.assert_eq(p.data_timeout, '1h 30m')
  utils.assert_eq(p.connect_timeout, '2s 500ms')
  utils.assert_eq(p.remember_broken_tls, '1day')
  utils.assert_eq(p.prohibited_hosts, { '10.0.0.0/24', '::1' })
  utils.assert_eq(p.tls_certificate, '/etc/tls/cert.pem')
  utils.assert_eq(p.tls_private_key, { key_data = 'PEM DATA' })
  utils.assert_eq(p.enable_tls, 'Required')

  -- each read builds a fresh table; the object itself is read-only
  local limits = p.additional_connection_limits
  limits.shared = nil
  assert(p.additional_connection_limits.shared ~= nil)
  assert_contains(error_of(function() p.enable_tls = 'Disabled' end), 'read-only')

  -- the serialized form goes back through the constructor unchanged
  local again = kumo.make_egress_path(p)
  utils.assert_eq(kumo.json_encode(again), kumo.json_encode(p))
end

local function test_pairs_and_json()
  local p = kumo.make_egress_path { ehlo_domain = 'mta.example.com', max_message_rate = '10/s' }
  local keys, copy = {}, {}
  for k, v in pairs(p) do
    table.insert(keys, k)
    copy[k] = v
  end
  -- declaration order; fields that are not set are skipped
  utils.assert_eq(keys[1], 'connection_limit')
  utils.assert_eq(keys[2], 'additional_connection_limits')
  utils.assert_eq(keys[3], 'enable_tls')
  utils.assert_eq(copy.ehlo_domain, 'mta.example.com')
  utils.assert_eq(copy.max_message_rate, '10/s')
  assert(copy.provider_name == nil)

  local decoded = kumo.json_parse(kumo.json_encode(p))
  utils.assert_eq(decoded.ehlo_domain, 'mta.example.com')
  utils.assert_eq(decoded.max_message_rate, '10/s')
  utils.assert_eq(decoded.connection_limit.limit, 32)
  utils.assert_eq(decoded.idle_timeout, '5s')
  -- unset options are null in JSON, as upstream
  assert_contains(kumo.json_encode(p), '"provider_name":null')
end

local function test_errors()
  -- KumoMTA's shape: deserialize error: <serde message>, while processing <json>
  local err = error_of(kumo.make_egress_path, { bogus = 1 })
  assert_contains(err, 'deserialize error: unknown field `bogus`, while processing {"bogus":1}')

  -- a near miss names the field that was probably meant
  err = error_of(kumo.make_egress_path, { idle_timout = '5s' })
  assert_contains(err, 'unknown field `idle_timout`, did you mean `idle_timeout`?')

  -- malformed rates say which field and what is wrong
  err = error_of(kumo.make_egress_path, { max_message_rate = '100/minutes' })
  assert_contains(err, 'max_message_rate: unknown period quantity minutes, while processing')
  err = error_of(kumo.make_egress_path, { max_message_rate = 'three/hour' })
  assert_contains(err, "max_message_rate: invalid limit 'three': invalid digit found in string")
  err = error_of(kumo.make_egress_path, { max_message_rate = '100' })
  assert_contains(err, "max_message_rate: expected 'limit/period', got 100")
  err = error_of(kumo.make_egress_path, { max_message_rate = 100 })
  assert_contains(err, 'max_message_rate: invalid type: integer `100`, expected a string')
  err = error_of(kumo.make_egress_path, { additional_message_rate_throttles = { x = '0/h' } })
  assert_contains(err, 'additional_message_rate_throttles.x: invalid ThrottleSpec `0/h`: limit must be greater than 0!')

  -- strict types
  err = error_of(kumo.make_egress_path, { enable_dane = 'yes' })
  assert_contains(err, 'enable_dane: invalid type: string "yes", expected a boolean')
  err = error_of(kumo.make_egress_path, { max_ready = 1.5 })
  assert_contains(err, 'max_ready: invalid type: floating point `1.5`, expected usize')
  err = error_of(kumo.make_egress_path, { max_ready = -1 })
  assert_contains(err, 'max_ready: invalid value: integer `-1`, expected usize')
  err = error_of(kumo.make_egress_path, { smtp_port = 70000 })
  assert_contains(err, 'smtp_port: invalid value: integer `70000`, expected u16')
  err = error_of(kumo.make_egress_path, { enable_tls = 'required' })
  assert_contains(err, 'enable_tls: unknown variant `required`, expected one of `Opportunistic`')
  err = error_of(kumo.make_egress_path, { connection_limit = 0 })
  assert_contains(err, 'connection_limit: limit must be 1 or larger')
  err = error_of(kumo.make_egress_path, { idle_timeout = '5 parsecs' })
  assert_contains(err, 'idle_timeout: invalid value: string "5 parsecs", expected a duration')
  err = error_of(kumo.make_egress_path, { prohibited_hosts = { '10.0.0.1/8' } })
  assert_contains(err, 'is not a valid CIDR: host part of address was not zero. Did you mean 10.0.0.0/8?')
  err = error_of(kumo.make_egress_path, { openssl_options = 'NO_TLSV1|TLSV1' })
  assert_contains(err, '`TLSV1` is not a valid SslOption name. Possible values are')
  err = error_of(kumo.make_egress_path, { rustls_cipher_suites = { 'RC4' } })
  assert_contains(err, '`RC4` is not a valid rustls cipher suite')

  -- typing.lua's extraction works on these errors
  local typing = require 'policy-extras.typing'
  utils.assert_eq(
    typing.extract_deserialize_error(error_of(kumo.make_egress_path, { max_ready = 'x' })),
    'max_ready: invalid type: string "x", expected usize'
  )
end

local function test_queue_config()
  local q = kumo.make_queue_config {}
  utils.assert_eq(q.retry_interval, '20m')
  utils.assert_eq(q.max_age, '7days')
  utils.assert_eq(q.reap_interval, '10m')
  utils.assert_eq(q.refresh_interval, '1m')
  utils.assert_eq(q.strategy, 'SingletonTimerWheel')
  utils.assert_eq(q.refresh_strategy, 'Ttl')
  utils.assert_eq(q.protocol, { smtp = { mx_list = {}, treat_mx_list_as_secure = false } })

  q = kumo.make_queue_config {
    egress_pool = 'pool',
    max_message_rate = '1000/hr',
    retry_interval = '5 minutes',
    max_retry_interval = 3600,
    protocol = { custom_lua = { constructor = 'make.publisher', batch_size = 10 } },
    shrink_policy = { { interval = '1m', policy = 'ShrinkData' } },
  }
  utils.assert_eq(q.egress_pool, 'pool')
  utils.assert_eq(q.max_message_rate, '1000/h')
  utils.assert_eq(q.retry_interval, '5m')
  utils.assert_eq(q.max_retry_interval, '1h')
  utils.assert_eq(q.protocol.custom_lua, {
    constructor = 'make.publisher',
    batch_size = 10,
    min_batch_size = 1,
    max_batch_latency = '0s',
  })
  utils.assert_eq(q.shrink_policy, { { interval = '1m', policy = 'ShrinkData' } })

  utils.assert_eq(kumo.make_queue_config({ protocol = { maildir_path = '/var/mail' } }).protocol.maildir_path, '/var/mail')
  utils.assert_eq(kumo.make_queue_config({ protocol = { xfer = { target = 'http://10.0.0.1:8000' } } }).protocol.xfer.target, 'http://10.0.0.1:8000/')
  utils.assert_eq(
    kumo.make_queue_config({ protocol = { smtp = { mx_list = { 'mx.example.com', '[10.0.0.1]' } } } }).protocol.smtp.mx_list,
    { 'mx.example.com', '[10.0.0.1]' }
  )

  local err = error_of(kumo.make_queue_config, { retry = '1m' })
  assert_contains(err, 'deserialize error: unknown field `retry`, expected one of `retry_interval`, ')
  err = error_of(kumo.make_queue_config, { protocol = { custom_lua = {} } })
  assert_contains(err, 'protocol: data did not match any variant of untagged enum DeliveryProto (custom_lua: missing field `constructor`)')
  -- queue.lua classifies type errors by "invalid type"
  err = error_of(kumo.make_queue_config, { max_age = true })
  assert_contains(err, 'max_age: invalid type: boolean `true`, expected a duration')
end

local function test_sources_and_pools()
  local s = kumo.make_egress_source {
    name = 'ip-1',
    source_address = '10.0.0.1',
    ehlo_domain = 'mta1.example.com',
    socks5_proxy_server = 'proxy.example.com:1080',
    suspend_when_unplumbed = { duration = '5m', trigger = { Threshold = '3/min' } },
  }
  assert(type(s) == 'userdata')
  local data = kumo.json_parse(kumo.json_encode(s))
  utils.assert_eq(data.name, 'ip-1')
  utils.assert_eq(data.suspend_when_unplumbed, { trigger = { Threshold = '3/m' }, duration = '5m' })

  local err = error_of(kumo.make_egress_source, { source_address = '10.0.0.1' })
  assert_contains(err, 'deserialize error: missing field `name`')
  err = error_of(kumo.make_egress_source, { name = 'x', socks5_proxy_server = 'not a valid hostname:5000' })
  assert_contains(err, 'invalid hostname "not a valid hostname"')
  err = error_of(kumo.make_egress_source, { name = 'x', source_address = '10.0.0.256' })
  assert_contains(err, 'source_address: invalid IP address syntax')
  err = error_of(kumo.make_egress_source, { name = 'x', weight = 1 })
  assert_contains(err, 'unknown field `weight`, expected one of `name`, `ehlo_domain`, ')
  assert(not err:find 'invalid', 'an unknown field is not a value error')

  local pool = kumo.make_egress_pool { name = 'pool', entries = { { name = 'ip-1' }, { name = 'ip-2', weight = 2 } } }
  utils.assert_eq(kumo.json_parse(kumo.json_encode(pool)).entries, { { name = 'ip-1', weight = 1 }, { name = 'ip-2', weight = 2 } })
  kumo.make_egress_pool { name = 'empty' }
  err = error_of(kumo.make_egress_pool, { name = 'p', entries = { { name = 'a', weight = 1.5 } } })
  assert_contains(err, 'entries[1].weight: invalid type: floating point `1.5`, expected u32')
end

kumo.on('main', function()
  test_defaults()
  test_normalized_forms()
  test_pairs_and_json()
  test_errors()
  test_queue_config()
  test_sources_and_pools()
end)
