-- policy-extras.policy_utils: small helpers shared by kumopolicy's policy
-- helpers and usable from operators' policies. Same public functions as
-- KumoMTA's module of the same name.
local kumo = require 'kumo'

local M = {}

local function indexable(v)
  local t = type(v)
  return t == 'table' or t == 'userdata'
end

-- Deep equality of two values. Tables (and userdata that can be iterated)
-- are equal when they hold equal values under the same keys. Unless
-- ignore_mt is true, a value whose metatable defines __eq is compared with ==.
function M.equals(a, b, ignore_mt)
  if a == b then
    return true
  end
  if not (indexable(a) and indexable(b)) then
    return false
  end
  if not ignore_mt then
    local mt = getmetatable(a)
    if mt and mt.__eq then
      return a == b
    end
  end
  local checked = {}
  for k, va in pairs(a) do
    local vb = b[k]
    if vb == nil or not M.equals(va, vb, ignore_mt) then
      return false
    end
    checked[k] = true
  end
  for k in pairs(b) do
    if not checked[k] then
      return false
    end
  end
  return true
end

local function prefix(message)
  if message then
    return message .. '. '
  end
  return ''
end

function M.assert_eq(a, b, message)
  if not M.equals(a, b) then
    error(
      string.format(
        '%sexpected\n%s\n == \n%s',
        prefix(message),
        kumo.json_encode(a),
        kumo.json_encode(b)
      ),
      2
    )
  end
end

function M.assert_ne(a, b, message)
  if M.equals(a, b) then
    error(
      string.format(
        '%sexpected\n%s\n != \n%s',
        prefix(message),
        kumo.json_encode(a),
        kumo.json_encode(b)
      ),
      2
    )
  end
end

-- Asserts that the string s matches the regular expression pattern
-- (KumoMTA regex dialect, see kumo.regex.compile).
function M.assert_matches(s, pattern, message)
  if not kumo.regex.compile(pattern):is_match(s) then
    error(
      string.format(
        '%sexpected\n "%s"\n to match\n "%s"',
        prefix(message),
        s,
        pattern
      ),
      2
    )
  end
end

-- Copies every key of src into dest (shallow). A nil src does nothing.
function M.merge_into(src, dest)
  if not src then
    return
  end
  for k, v in pairs(src) do
    dest[k] = v
  end
end

-- Copies src into dest, descending into tables that exist in both.
function M.recursive_merge_into(src, dest)
  if not src then
    return
  end
  for k, v in pairs(src) do
    if type(v) == 'table' and dest[k] then
      M.recursive_merge_into(v, dest[k])
    else
      dest[k] = v
    end
  end
end

-- True when some value of tbl equals v (nil is never contained).
function M.table_contains(tbl, v)
  if v == nil then
    return false
  end
  for _, candidate in pairs(tbl) do
    if candidate == v then
      return true
    end
  end
  return false
end

-- The keys of tbl as an array, in iteration order.
function M.table_keys(tbl)
  local keys = {}
  for k in pairs(tbl) do
    keys[#keys + 1] = k
  end
  return keys
end

function M.table_is_empty(tbl)
  return next(tbl) == nil
end

-- Loads a data file: TOML when the name ends in .toml, JSON otherwise.
-- A table passes through unchanged, so callers accept inline data too.
function M.load_json_or_toml_file(filename)
  if type(filename) == 'table' then
    return filename
  end
  if filename:match '.toml$' then
    return kumo.toml_load(filename)
  end
  return kumo.json_load(filename)
end

function M.starts_with(s, text)
  return s:sub(1, #text) == text
end

function M.ends_with(s, text)
  return text == '' or s:sub(-#text) == text
end

-- Splits "ip:port" (or "[v6]:port") into ip and port strings; brackets
-- around an IPv6 address are removed.
function M.split_ip_port(ip_port)
  local ip, port = ip_port:match '^(.*):(%d+)$'
  if ip then
    local inner = ip:match '^%[(.*)%]$'
    if inner then
      ip = inner
    end
  end
  return ip, port
end

local function dump(value, indent, visiting)
  local kind = type(value)
  if kind == 'number' or kind == 'boolean' then
    return tostring(value)
  end
  if kind ~= 'table' then
    return string.format('%q', tostring(value))
  end
  if visiting[value] then
    return '[recursive node]'
  end
  local mt = getmetatable(value)
  if mt and mt.__tostring then
    local rendered = tostring(value)
    if rendered then
      return rendered
    end
  end

  visiting[value] = true
  local keys = {}
  for k in pairs(value) do
    keys[#keys + 1] = k
  end
  table.sort(keys)

  local pad = string.rep(' ', indent)
  local lines = {}
  for _, k in ipairs(keys) do
    lines[#lines + 1] = string.format(
      '%s[%q] = %s',
      pad,
      k,
      dump(value[k], indent + 2, visiting)
    )
  end
  visiting[value] = nil

  if #lines == 0 then
    return '{}'
  end
  return '{\n'
    .. table.concat(lines, ',\n')
    .. '\n'
    .. string.rep(' ', indent - 2)
    .. '}'
end

-- A readable, Lua-like rendering of value for debugging (keys sorted).
function M.dumps(value)
  if value == nil then
    return nil
  end
  return dump(value, 2, {})
end

function M:test()
  M.assert_eq(M.dumps(true), 'true')
  M.assert_eq(M.dumps(42), '42')
  M.assert_eq(M.dumps(1.5), '1.5')
  M.assert_eq(M.dumps {}, '{}')
  M.assert_eq(M.dumps { 1, 2 }, '{\n  [1] = 1,\n  [2] = 2\n}')
  M.assert_eq(M.dumps { a = { b = 'c' } }, '{\n  ["a"] = {\n    ["b"] = "c"\n  }\n}')
  M.assert_eq(M.split_ip_port '[::1]:25', '::1')
  M.assert_eq(select(2, M.split_ip_port '127.0.0.1:2025'), '2025')
  assert(M.starts_with('policy-extras', 'policy'))
  assert(M.ends_with('shaping.toml', '.toml'))
  assert(M.table_contains({ 'a', 'b' }, 'b'))
  assert(not M.table_contains({ 'a' }, nil))
  assert(M.table_is_empty {})
  local merged = { a = { x = 1 } }
  M.recursive_merge_into({ a = { y = 2 }, b = 3 }, merged)
  M.assert_eq(merged, { a = { x = 1, y = 2 }, b = 3 })
  M.assert_ne({ 1 }, { 2 })
end

return M
