-- Lua 5.4's utf8 library: char, charpattern, codes, codepoint, len, offset.
local out = {}
local function add(...)
  local parts = { ... }
  for i = 1, select('#', ...) do parts[i] = tostring(parts[i]) end
  out[#out + 1] = table.concat(parts, ' ')
end
local function err(f, ...)
  local ok, e = pcall(f, ...)
  add(ok, (tostring(e):gsub('^[^:]*:%d+: ', '')))
end
local s = 'h\u{E9}llo \u{1F600} \u{7FF}\u{800}\u{FFFF}\u{10000}'
add(#s, utf8.len(s), utf8.len(s, 3), utf8.len(s, -4), utf8.len(s, 1, 2), utf8.len(''))
add(utf8.char(72, 233, 0x1F600, 0x7FF, 0x800, 0x10FFFF, 0x7FFFFFFF) == '\u{48}\u{E9}\u{1F600}\u{7FF}\u{800}\u{10FFFF}\u{7FFFFFFF}', utf8.char())
add(utf8.codepoint(s), utf8.codepoint(s, 2), utf8.codepoint(s, 1, 7))
add(utf8.codepoint(s, -4, -1))
for p, c in utf8.codes(s) do out[#out] = out[#out] .. ' ' .. p .. '=' .. c end
add(utf8.offset(s, 3), utf8.offset(s, -1), utf8.offset(s, 0, 3), utf8.offset(s, 1), utf8.offset(s, 30), utf8.offset(s, -2, 8), utf8.offset('abc', 4), utf8.offset('abc', 5))
local n = 0
for ch in s:gmatch(utf8.charpattern) do n = n + 1 end
add(n, utf8.charpattern == '[\0-\x7F\xC2-\xFD][\x80-\xBF]*')
-- invalid input
add(utf8.len('ab\xFFcd'), utf8.len('\xC0\x80'), utf8.len('\xED\xA0\x80'), utf8.len('\xED\xA0\x80', 1, -1, true), utf8.len('\xF4\x90\x80\x80'))
add(utf8.len('\u{7FFFFFFF}'), utf8.len('\u{7FFFFFFF}', 1, -1, true), utf8.codepoint('\u{7FFFFFFF}', 1, 1, true))
err(function() return utf8.codepoint('a\x80') end)
err(function() return utf8.codepoint('abc', 0) end)
err(function() return utf8.codepoint('abc', 1, 4) end)
err(function() return utf8.char(-1) end)
err(function() return utf8.char(0x80000000) end)
err(function() return utf8.char(1.5) end)
err(function() return utf8.len('abc', 5) end)
err(function() return utf8.len('abc', 1, 4) end)
err(function() return utf8.offset(s, 1, 3) end)
err(function() return utf8.offset('abc', 1, 5) end)
err(function() for _ in utf8.codes('a\xFFb') do end end)
err(function() for _ in utf8.codes('\x80') do end end)
err(function() for _ in utf8.codes('\xE9\x80') do end end)
return table.concat(out, '\n')
