-- string.format behaves as Lua 5.4, which KumoMTA's helpers rely on.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

kumo.on('main', function()
  local eq = utils.assert_eq
  eq(string.format('[%q] = %s', 1, 'x'), '[1] = x')
  eq(string.format('%q', 'a "quoted"\nline'), '"a \\"quoted\\"\\\nline"')
  eq(string.format('%q', 1.5), '0x1.8p+0')
  eq(string.format('%5.1f|%-5d|%05d', 3.14159, 42, 7), '  3.1|42   |00007')
  eq(string.format('%x %X %o', 255, 255, 8), 'ff FF 10')
  eq(string.format('%g %g %g', 1e20, 0.1, 100), '1e+20 0.1 100')
  eq(string.format('%s', setmetatable({}, { __tostring = function() return 'custom' end })), 'custom')
  eq(('%d items'):format(3), '3 items')
  eq(string.format('%d', '10'), '10')

  local ok, err = pcall(string.format, '%d', 1.5)
  assert(not ok and err:find 'number has no integer representation', err)
  ok, err = pcall(string.format, '%d', nil)
  assert(not ok and err:find 'number expected, got nil', err)
  ok, err = pcall(string.format, '%y', 1)
  assert(not ok and err:find "invalid conversion '%%y' to 'format'", err)
end)
