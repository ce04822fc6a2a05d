-- Numerals as Lua 5.4 reads them, in source and in tonumber/coercion:
-- hexadecimal fractions and binary exponents, hexadecimal integers that
-- wrap around modulo 2^64, decimal numerals with a leading zero.
local out = {}
local function add(...)
  local parts = { ... }
  for i = 1, select('#', ...) do
    local v = parts[i]
    parts[i] = type(v) == 'number' and string.format('%.17g', v) or tostring(v)
  end
  out[#out + 1] = table.concat(parts, ' ')
end
add(0x10, 0xA.8p0, 0x1p4, 0X1P-2, 0x.1, 0xA.8P1, 0x1.fffffffffffffp1023, 0xaBc, 0x1p+3)
add(0xffffffffffffffff, 0x8000000000000001 == -0x7fffffffffffffff, 0x10000000000000010)
add(1e2, .5, 3., 1E+2, 2e-3, 017, 00.5)
add(tonumber('0x1p4'), tonumber('0x10'), tonumber(' 10 '), tonumber('\t-0x10\n'), tonumber('0x.8'), tonumber('-.5'), tonumber('+3'))
add(tonumber('017'), tonumber('1e400'), tonumber('-1e400'), tonumber('0xffffffffffffffff'))
add(tonumber('0b101'), tonumber('1_000'), tonumber('inf'), tonumber('nan'), tonumber('.'), tonumber('0x'), tonumber('5e'), tonumber('0x1p'), tonumber('1.2.3'), tonumber(''), tonumber('0x1g'))
add(tonumber('ff', 16), tonumber('z', 36), tonumber('777', 8), tonumber('10', 2))
add(' 0x10 ' + 1, '1e1' * 2, '0x.8' + 0, '017' + 0)
add(math.type(0x10), math.type(0xffffffffffffffff), math.type(017))
return table.concat(out, '\n')
