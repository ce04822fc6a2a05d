-- The embedded policy-extras.shaping helper serves get_egress_path_config
-- from layered files.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'
local shaping = require 'policy-extras.shaping'

local file = os.tmpname() .. '.toml'
local f = assert(io.open(file, 'w'))
f:write [[
[default]
connection_limit = 10
max_message_rate = "100/hr"

["literal.example"]
mx_rollup = false
connection_limit = 2
[ "literal.example".sources."ip-1" ]
connection_limit = 1

[provider."bigmail"]
match = [{ DomainSuffix = ".bigmail.example" }]
provider_connection_limit = 20
enable_tls = "Required"
]]
f:close()

local shaper = shaping:setup_with_automation {
  no_default_files = true,
  extra_files = { file },
}

kumo.on('main', function()
  local p = shaper.get_egress_path_config('literal.example', 'ip-1', 'literal.example', true)
  utils.assert_eq(p.connection_limit, 1)
  utils.assert_eq(p.max_message_rate, '100/hr')
  utils.assert_eq(p.refresh_strategy, 'Epoch')

  p = shaper.get_egress_path_config('mx.bigmail.example', 'ip-2', 'mx.bigmail.example', true)
  utils.assert_eq(p.provider_name, 'bigmail')
  utils.assert_eq(p.enable_tls, 'Required')
  utils.assert_eq(p.additional_connection_limits['shaping-provider-bigmail-ip-2-limit'], '20')

  -- The data is memoized: after the file changes, a second call still
  -- answers from the first load.
  local first = shaper.load_shaping_data():hash()
  local g = assert(io.open(file, 'a'))
  g:write '\n["changed.example"]\nmx_rollup = false\nconnection_limit = 3\n'
  g:close()
  utils.assert_eq(shaper.load_shaping_data():hash(), first)
  p = shaper.get_egress_path_config('changed.example', 'ip-1', 'changed.example', true)
  utils.assert_eq(p.connection_limit, 10)
  -- A fresh load of the changed file does see the change.
  local fresh = kumo.shaping.load { file }
  assert(fresh:hash() ~= first, 'the changed file hashes like the original')

  -- Files are named as kumo.shaping.load names them: a URL or an existing
  -- or missing file as given, KumoMTA's missing bundled file after the
  -- embedded data standing in for it.
  utils.assert_eq(shaper.shaping_files(), { file })
  local bundled = '/opt/kumomta/share/policy-extras/shaping.toml'
  local missing = file .. '.missing.toml'
  utils.assert_eq(kumo.shaping._display_names { file, missing, 'https://tsa.example/shaping.toml', bundled }, {
    file,
    missing,
    'https://tsa.example/shaping.toml',
    kumo.shaping._embedded_defaults[bundled],
  })
  local bad_ok, bad = pcall(kumo.shaping._display_names, { file, 7 })
  assert(not bad_ok and tostring(bad):find('paths[2]: invalid type: integer `7`, expected a string', 1, true), tostring(bad))

  local ok, err = pcall(shaping.setup_with_automation, shaping, {})
  assert(not ok and tostring(err):find 'already been configured', tostring(err))
  os.remove(file)
end)
