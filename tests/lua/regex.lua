-- kumo.regex uses KumoMTA's dialect, including look-around.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

kumo.on('main', function()
  local re = kumo.regex.compile '^(?!.*KumoMTA internal).*RL000010'
  assert(re:is_match '421 4.7.0 [TSS04] Messages from 1.2.3.4 temporarily deferred RL000010')
  assert(not re:is_match 'KumoMTA internal: RL000010')

  local cap = kumo.regex.compile('deserialize error: (.*), while processing'):captures(
    'deserialize error: unknown field `x`, while processing {}'
  )
  utils.assert_eq(cap[1], 'unknown field `x`')
  assert(kumo.regex.compile('x'):captures 'y' == nil)

  local named = kumo.regex.compile('(?P<code>\\d{3}) (?<rest>.*)'):captures '550 no such user'
  utils.assert_eq(named.code, '550')
  utils.assert_eq(named.rest, 'no such user')
  utils.assert_eq(named[0], '550 no such user')

  local ok, err = pcall(kumo.regex.compile, 'a(b')
  assert(not ok and tostring(err):find 'a%(b', tostring(err))
end)
