-- Lua 5.4's library beyond 5.1: load of a string or a reader function,
-- table.move, table.pack, string.rep with a separator, math.ult and the
-- integer limits.
local out = {}
local function add(...)
  local parts = { ... }
  for i = 1, select('#', ...) do parts[i] = tostring(parts[i]) end
  out[#out + 1] = table.concat(parts, ' ')
end
local function err(f)
  local ok, e = pcall(f)
  add(ok, (tostring(e):gsub('^[^:]*:%d+: ', '')))
end
-- load
add(load('return 1 + 2')())
add(load('return ...', 'chunk')(4, 5))
local pieces, i = { 'return ', '"from', ' pieces"' }, 0
add(load(function() i = i + 1; return pieces[i] end)())
local env = { x = 7 }
add(load('return x', 'env chunk', 't', env)())
-- (gopher-lua words syntax errors its own way: compare where they are)
local function where(f, e) return f, e:match('^.-:%d+:') end
add(where(load('x = = 1')))
add(where(load('x = = 1', '=named')))
add(where(load('x = = 1', '@file.lua')))
add(where(load('local a = 1\nreturn a +', '=eof')))
add(load('local c <const> = 1; c = 2', '=c'))
add(load('local c <const> = 1; return function() c = 2 end', '=c'))
add(load('local d <bogus> = 1', '=c'))
add(load('return 1', 'x', 'b'))
err(function() return load(function() return {} end) end)
err(function() return load('error("boom")', '=inside')() end)
err(function() return load('error("boom")')() end)
add(pcall(load, nil))
-- <const>
local k <const> = 10
local a, b <const>, c = 1, 2, 3
add(k, a, b, c, (function() return k * 2 end)())
-- table.move and table.pack
local t = { 1, 2, 3, 4, 5 }
add(table.concat(table.move(t, 2, 4, 1), ','))
t = { 1, 2, 3, 4, 5 }
add(table.concat(table.move(t, 1, 3, 3), ','))
add(table.concat(table.move({ 1, 2, 3 }, 1, 3, 2, { 'a', 'b', 'c', 'd' }), ','))
add(#table.move({ 1, 2 }, 1, 0, 1, {}))
local seen = {}
local proxy = setmetatable({}, { __index = function(_, k) return k * 10 end, __newindex = function(_, k, v) seen[#seen + 1] = k .. '=' .. v end })
table.move(proxy, 1, 3, 5)
add(table.concat(seen, ','))
err(function() table.move(1, 1, 2, 3) end)
err(function() table.move({}, 1, 2, 3, 'x') end)
local p = table.pack(1, nil, 3)
add(p.n, p[1], p[2], p[3], table.pack().n)
-- string.rep
add(string.rep('ab', 3, ', '), ('x'):rep(2, '-'), ('x'):rep(0, '-'), ('x'):rep(-1), ('y'):rep(1, '+'), ('z'):rep(3))
err(function() return string.rep('x', 2^62, ',') end)
-- math
add(math.ult(1, 2), math.ult(-1, 2), math.ult(2, -1), math.ult(0, 0))
add(math.type(math.maxinteger), math.type(math.mininteger), math.mininteger == -2^63, math.mininteger < 0, math.maxinteger > 2^62)
add(math.tointeger(math.mininteger) == math.mininteger, math.maxinteger >= 2^63 - 1024, math.mininteger // 2^62 == -2)
err(function() return math.ult(1.5, 2) end)
return table.concat(out, '\n')
