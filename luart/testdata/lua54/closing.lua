-- <close>: __close(value, err) on every exit of the variable's scope, in
-- reverse order: block end, break, return, goto, and errors (pcall,
-- xpcall, nested), nil and false allowed, other values refused.
local log = {}
local function note(s) log[#log + 1] = s end
local function closer(name)
  return setmetatable({}, { __close = function(self, err)
    note(name .. '(' .. tostring(err) .. ')')
  end })
end
do
  local a <close> = closer('a')
  local b <close> = closer('b')
  local c <close> = nil
  local d <close> = false
  note('body')
end
for i = 1, 3 do
  local x <close> = closer('loop' .. i)
  if i == 2 then break end
end
while true do
  local w <close> = closer('while')
  break
end
local function ret()
  local r <close> = closer('ret')
  note('before return')
  return 'value'
end
local v = ret()
note(v)
local function tail()
  local r <close> = closer('tail')
  return tostring('t')
end
v = tail()
note(v)
note(tostring(pcall(function()
  local e1 <close> = closer('e1')
  do
    local e2 <close> = closer('e2')
    error('boom', 0)
  end
end)))
note(select(2, pcall(function()
  local bad <close> = 42
end)))
note(select(2, pcall(function()
  local bad <close> = {}
end)))
do
  local i = 0
  ::again::
  i = i + 1
  if i <= 2 then
    local g <close> = closer('goto' .. i)
    goto again
  end
end
note(select(2, pcall(function()
  local c1 <close> = setmetatable({}, { __close = function(_, err)
    note('c1(' .. tostring(err) .. ')')
    error('from close', 0)
  end })
  local c2 <close> = closer('c2')
  error('orig', 0)
end)))
note(select(2, xpcall(function()
  local x1 <close> = closer('x1')
  error('xerr', 0)
end, function(m) return 'handled ' .. m end)))
local function deep(n)
  local d <close> = closer('deep' .. n)
  if n == 0 then error('bottom', 0) end
  deep(n - 1)
end
note(select(2, pcall(deep, 2)))
note(select(2, pcall(function()
  local ok, e = pcall(function()
    local inner <close> = closer('inner')
    error('caught inside', 0)
  end)
  note('inner pcall ' .. e)
  local outer <close> = closer('outer')
  return 'fine'
end)))
note(select(2, pcall(function()
  do
    local n1 <close> = closer('n1')
    local n2 <close> = setmetatable({}, { __close = function() error('close failed', 0) end })
    note('leaving')
  end
  note('not reached')
end)))
local function multi()
  local m <close> = setmetatable({}, { __close = function() return 'junk', 'junk' end })
  return select(2, 'a', 'b', 'c')
end
note(table.concat({ multi() }, ','))
note(select(2, load('local k <close> = nil; k = 1', '=c')))
return table.concat(log, '\n')
