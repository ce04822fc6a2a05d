-- Arrays decoded from JSON and TOML look like plain tables to Lua, as in
-- KumoMTA: getmetatable() gives false, so typing's list<...> fields accept
-- them, yet they still encode back as arrays (empty ones included).
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'
local typing = require 'policy-extras.typing'

kumo.on('main', function()
  local from_toml = kumo.toml_parse [[
relay_from = ['10.0.0.0/24', '10.1.0.0/24']
none = []
]]
  local from_json = kumo.json_parse '{"authz": ["john"], "none": []}'

  for _, arr in ipairs { from_toml.relay_from, from_toml.none, from_json.authz, from_json.none } do
    assert(getmetatable(arr) == false, 'getmetatable of a decoded array is ' .. tostring(getmetatable(arr)))
    local ok, err = pcall(setmetatable, arr, {})
    assert(not ok and tostring(err):find 'protected metatable', tostring(err))
  end

  -- typing-style checks: list<string> fields fed from data files.
  local Config = typing.record('Config', {
    relay_from = typing.option(typing.list(typing.string)),
    authz = typing.option(typing.list(typing.string)),
  })
  local c = Config { relay_from = from_toml.relay_from, authz = from_json.authz }
  utils.assert_eq(c.relay_from[2], '10.1.0.0/24')
  utils.assert_eq(c.authz[1], 'john')
  local Strings = typing.list(typing.string)
  utils.assert_eq(#Strings(from_toml.none), 0)
  local ok, err = pcall(Strings, kumo.json_parse '[1]')
  assert(not ok and tostring(err):find "list<string>: invalid value for idx 1", tostring(err))

  -- The marker still decides how they encode.
  utils.assert_eq(kumo.json_encode(from_toml), '{"none":[],"relay_from":["10.0.0.0/24","10.1.0.0/24"]}')
  utils.assert_eq(kumo.json_encode(from_json.none), '[]')
  utils.assert_eq(kumo.serde.json_encode(kumo.serde.json_parse '[[]]'), '[[]]')
  local toml = kumo.toml_encode { list = from_json.authz, none = from_json.none }
  assert(toml:find 'none = %[%]', toml)
  assert(toml:find 'list = %[%s*"john"%s*%]', toml)

  -- ... including after a trip through kumo.memoize.
  local cached = kumo.memoize(function() return kumo.json_parse '{"none": [], "one": ["x"]}' end, {
    name = 'decoded_arrays_test',
    ttl = '1 minute',
    capacity = 2,
  })
  cached()
  local hit = cached()
  assert(getmetatable(hit.none) == false and getmetatable(hit.one) == false)
  utils.assert_eq(kumo.json_encode(hit), '{"none":[],"one":["x"]}')

  -- ipairs and # still work on them.
  local n = 0
  for _, v in ipairs(from_toml.relay_from) do
    n = n + 1
  end
  utils.assert_eq(n, 2)
  utils.assert_eq(#from_toml.relay_from, 2)
end)
