-- error(msg, level) names the line of the function at that level.
local out = {}
local function add(ok, err) out[#out + 1] = tostring(err) end
local function check(v) if not v then error('bad value', 2) end end
local function user()
  check(false)
end
add(pcall(user))
add(pcall(function() error('level one') end))
add(pcall(function() error('no position', 0) end))
local function deep() error('three up', 3) end
local function mid() deep() end
local function top() mid() end
add(pcall(top))
add(pcall(error, 'called from pcall'))
add(pcall(error, { 'a table' }))
add(pcall(error))
add(pcall(function() error(42) end))
return (table.concat(out, '|'):gsub('table: 0x%x+', 'table'))
