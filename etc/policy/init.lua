-- kumopolicy's default policy, used when no --policy is given and
-- /opt/kumomta/etc/policy/init.lua does not exist.
--
-- It runs like any KumoMTA policy: this file executes once for every Lua
-- state the host builds, so it only registers handlers and builds helpers;
-- work happens inside the handlers.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

-- Process-wide cache shared by every Lua state: the function runs once per
-- distinct argument until the entry expires.
local describe_host = kumo.memoize(function(name)
  return { name = name, described_at = os.time() }
end, { name = 'kumopolicy.default.describe_host', ttl = '5 minutes', capacity = 100 })

kumo.on('init', function()
  kumo.log_info('kumopolicy default policy: init')
end)

kumo.on('validate_config', function()
  local first = describe_host 'localhost'
  local again = describe_host 'localhost'
  if first.described_at ~= again.described_at then
    print 'kumo.memoize did not cache the host description'
    kumo.validation_failed()
  end
  if not utils.ends_with('init.lua', '.lua') then
    print 'policy-extras.policy_utils is not usable'
    kumo.validation_failed()
  end
end)
