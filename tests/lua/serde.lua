-- JSON and TOML conversions keep integers and KumoMTA's parsing rules.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

kumo.on('main', function()
  local eq = utils.assert_eq
  eq(kumo.json_encode { connection_limit = 10, rate = 1.5 }, '{"connection_limit":10,"rate":1.5}')
  eq(kumo.serde.json_encode(kumo.json_parse '[]'), '[]')
  eq(kumo.serde.json_encode {}, '{}')

  local parsed = kumo.json_parse [[
    // comments are stripped
    { "a": 1, /* inline */ "b": null, "c": "// not a comment" } # trailing
  ]]
  eq(parsed.a, 1)
  eq(parsed.b, nil)
  eq(parsed.c, '// not a comment')

  local t = kumo.toml_parse 'limit = 10\n[provider.gmail]\nmatch = ["gmail.com"]\n'
  eq(t.limit, 10)
  eq(t.provider.gmail.match[1], 'gmail.com')
  eq(kumo.toml_encode { max_deliveries_per_connection = 100 }, 'max_deliveries_per_connection = 100\n')

  local ok, err = pcall(kumo.json_parse, '{"a": }')
  assert(not ok and tostring(err):find 'line 1', tostring(err))
  ok, err = pcall(kumo.json_encode, { f = print })
  assert(not ok and tostring(err):find 'function', tostring(err))
end)
