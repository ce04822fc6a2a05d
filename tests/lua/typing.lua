-- The embedded policy-extras.typing passes its self-test, and its errors
-- point at the caller's lines.
local kumo = require 'kumo'

kumo.on('main', function()
  local typing = require 'policy-extras.typing'
  typing:test()

  local Point = typing.record('Point', { x = typing.number })
  local ok, err = pcall(Point, { x = 'nope' })
  assert(not ok)
  assert(
    tostring(err):find("typing.lua:10: typing.lua:10 Point: invalid value for field 'x'\ntyping.lua:10 Expected 'number', got 'string' 'nope'", 1, true),
    tostring(err)
  )
end)
