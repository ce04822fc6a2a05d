-- policy-extras.typing: checked data types for policy configuration.
--
--   local T = require 'policy-extras.typing'
--   local Relay = T.record('Relay', {
--     host = T.string,
--     port = T.default(T.number, 25),
--     mode = T.option(T.enum('Mode', 'Plain', 'Tls')),
--   })
--   local relay = Relay { host = 'mx.example.net' }   -- relay.port == 25
--   local Relays = T.map(T.string, Relay)             -- plain tables coerced
--   local Hosts = T.list(T.string)
--   local Limit = T.variant(T.number, T.string)
--
-- A type is a table with a `name` and a method `validate_value(v)` that
-- answers `true, v2` (v2 being v, or v converted: a plain table becomes a
-- record, list or map) or `false, err`. A record consults its field types'
-- `default_value` and `is_optional` when a field is absent, so any table
-- following these rules may serve as a field type. Calling a type checks
-- (records, lists and maps: builds) a value and raises when it is wrong.
--
-- The public names, the type names and the error texts are those of
-- KumoMTA's module of the same name, which policies and helpers rely on.
-- An error reads one line per level of nesting, each `file:line text`,
-- where file:line is the code outside this module that was running.
local kumo = require('kumo')

local typing = {}

-- Every error text this module produces.
local texts = {
  not_scalar = "Expected '%s', got '%s' %s",
  coercion_failed = "Expected value of type '%s' and encountered an error during coercion",
  other_typed = "Expected value of type '%s' but got type '%s' with value %s",
  other_untyped = "Expected value of type '%s' but got type '%s' %s",
  read_unknown = "%s: attempt to read unknown field '%s'",
  unknown_field = "%s: unknown field '%s'",
  field_invalid = "%s: invalid value for field '%s'",
  field_missing = "%s: missing value for field '%s' of type '%s'",
  index_invalid = "%s: invalid index '%s' list",
  item_invalid = '%s: invalid value for idx %d',
  key_invalid = '%s: invalid key %s',
  entry_invalid = '%s: invalid value for key %s',
  not_in_enum = "Unexpected '%s' value %s, expected one of %s",
  no_variant = "Unexpected '%s' value %s. Failed to match any allowed variant: %s",
  few_variants = 'typing.variant: must have a list of 2 or more variants, %d were provided',
}

-- How a value appears inside an error: strings in single quotes, tables
-- as pretty JSON when they encode, anything else as tostring gives it.
local function shown(v)
  local kind = type(v)
  if kind == 'string' then
    return "'" .. v .. "'"
  elseif kind == 'table' then
    local encoded, json = pcall(kumo.serde.json_encode_pretty, v)
    if encoded then
      return json
    end
  end
  return tostring(v)
end

-- The code an error is about: the innermost Lua frame (from
-- kumo.traceback) that does not belong to this file.
local function culprit()
  local frames = kumo.traceback(1)
  local this_file = frames[1].source
  for _, frame in ipairs(frames) do
    if frame.what ~= 'C' and frame.source ~= this_file then
      return frame
    end
  end
  return frames[2] or frames[1]
end

local function position(frame)
  return ('%s:%d'):format(frame.short_src, frame.curr_line or 0)
end

-- A type error: its text, the frame it is charged to, and the error that
-- led to it, if any.
local Problem = {}
Problem.__index = Problem

local function problem(text, cause)
  if text == nil then
    error('typing: a type error needs a message', 2)
  end
  if cause ~= nil and getmetatable(cause) ~= Problem then
    cause = problem(tostring(cause))
  end
  return setmetatable({ message = text, cause = cause, at = culprit() }, Problem)
end

function Problem:__tostring()
  local out = {}
  local p = self
  repeat
    out[#out + 1] = position(p.at) .. ' ' .. p.message
    p = p.cause
  until p == nil
  return table.concat(out, '\n')
end

-- Raises the error as a string, placed (as error() places messages) at the
-- code outside this module that is running now.
function Problem:raise()
  error(position(culprit()) .. ': ' .. tostring(self), 0)
end

local function raise(text, cause)
  problem(text, cause):raise()
end

local function refuse(text, cause)
  return false, problem(text, cause)
end

-- Calling a simple type checks its argument and returns it (converted).
local Checker = {
  __call = function(ty, v)
    local ok, result = ty:validate_value(v)
    if not ok then
      result:raise()
    end
    return result
  end,
}

-- Calling a record, list or map type builds a value of it from a table.
local Builder = {
  __call = function(ty, params)
    return ty:construct(params)
  end,
}

-- validate_value of record, list and map types: a value of the type
-- passes as is; a table without a metatable is built into one; the rest
-- is refused.
local function accept_built(ty, v)
  local meta = getmetatable(v)
  if meta == ty then
    return true, v
  end
  if not meta and type(v) == 'table' then
    local built, result = pcall(ty.construct, ty, v)
    if not built then
      return refuse(texts.coercion_failed:format(ty.name), result)
    end
    return true, result
  end
  if type(meta) == 'table' and meta.name then
    return refuse(texts.other_typed:format(ty.name, meta.name, shown(v)))
  end
  return refuse(texts.other_untyped:format(ty.name, type(v), shown(v)))
end

-- Finishes a record, list or map type: values are tables with ty as
-- metatable, filled entry by entry (walk gives the entries of the source
-- table) through ty.__newindex, which checks each; complete(obj), if
-- given, runs last.
local function buildable(ty, walk, complete)
  ty.construct = function(self, params)
    local obj = setmetatable({}, ty)
    for k, v in walk(params) do
      obj[k] = v
    end
    if complete ~= nil then
      complete(obj)
    end
    return obj
  end
  ty.validate_value = accept_built
  return setmetatable(ty, Builder)
end

-- record(name, fields): fields maps each field name to its type. The
-- optional entry `_dynamic = function(key, value)` vets fields not listed:
-- it answers true to accept the value, `false, err` to reject it as invalid,
-- or `false, nil` when key is no field at all.
function typing.record(name, fields)
  local ty = { name = name, fields = fields }

  ty.__index = function(_, key)
    local known = ty.fields
    if known[key] == nil and known._dynamic == nil then
      raise(texts.read_unknown:format(ty.name, key))
    end
    return nil
  end

  ty.__newindex = function(obj, key, v)
    local field_type = ty.fields[key]
    if field_type == nil then
      local vet = ty.fields._dynamic
      local fine, why = false, nil
      if vet ~= nil then
        fine, why = vet(key, v)
      end
      if fine then
        return rawset(obj, key, v)
      elseif why ~= nil then
        raise(texts.field_invalid:format(ty.name, key), why)
      end
      raise(texts.unknown_field:format(ty.name, key))
    end
    local fine, result = field_type:validate_value(v)
    if not fine then
      raise(texts.field_invalid:format(ty.name, key), result)
    end
    rawset(obj, key, result)
  end

  -- Absent fields: their type's default, nothing if optional, else an error.
  local function fill_absent(obj)
    for key, field_type in pairs(ty.fields) do
      if type(field_type) == 'table' and rawget(obj, key) == nil then
        local fallback = field_type.default_value
        if fallback ~= nil then
          obj[key] = fallback
        elseif not field_type.is_optional then
          raise(texts.field_missing:format(ty.name, key, field_type.name))
        end
      end
    end
  end

  return buildable(ty, pairs, fill_absent)
end

-- list(T): an array of T values.
function typing.list(item_type)
  local ty = { name = ('list<%s>'):format(item_type.name), value_type = item_type }
  ty.__newindex = function(obj, idx, v)
    if type(idx) ~= 'number' then
      raise(texts.index_invalid:format(ty.name, shown(idx)))
    end
    local fine, result = item_type:validate_value(v)
    if not fine then
      raise(texts.item_invalid:format(ty.name, idx), result)
    end
    rawset(obj, idx, result)
  end
  return buildable(ty, ipairs)
end

-- map(K, V): a table of K keys and V values.
function typing.map(key_type, value_type)
  local ty = {
    name = ('map<%s,%s>'):format(key_type.name, value_type.name),
    key_type = key_type,
    value_type = value_type,
  }
  ty.__newindex = function(obj, key, v)
    local key_fine, k2 = key_type:validate_value(key)
    if not key_fine then
      raise(texts.key_invalid:format(ty.name, shown(key)), k2)
    end
    local fine, v2 = value_type:validate_value(v)
    if not fine then
      raise(texts.entry_invalid:format(ty.name, shown(key)), v2)
    end
    rawset(obj, k2, v2)
  end
  return buildable(ty, pairs)
end

-- Types whose values are checked with type(): number, string, boolean and
-- Function.
local function of_lua_type(lua_type)
  return setmetatable({
    name = lua_type,
    validate_value = function(_, v)
      local actual = type(v)
      if actual == lua_type then
        return true, v
      end
      return refuse(texts.not_scalar:format(lua_type, actual, shown(v)))
    end,
  }, Checker)
end

typing.number = of_lua_type('number')
typing.string = of_lua_type('string')
typing.boolean = of_lua_type('boolean')
typing.Function = of_lua_type('function')

-- any: every value, nil included.
typing.any = setmetatable({
  name = 'Any',
  validate_value = function(_, v)
    return true, v
  end,
}, Checker)

-- enum(name, 'A', 'B', ...): one of the given strings.
function typing.enum(name, ...)
  local ty = { name = name, variants = { ... }, is_valid = {} }
  for _, allowed in ipairs(ty.variants) do
    ty.is_valid[allowed] = true
  end
  ty.validate_value = function(_, v)
    if ty.is_valid[v] then
      return true, v
    end
    local choices = {}
    for i, allowed in ipairs(ty.variants) do
      choices[i] = shown(allowed)
    end
    return refuse(texts.not_in_enum:format(ty.name, shown(v), table.concat(choices, ', ')))
  end
  return setmetatable(ty, Checker)
end

-- default(T, value): T, where a record field that is absent (or a nil
-- checked directly) takes value.
function typing.default(target, value)
  return setmetatable({
    name = target.name,
    target = target,
    default_value = value,
    validate_value = function(_, v)
      if v == nil then
        return true, value
      end
      return target:validate_value(v)
    end,
  }, Checker)
end

-- option(T): T or nil; a record field of this type may be absent.
function typing.option(target)
  return setmetatable({
    name = ('option<%s>'):format(target.name),
    target = target,
    is_optional = true,
    validate_value = function(_, v)
      if v == nil then
        return true, nil
      end
      return target:validate_value(v)
    end,
  }, Checker)
end

-- variant(T1, T2, ...): the value as the first of the types that takes it.
function typing.variant(...)
  local choices = { ... }
  if #choices < 2 then
    error(texts.few_variants:format(#choices), 2)
  end
  local names = {}
  for i, choice in ipairs(choices) do
    names[i] = choice.name
  end
  local ty = { name = ('variant<%s>'):format(table.concat(names, ',')), variants = choices }
  ty.validate_value = function(_, v)
    local reasons = {}
    for _, choice in ipairs(choices) do
      local fine, result = choice:validate_value(v)
      if fine then
        return true, result
      end
      reasons[#reasons + 1] = tostring(result)
    end
    return refuse(texts.no_variant:format(ty.name, shown(v), table.concat(reasons, '. ')))
  end
  return setmetatable(ty, Checker)
end

-- KumoMTA's config constructors (kumo.make_egress_source and the like)
-- fail with `deserialize error: <problem>, while processing <input>`; this
-- gives <problem>, or the whole error text when it is not of that form.
local deserialize_problem = kumo.regex.compile('deserialize error: (.*), while processing')

function typing.extract_deserialize_error(err)
  local text = tostring(err)
  local found = deserialize_problem:captures(text)
  return found and found[1] or text
end

-- Self-check of this module (KumoMTA's helpers carry one under this name;
-- tests/lua/typing.lua holds the full tests).
function typing:test()
  local Size = typing.enum('Size', 'S', 'M', 'L')
  local Box = typing.record('Box', { size = Size, label = typing.option(typing.string) })
  local shelf = typing.list(Box) { { size = 'M' }, Box { size = 'L', label = 'tools' } }
  assert(shelf[1].size == 'M' and shelf[2].label == 'tools', 'list of records')
  local ok, err = pcall(Box, { size = 'XL' })
  assert(not ok and tostring(err):find("Box: invalid value for field 'size'", 1, true), err)
  assert(tostring(err):find("Unexpected 'Size' value 'XL', expected one of 'S', 'M', 'L'", 1, true), err)
  ok, err = pcall(Box, {})
  assert(not ok and tostring(err):find("Box: missing value for field 'size' of type 'Size'", 1, true), err)
end

return typing
