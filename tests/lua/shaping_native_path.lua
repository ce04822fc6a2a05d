-- Shaping:get_egress_path builds, in Go, exactly what the shaping helper's
-- handler builds through a Lua table: the merged parameters, with
-- refresh_strategy defaulting to Epoch, made into an EgressPathConfig.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local file = os.tmpname() .. '.toml'
local f = assert(io.open(file, 'w'))
f:write [[
[default]
connection_limit = 4
max_message_rate = "30/min"
additional_connection_limits = { "pool-a" = 7 }

["slow.example"]
mx_rollup = false
idle_timeout = "9s"
refresh_strategy = "Ttl"
[ "slow.example".sources."ip-2" ]
max_deliveries_per_connection = 12

[provider."bigmail"]
match = [{ DomainSuffix = ".bigmail.example" }]
provider_connection_limit = 20
enable_tls = "Required"
]]
f:close()

kumo.on('main', function()
  local s = kumo.shaping.load { file }
  for _, q in ipairs {
    { 'slow.example', 'ip-2', 'slow.example' },
    { 'slow.example', 'unspecified', 'slow.example' },
    { 'mx.bigmail.example', 'ip-1', 'mx.bigmail.example' },
    { 'other.example', 'unspecified', 'other.example' },
  } do
    local params = s:get_egress_path_config(q[1], q[2], q[3])
    if params.refresh_strategy == nil then
      params.refresh_strategy = 'Epoch'
    end
    local via_lua = kumo.make_egress_path(params)
    local native = s:get_egress_path(q[1], q[2], q[3])
    utils.assert_eq(kumo.json_encode(native), kumo.json_encode(via_lua))
    assert(tostring(native):find('^EgressPathConfig'), tostring(native))
  end
  local p = s:get_egress_path('slow.example', 'ip-2', 'slow.example')
  utils.assert_eq(p.max_deliveries_per_connection, 12)
  utils.assert_eq(p.refresh_strategy, 'Ttl')
  utils.assert_eq(p.idle_timeout, '9s')
  utils.assert_eq(s:get_egress_path('other.example', 'x', 'other.example').refresh_strategy, 'Epoch')
  -- The shaping data's own values are untouched by the default.
  utils.assert_eq(s:get_egress_path_config('other.example', 'x', 'other.example').refresh_strategy, nil)
  os.remove(file)
end)
