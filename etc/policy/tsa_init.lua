-- kumopolicy's default TSA daemon policy, used by `kumopolicy tsa-daemon`
-- when no --policy is given and neither /opt/kumomta/etc/tsa/init.lua nor
-- /opt/kumomta/etc/policy/tsa_init.lua exists.
--
-- It serves the TSA API on 127.0.0.1:8008 to local clients only, and
-- takes its automation rules from the default shaping data
-- (/opt/kumomta/share/policy-extras/shaping.toml, or kumopolicy's embedded
-- copy when that file does not exist) plus /opt/kumomta/etc/policy/shaping.toml
-- when it exists. The state database path is tsa.db in the working
-- directory, or $KUMOPOLICY_TSA_DB when set.
local kumo = require 'kumo'
local tsa = require 'tsa'

local files = { '/opt/kumomta/share/policy-extras/shaping.toml' }
local site_file = '/opt/kumomta/etc/policy/shaping.toml'
local f = io.open(site_file)
if f then
  f:close()
  table.insert(files, site_file)
end

kumo.on('tsa_init', function()
  tsa.start_http_listener {
    listen = '127.0.0.1:8008',
    trusted_hosts = { '127.0.0.1', '::1' },
  }
  tsa.configure_tsa_db_path(os.getenv 'KUMOPOLICY_TSA_DB' or 'tsa.db')
end)

-- Shaping files are read again at most every 5 minutes; the daemon asks
-- for them every 30 seconds.
local load_shaping = kumo.memoize(kumo.shaping.load, {
  name = 'kumopolicy_tsa_shaping',
  ttl = '5 minutes',
  capacity = 2,
})

kumo.on('tsa_load_shaping_data', function()
  return load_shaping(files)
end)
