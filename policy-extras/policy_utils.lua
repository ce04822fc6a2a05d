-- policy-extras.policy_utils: kumopolicy's small toolbox for policies and
-- for the other helpers: deep comparison and assertions, table merging,
-- string tests, data-file loading and a readable dump of any value.
--
-- It offers the functions KumoMTA's module of the same name offers, under
-- the same names, so policies written for KumoMTA run unchanged.
local kumo = require('kumo')

local utils = {}

-- Whether v may hold keyed values that a deep comparison walks.
local function has_entries(v)
  local kind = type(v)
  return kind == 'table' or kind == 'userdata'
end

-- Deep comparison. Two values are equal when they are ==, or when both are
-- tables (or iterable userdata) with the same set of keys holding pairwise
-- equal values. A left-hand value whose metatable has __eq is trusted to
-- compare itself, unless ignore_mt is set.
function utils.equals(left, right, ignore_mt)
  if left == right then
    return true
  elseif not (has_entries(left) and has_entries(right)) then
    return false
  end
  local meta = (not ignore_mt) and getmetatable(left)
  if meta and meta.__eq then
    return left == right
  end
  local shared = {}
  for key, lhs in pairs(left) do
    local rhs = right[key]
    if rhs == nil or not utils.equals(lhs, rhs, ignore_mt) then
      return false
    end
    shared[key] = true
  end
  for key in pairs(right) do
    if shared[key] == nil then
      return false
    end
  end
  return true
end

-- Raises `[note. ]text` at the position of whoever called the assertion
-- that called this.
local function assertion_failed(note, text)
  if note ~= nil then
    text = tostring(note) .. '. ' .. text
  end
  error(text, 3)
end

local function as_json(v)
  return kumo.json_encode(v)
end

function utils.assert_eq(actual, wanted, note)
  if utils.equals(actual, wanted) then
    return
  end
  assertion_failed(note, 'expected\n' .. as_json(actual) .. '\n == \n' .. as_json(wanted))
end

function utils.assert_ne(actual, unwanted, note)
  if not utils.equals(actual, unwanted) then
    return
  end
  assertion_failed(note, 'expected\n' .. as_json(actual) .. '\n != \n' .. as_json(unwanted))
end

-- Asserts that text matches the regular expression pattern, in the regex
-- dialect of kumo.regex.compile.
function utils.assert_matches(text, pattern, note)
  if kumo.regex.compile(pattern):is_match(text) then
    return
  end
  assertion_failed(
    note,
    ('expected\n "%s"\n to match\n "%s"'):format(tostring(text), tostring(pattern))
  )
end

-- Shallow merge: every entry of from is stored into into. from may be nil.
function utils.merge_into(from, into)
  for key, v in pairs(from or {}) do
    into[key] = v
  end
end

-- Deep merge: like merge_into, but a table value meets an existing entry
-- of into by being merged into it rather than replacing it.
function utils.recursive_merge_into(from, into)
  for key, v in pairs(from or {}) do
    if type(v) == 'table' and into[key] then
      utils.recursive_merge_into(v, into[key])
    else
      into[key] = v
    end
  end
end

-- Whether some value stored in tbl is v; nil is never found.
function utils.table_contains(tbl, v)
  if v ~= nil then
    for _, stored in pairs(tbl) do
      if stored == v then
        return true
      end
    end
  end
  return false
end

-- An array of the keys of tbl (in pairs order).
function utils.table_keys(tbl)
  local out, n = {}, 0
  for key in pairs(tbl) do
    n = n + 1
    out[n] = key
  end
  return out
end

function utils.table_is_empty(tbl)
  return next(tbl) == nil
end

-- Reads a data file: names ending in `toml` (after at least one other
-- character) are parsed as TOML, anything else as JSON (comments allowed).
-- A table given instead of a file name is returned as is, so that callers
-- accept inline data.
function utils.load_json_or_toml_file(source)
  if type(source) == 'table' then
    return source
  end
  local loader = source:find('.toml$') and kumo.toml_load or kumo.json_load
  return loader(source)
end

function utils.starts_with(s, prefix)
  return s:sub(1, #prefix) == prefix
end

function utils.ends_with(s, suffix)
  return #suffix == 0 or s:sub(-#suffix) == suffix
end

-- "192.0.2.1:25" gives "192.0.2.1", "25"; "[2001:db8::1]:587" gives
-- "2001:db8::1", "587" (brackets dropped). Without a port: nil, nil.
function utils.split_ip_port(text)
  local host, port = text:match('^(.*):(%d+)$')
  if host ~= nil then
    host = host:match('^%[(.*)%]$') or host
  end
  return host, port
end

-- dumps renders tables as Lua-like constructors with sorted keys, nested
-- tables indented two more spaces per level; a table that is already being
-- rendered higher up shows as [recursive node], and one with __tostring
-- renders as that.
local render

local function render_table(tbl, depth, open)
  local meta = getmetatable(tbl)
  if type(meta) == 'table' and meta.__tostring then
    local custom = tostring(tbl)
    if custom then
      return custom
    end
  end
  local keys = utils.table_keys(tbl)
  if #keys == 0 then
    return '{}'
  end
  table.sort(keys)
  open[tbl] = true
  local inner = string.rep(' ', depth)
  local parts = {}
  for i, key in ipairs(keys) do
    parts[i] = ('%s[%q] = %s'):format(inner, key, render(tbl[key], depth + 2, open))
  end
  open[tbl] = nil
  return '{\n' .. table.concat(parts, ',\n') .. '\n' .. string.rep(' ', depth - 2) .. '}'
end

render = function(v, depth, open)
  local kind = type(v)
  if kind == 'table' then
    if open[v] then
      return '[recursive node]'
    end
    return render_table(v, depth, open)
  elseif kind == 'number' or kind == 'boolean' then
    return tostring(v)
  end
  return ('%q'):format(tostring(v))
end

-- A readable rendering of v for debugging output; nil for nil.
function utils.dumps(v)
  if v == nil then
    return nil
  end
  return render(v, 2, {})
end

-- Self-check of this module (KumoMTA's helpers carry one under this name;
-- tests/lua/policy_utils.lua holds the full tests).
function utils:test()
  utils.assert_eq(utils.dumps { on = false, n = 7 }, '{\n  ["n"] = 7,\n  ["on"] = false\n}')
  utils.assert_eq({ list = { 'x' } }, { list = { 'x' } })
  utils.assert_ne({ list = { 'x' } }, { list = { 'y' } })
  utils.assert_matches('relay-07', '^relay-\\d+$')
  utils.assert_eq({ utils.split_ip_port '[2001:db8::7]:465' }, { '2001:db8::7', '465' })
end

return utils
