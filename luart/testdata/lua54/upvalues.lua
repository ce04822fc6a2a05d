local out = {}
local function add(v) out[#out + 1] = tostring(v) end
-- 1: a live frame's local stays shared after a caught error
local y = 0
local function inc() y = y + 1 end
pcall(error, 'x')
inc()
add(y)
-- 2: after a nested pcall returned, an error caught further out
local z = 0
local function incz() z = z + 1 end
pcall(function()
  pcall(function() end)
  error('y')
end)
incz()
add(z)
-- 3: a closure made in an unwound frame keeps that frame's value
local saved
pcall(function()
  local x = 'captured'
  saved = function() return x end
  error('e')
end)
local a, b, c, d = 'clobber1', 'clobber2', 'clobber3', 'clobber4'
add(saved())
-- 4: closures made in an unwound frame share it with each other
local get, set
pcall(function()
  local v = 1
  get = function() return v end
  set = function(n) v = n end
  error('e')
end)
set(5)
add(get())
-- 5: xpcall passes its extra arguments and its handler's result
add(select(2, xpcall(function(p, q) error(p .. q, 0) end, function(m) return 'h:' .. m end, 'a', 'b')))
add(select(2, xpcall(function(p, q) return p + q end, print, 2, 3)))
-- 6: an error in a loop body caught each time leaves the counter shared
local n = 0
local bump = function() n = n + 1 end
for i = 1, 3 do pcall(function() bump(); error('again') end) end
add(n)
return table.concat(out, " ")
