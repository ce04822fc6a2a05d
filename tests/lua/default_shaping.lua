-- Without a KumoMTA install, kumo.shaping.load serves kumopolicy's embedded
-- default data for KumoMTA's default shaping file, with KumoMTA's values.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

kumo.on('main', function()
  -- The test host maps /opt/kumomta to empty directories, so the file is
  -- missing here even on a machine with KumoMTA installed.
  local path = '/opt/kumomta/share/policy-extras/shaping.toml'
  local s = kumo.shaping.load { path }
  utils.assert_eq(s:get_errors(), {})
  -- A name that is not a DNS name skips provider matching: default only.
  local p = s:get_egress_path_config('not a domain', 'unspecified', 'x')
  utils.assert_eq(p.connection_limit, 10)
  utils.assert_eq(p.enable_tls, 'Opportunistic')
  utils.assert_eq(p.data_timeout, '30s')
  utils.assert_eq(p.remember_broken_tls, '3 days')
  -- An mx_rollup = false block and its per-source table.
  p = s:get_egress_path_config('example.com', 'my source name', 'example.com')
  utils.assert_eq(p.connection_limit, 5)
  utils.assert_eq(p.max_deliveries_per_connection, 100)
  p = s:get_egress_path_config('example.com', 'unspecified', 'example.com')
  utils.assert_eq(p.connection_limit, 3)
  -- Helpers name the stand-in the way the loader does.
  local name = kumo.shaping._embedded_defaults[path]
  assert(name:find('[embedded default]', 1, true) and name:find(path, 1, true), name)
end)
