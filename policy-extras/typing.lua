-- policy-extras.typing: run-time type descriptions for policy data.
--
-- Same public API as KumoMTA's module of the same name:
--
--   local T = require 'policy-extras.typing'
--   local Point = T.record('Point', { x = T.number, y = T.default(T.number, 0) })
--   local p = Point { x = 1 }          -- p.y == 0; p.z = 1 raises
--   local Names = T.list(T.string)
--   local ByName = T.map(T.string, Point)
--   local Mode = T.enum('Mode', 'Fast', 'Slow')
--   local MaybeMode = T.option(Mode)
--   local NumOrStr = T.variant(T.number, T.string)
--
-- Every type has a `name` and a `validate_value(v)` method returning
-- `true, value` (possibly converted, e.g. a plain table into a record) or
-- `false, err` where err is a TypeError. Calling a type constructs or checks
-- a value and raises on failure. Error texts carry `file:line` positions of
-- the code that used the type (not of this module), one line per level of
-- nesting.
local kumo = require 'kumo'

local M = {}

-- Renders a value inside an error message: strings quoted, tables as
-- pretty JSON when possible.
local function show(v)
  local kind = type(v)
  if kind == 'string' then
    return "'" .. v .. "'"
  end
  if kind == 'table' then
    local ok, text = pcall(kumo.serde.json_encode_pretty, v)
    if ok then
      return text
    end
  end
  return v
end

-- The stack frame that a type error should point at: the innermost Lua
-- frame outside this file (frames of this file's own self-test count as
-- outside, so the test's errors point at its lines).
local SELF_TEST_FIRST_LINE
local function blame_frame()
  local frames = kumo.traceback(1)
  local here = frames[1].source
  for level, frame in ipairs(frames) do
    if frame.what ~= 'C' then
      if frame.source ~= here then
        return level, frame
      end
      if SELF_TEST_FIRST_LINE and (frame.curr_line or 0) >= SELF_TEST_FIRST_LINE then
        return level, frame
      end
    end
  end
  return 2, frames[2]
end

-- TypeError: a message, the frame it is attributed to, and optionally the
-- error that caused it.
local TypeError = {}
TypeError.__index = TypeError

function TypeError.new(message, cause)
  if message == nil then
    error('TypeError.new needs a message', 2)
  end
  if cause ~= nil and getmetatable(cause) ~= TypeError then
    cause = TypeError.new(tostring(cause))
  end
  local _, frame = blame_frame()
  return setmetatable({ message = message, context = cause, frame = frame }, TypeError)
end

function TypeError:line()
  return string.format(
    '%s:%d %s',
    self.frame.short_src,
    self.frame.curr_line or 0,
    self.message
  )
end

function TypeError:__tostring()
  local lines = {}
  local e = self
  while e do
    lines[#lines + 1] = e:line()
    e = e.context
  end
  return table.concat(lines, '\n')
end

function TypeError:raise()
  error(tostring(self), (blame_frame()))
end

local function fail(message, cause)
  return false, TypeError.new(message, cause)
end

-- Makes `ty(value)` validate (and convert) value, raising on failure.
local function callable(ty, construct)
  setmetatable(ty, {
    __call = function(self, value)
      if construct then
        return construct(self, value)
      end
      local ok, result = self:validate_value(value)
      if not ok then
        result:raise()
      end
      return result
    end,
  })
  return ty
end

-- Checks a value against a composite type `ty` (record, list, map): values
-- already of that type pass, plain tables are converted, anything else fails.
local function check_composite(ty, v)
  local mt = getmetatable(v)
  if mt == ty then
    return true, v
  end
  if not mt and type(v) == 'table' then
    local ok, converted = pcall(ty.construct, ty, v)
    if ok then
      return true, converted
    end
    return fail(
      string.format(
        "Expected value of type '%s' and encountered an error during coercion",
        ty.name
      ),
      converted
    )
  end
  if mt ~= nil and type(mt) == 'table' and mt.name then
    return fail(
      string.format(
        "Expected value of type '%s' but got type '%s' with value %s",
        ty.name,
        mt.name,
        show(v)
      )
    )
  end
  return fail(
    string.format(
      "Expected value of type '%s' but got type '%s' %s",
      ty.name,
      type(v),
      show(v)
    )
  )
end

-- composite finishes a record, list or map type: construct() copies the
-- entries of params (walked with iterate) through the type's __newindex,
-- so each is checked, then runs finish(obj) if given; validate_value()
-- accepts values of the type and converts plain tables.
local function composite(ty, iterate, finish)
  function ty:construct(params)
    local obj = setmetatable({}, ty)
    for key, value in iterate(params) do
      obj[key] = value
    end
    if finish then
      finish(obj)
    end
    return obj
  end

  function ty:validate_value(v)
    return check_composite(ty, v)
  end

  return callable(ty, ty.construct)
end

-- record(name, fields): a table type with named, typed fields. A field
-- named `_dynamic` holds a function(key, value) -> ok, err that accepts
-- fields not listed (returning false, nil for "unknown field").
function M.record(name, fields)
  local ty = { name = name, fields = fields }

  ty.__index = function(obj, key)
    if ty.fields[key] == nil and ty.fields._dynamic == nil then
      TypeError.new(string.format("%s: attempt to read unknown field '%s'", ty.name, key))
        :raise()
    end
    return nil
  end

  ty.__newindex = function(obj, key, value)
    local def = ty.fields[key]
    if def == nil then
      local dynamic = ty.fields._dynamic
      if dynamic then
        local ok, err = dynamic(key, value)
        if ok then
          rawset(obj, key, value)
          return
        end
        if err then
          TypeError.new(string.format("%s: invalid value for field '%s'", ty.name, key), err)
            :raise()
        end
      end
      TypeError.new(string.format("%s: unknown field '%s'", ty.name, key)):raise()
    end
    local ok, result = def:validate_value(value)
    if not ok then
      TypeError.new(string.format("%s: invalid value for field '%s'", ty.name, key), result)
        :raise()
    end
    rawset(obj, key, result)
  end

  -- Absent fields take their default, or fail unless optional.
  local function fill_defaults(obj)
    for key, def in pairs(ty.fields) do
      if type(def) == 'table' and rawget(obj, key) == nil then
        if def.default_value ~= nil then
          obj[key] = def.default_value
        elseif not def.is_optional then
          TypeError.new(
            string.format(
              "%s: missing value for field '%s' of type '%s'",
              ty.name,
              key,
              def.name
            )
          ):raise()
        end
      end
    end
  end

  return composite(ty, pairs, fill_defaults)
end

-- list(T): a sequence whose elements are all of type T.
function M.list(element)
  local ty = { name = string.format('list<%s>', element.name), value_type = element }

  ty.__newindex = function(obj, idx, value)
    if type(idx) ~= 'number' then
      TypeError.new(string.format("%s: invalid index '%s' list", ty.name, show(idx))):raise()
    end
    local ok, result = element:validate_value(value)
    if not ok then
      TypeError.new(string.format('%s: invalid value for idx %d', ty.name, idx), result):raise()
    end
    rawset(obj, idx, result)
  end

  return composite(ty, ipairs)
end

-- map(K, V): a table whose keys are of type K and values of type V.
function M.map(key_type, value_type)
  local ty = {
    name = string.format('map<%s,%s>', key_type.name, value_type.name),
    key_type = key_type,
    value_type = value_type,
  }

  ty.__newindex = function(obj, key, value)
    local kok, kres = key_type:validate_value(key)
    if not kok then
      TypeError.new(string.format('%s: invalid key %s', ty.name, show(key)), kres):raise()
    end
    local vok, vres = value_type:validate_value(value)
    if not vok then
      TypeError.new(
        string.format('%s: invalid value for key %s', ty.name, show(key)),
        vres
      ):raise()
    end
    rawset(obj, kres, vres)
  end

  return composite(ty, pairs)
end

-- Scalars: number, string, boolean, Function (checked with type()).
local function scalar(lua_type)
  local ty = { name = lua_type }
  function ty:validate_value(v)
    if type(v) ~= lua_type then
      return fail(string.format("Expected '%s', got '%s' %s", lua_type, type(v), show(v)))
    end
    return true, v
  end
  return callable(ty)
end

M.number = scalar 'number'
M.string = scalar 'string'
M.boolean = scalar 'boolean'
M.Function = scalar 'function'

-- any: accepts every value.
M.any = callable {
  name = 'Any',
  validate_value = function(_, v)
    return true, v
  end,
}

-- enum(name, 'A', 'B', ...): one of the listed strings.
function M.enum(name, ...)
  local variants = { ... }
  local allowed = {}
  for _, v in ipairs(variants) do
    allowed[v] = true
  end
  local ty = { name = name, variants = variants, is_valid = allowed }
  function ty:validate_value(v)
    if allowed[v] then
      return true, v
    end
    local shown = {}
    for i, candidate in ipairs(variants) do
      shown[i] = show(candidate)
    end
    return fail(
      string.format(
        "Unexpected '%s' value %s, expected one of %s",
        name,
        show(v),
        table.concat(shown, ', ')
      )
    )
  end
  return callable(ty)
end

-- default(T, value): type T, with value used when a record field is absent.
function M.default(target, value)
  local ty = { name = target.name, default_value = value, target = target }
  function ty:validate_value(v)
    if v == nil then
      return true, value
    end
    return target:validate_value(v)
  end
  return callable(ty)
end

-- option(T): type T or nil; an absent record field is fine.
function M.option(target)
  local ty = {
    name = string.format('option<%s>', target.name),
    is_optional = true,
    target = target,
  }
  function ty:validate_value(v)
    if v == nil then
      return true, nil
    end
    return target:validate_value(v)
  end
  return callable(ty)
end

-- variant(T1, T2, ...): the first of the types that accepts the value.
function M.variant(...)
  local variants = { ... }
  if #variants < 2 then
    error(
      string.format(
        'typing.variant: must have a list of 2 or more variants, %d were provided',
        #variants
      ),
      2
    )
  end
  local names = {}
  for i, v in ipairs(variants) do
    names[i] = v.name
  end
  local ty = { name = string.format('variant<%s>', table.concat(names, ',')), variants = variants }
  function ty:validate_value(v)
    local problems = {}
    for _, variant in ipairs(variants) do
      local ok, result = variant:validate_value(v)
      if ok then
        return true, result
      end
      problems[#problems + 1] = tostring(result)
    end
    return fail(
      string.format(
        "Unexpected '%s' value %s. Failed to match any allowed variant: %s",
        ty.name,
        show(v),
        table.concat(problems, '. ')
      )
    )
  end
  return callable(ty)
end

-- Given an error from one of KumoMTA's config constructors
-- (`deserialize error: <problem>, while processing <input>`), returns
-- <problem>; other errors are returned as strings unchanged.
function M.extract_deserialize_error(err)
  local text = tostring(err)
  local captures = kumo.regex.compile('deserialize error: (.*), while processing'):captures(text)
  if captures then
    return captures[1]
  end
  return text
end

SELF_TEST_FIRST_LINE = debug.getinfo(1, 'l').currentline
function M:test()
  local utils = require 'policy-extras.policy_utils'

  local Layer = M.enum('Layer', 'Above', 'Below')
  local Point = M.record('Point', { x = M.number, y = M.number })
  local Example = M.record('Example', { point = Point, layer = M.option(Layer) })

  local pt = Point { x = 123, y = 2.5 }
  local a = Example { point = pt, layer = 'Above' }
  utils.assert_eq(a, { point = { x = 123, y = 2.5 }, layer = 'Above' })
  utils.assert_eq(Example { point = { x = 1, y = 4 } }, { point = { x = 1, y = 4 } })

  local ok, err = pcall(Point, { x = 123 })
  assert(not ok)
  utils.assert_matches(err, "Point: missing value for field 'y' of type 'number'")

  ok, err = pcall(Point, { x = 123, y = true })
  assert(not ok)
  utils.assert_matches(
    err,
    "Point: invalid value for field 'y'\n.*Expected 'number', got 'boolean' true"
  )

  ok, err = pcall(Example, { point = { x = 1, y = 4 }, layer = 'Wrong' })
  assert(not ok)
  utils.assert_matches(
    err,
    "Example: invalid value for field 'layer'\n.*Unexpected 'Layer' value 'Wrong', expected one of 'Above', 'Below'"
  )

  local Outer = M.record('Outer', { ex = Example })
  ok, err = pcall(Outer, { ex = Point { x = 1, y = 4 } })
  assert(not ok)
  utils.assert_matches(
    err,
    "Outer: invalid value for field 'ex'\n.*Expected value of type 'Example' but got type 'Point' with value"
  )

  local ByName = M.map(M.string, Example)
  ok, err = pcall(ByName, { [123] = a })
  assert(not ok)
  utils.assert_matches(
    err,
    "map<string,Example>: invalid key 123\n.*Expected 'string', got 'number' 123"
  )
  ok, err = pcall(ByName, { hello = 'wrong' })
  assert(not ok)
  utils.assert_matches(
    err,
    "map<string,Example>: invalid value for key 'hello'\n.*Expected value of type 'Example' but got type 'string' 'wrong'"
  )

  local WithDefault = M.record('WithDefault', { enabled = M.default(M.boolean, true) })
  utils.assert_eq(WithDefault({}).enabled, true)
  utils.assert_eq(WithDefault({ enabled = false }).enabled, false)

  local Strings = M.list(M.string)
  utils.assert_eq(Strings { 'a', 'b' }, { 'a', 'b' })
  ok, err = pcall(Strings, { 1 })
  assert(not ok)
  utils.assert_matches(err, "list<string>: invalid value for idx 1\n.*Expected 'string', got 'number' 1")

  local NumOrStr = M.variant(M.number, M.string)
  utils.assert_eq(NumOrStr(1), 1)
  ok, err = pcall(NumOrStr, true)
  assert(not ok)
  utils.assert_matches(err, "Failed to match any allowed variant")

  ok, err = pcall(function()
    return pt.z
  end)
  assert(not ok)
  utils.assert_matches(err, "Point: attempt to read unknown field 'z'")

  utils.assert_eq(
    M.extract_deserialize_error 'deserialize error: unknown field `x`, while processing {}',
    'unknown field `x`'
  )
end

return M
