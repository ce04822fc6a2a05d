-- Lua 5.4's floor division and bitwise operators, their precedence,
-- metamethods and errors.
local out = {}
local function add(...)
  local parts = { ... }
  for i = 1, select('#', ...) do parts[i] = tostring(parts[i]) end
  out[#out + 1] = table.concat(parts, ' ')
end
local function id(x) return x end
add(7 // 2, -7 // 2, 7 // -2, 0 // 5, 2^40 // 3 == 366503875925)
add(string.format('%.1f %.1f', 7.5 // 2, -0.5 // 1), 1.5 // 0 == math.huge, -1.5 // 0 == -math.huge)
add(0xF0 & 0x3C, 0xF0 | 0x0F, 0xFF ~ 0x0F, ~0, ~5, ~-1)
add(1 << 4, 1 << 62 == 2^62, 1 << 64, 1 << -1, 256 >> 4, 256 >> -2, 5 >> 64)
add(-1 >> 60, -8 >> 61, 3 << 0)
-- precedence: shifts below .. and +; & below shifts; ~ between & and |
add(1 | 2 ~ 3 & 4, 1 << 2 + 1, 2 + 3 // 2, 6 & 3 == 2, ~1 + 1, - ~1, math.floor(2 ^ 2 // 3))
add(1 .. (2 << 1), '3' // '2', 10 // '4')
local v = 12
v = v // 5 | 8
add(v, (function() local a = 5; return a & 4 end)())
-- metamethods
local mt = {}
for _, e in ipairs({ 'idiv', 'band', 'bor', 'bxor', 'shl', 'shr' }) do
  mt['__' .. e] = function(a, b) return e .. ':' .. type(a) .. ',' .. type(b) end
end
mt.__bnot = function(a, b) return 'bnot:' .. type(a) .. ',' .. tostring(rawequal(a, b)) end
local o = setmetatable({}, mt)
add(o // 1, 2 & o, o | o, o ~ 1, o << 1, 1 >> o, ~o)
-- errors
local function err(f) local ok, e = pcall(f); add(ok, (tostring(e):gsub('^[^:]*:%d+: ', ''))) end
err(function() return id(1.5) & 1 end)
err(function() return 1 | id(2^63) end)
err(function() return ~id(0.5) end)
err(function() return id(nil) & 1 end)
err(function() return 1 ~ id({}) end)
err(function() return id('3') << 1 end)
err(function() return ~id(true) end)
err(function() return id(7) // 0 end)
err(function() return id(-7) // id(0) end)
return table.concat(out, '\n')
