-- kumo.on semantics as seen from a policy.
local kumo = require 'kumo'

kumo.on('main', function()
  -- Single events: a second handler is refused, naming the first.
  kumo.on('my.single', function() end)
  local ok, err = pcall(kumo.on, 'my.single', function() end)
  assert(not ok, 'second handler for a Single event was accepted')
  assert(
    tostring(err):find('my.single event already has a handler defined at events.lua:6', 1, true),
    'unexpected error: ' .. tostring(err)
  )

  -- Multiple events accept any number of handlers.
  kumo.on('validate_config', function() end)
  kumo.on('validate_config', function() end)
  assert(#kumo.get_event_registrars 'validate_config' == 2)
  local stack = kumo.get_event_registrars('validate_config')[1]
  assert(stack[1]:match '^events.lua:%d+$', 'registrar frame: ' .. tostring(stack[1]))

  -- kumo.on checks its arguments.
  assert(not pcall(kumo.on, 'x'))
  assert(not pcall(kumo.on, 'x', 'not a function'))

  assert(_KUMO_CURRENT_EVENT == 'main')
  assert(kumo.version ~= nil)
end)
