-- kumopolicy's default policy, used when no --policy is given and
-- /opt/kumomta/etc/policy/init.lua does not exist.
--
-- It runs like any KumoMTA policy: this file executes once for every Lua
-- state the host builds, so it only registers handlers and builds helpers;
-- work happens inside the handlers.
--
-- Egress paths come from the shaping helper over the default shaping data
-- (/opt/kumomta/share/policy-extras/shaping.toml, or, when that file does
-- not exist, kumopolicy's embedded default data standing in for it), plus
-- /opt/kumomta/etc/policy/shaping.toml when it exists.
--
-- Under `kumopolicy serve` it answers the admin API on 127.0.0.1:8000 (or
-- the address in $KUMOPOLICY_ADMIN_LISTEN), for local clients only.
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'

local extra_files = {}
local site_file = '/opt/kumomta/etc/policy/shaping.toml'
local f = io.open(site_file)
if f then
  f:close()
  table.insert(extra_files, site_file)
end

local shaper = shaping:setup_with_automation { extra_files = extra_files }

kumo.on('init', function()
  kumo.start_http_listener {
    listen = os.getenv 'KUMOPOLICY_ADMIN_LISTEN' or '127.0.0.1:8000',
    trusted_hosts = { '127.0.0.1', '::1' },
  }
  -- Named as kumo.shaping.load names them in its messages.
  local names = kumo.shaping._display_names(shaper.shaping_files())
  kumo.log_info('kumopolicy default policy: shaping from ' .. table.concat(names, ', '))
end)

kumo.on('get_egress_path_config', shaper.get_egress_path_config)
