-- Without a KumoMTA install, the default shaping file is kumopolicy's own.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

kumo.on('main', function()
  local installed = io.open '/opt/kumomta/share/policy-extras/shaping.toml'
  if installed then
    installed:close()
    print 'default_shaping: a KumoMTA install is present; the embedded fallback is not used'
    return
  end
  local s = kumo.shaping.load { '/opt/kumomta/share/policy-extras/shaping.toml' }
  utils.assert_eq(s:get_errors(), {})
  -- A name that is not a DNS name skips provider matching: default only.
  local p = s:get_egress_path_config('not a domain', 'unspecified', 'x')
  utils.assert_eq(p.connection_limit, 10)
  utils.assert_eq(p.enable_tls, 'Opportunistic')
end)
