-- string.pack, string.unpack and string.packsize with the common formats.
local out = {}
local function add(...)
  local parts = { ... }
  for i = 1, select('#', ...) do
    local v = parts[i]
    parts[i] = type(v) == 'number' and string.format('%.17g', v) or tostring(v)
  end
  out[#out + 1] = table.concat(parts, ' ')
end
local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local function err(f)
  local ok, e = pcall(f)
  add(ok, (tostring(e):gsub('^[^:]*:%d+: ', '')))
end
add(hex(string.pack('i4', 1)), hex(string.pack('>i4', 1)), hex(string.pack('<i2', -2)), hex(string.pack('b B h H', -1, 255, -300, 65535)))
add(hex(string.pack('>I3 i8 j', 0x123456, -1, 42)), hex(string.pack('<i16', -3)), hex(string.pack('>I16', 7)))
add(hex(string.pack('d', 1.5)), hex(string.pack('>f', -0.25)), hex(string.pack('n', 2^53)))
add(hex(string.pack('z', 'hi')), hex(string.pack('s1', 'abc')), hex(string.pack('>s2', 'xy')), hex(string.pack('s', 'q')), hex(string.pack('c5', 'ab')))
add(hex(string.pack('!4 b i4', 1, 2)), hex(string.pack('! b d', 1, 0)), hex(string.pack('!2 b Xi4 b', 1, 2)), hex(string.pack('b x x b', 1, 2)))
add(string.packsize('i4 i8 d'), string.packsize('!8 b d'), string.packsize('c10 b'), string.packsize('!4 b h i4'), string.packsize(''))
add(string.unpack('<i4', string.pack('<i4', -123456)))
add(string.unpack('>I2 b B', '\1\2\255\255'))
add(string.unpack('z s1 c3', 'hello\0\3abcxyz'))
add(string.unpack('d f', string.pack('d f', 3.25, 0.5)))
add(string.unpack('i4', string.pack('i4 i4', 7, 8), 5))
add(string.unpack('<i16', string.pack('<i16', -5)))
add(string.unpack('b', 'abc', -1))
local packed = string.pack('>j s4 z !8 d', 1234567890123, 'payload', 'zs', 6.5)
add(#packed, string.unpack('>j s4 z !8 d', packed))
err(function() return string.pack('i2', 40000) end)
err(function() return string.pack('I1', 256) end)
err(function() return string.pack('I1', -1) end)
err(function() return string.pack('z', 'a\0b') end)
err(function() return string.pack('s1', string.rep('x', 256)) end)
err(function() return string.pack('c2', 'abc') end)
err(function() return string.pack('i17', 1) end)
err(function() return string.pack('y', 1) end)
err(function() return string.pack('c', 'a') end)
err(function() return string.pack('i4', 1.5) end)
err(function() return string.pack('i4') end)
err(function() return string.pack('!3 i4', 1) end)
err(function() return string.pack('X', 1) end)
err(function() return string.packsize('s') end)
err(function() return string.unpack('i4', 'abc') end)
err(function() return string.unpack('z', 'abc') end)
err(function() return string.unpack('b', 'abc', 5) end)
err(function() return string.unpack('i9', '\0\0\0\0\0\0\0\0\1') end)
return table.concat(out, '\n')
