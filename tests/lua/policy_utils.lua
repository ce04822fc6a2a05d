-- The embedded policy-extras.policy_utils passes its own self-test.
local kumo = require 'kumo'

kumo.on('main', function()
  local utils = require 'policy-extras.policy_utils'
  utils:test()
  local ok, err = pcall(utils.assert_eq, { a = 1 }, { a = 2 }, 'tables differ')
  assert(not ok)
  assert(tostring(err):find('tables differ. expected\n{"a":1}\n == \n{"a":2}', 1, true), tostring(err))
end)
