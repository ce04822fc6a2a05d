-- policy-extras.policy_utils as policies and helpers use it.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local function failure(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, 'expected an error')
  return tostring(err)
end

local function has(text, fragment)
  assert(text:find(fragment, 1, true), ('%q lacks %q'):format(text, fragment))
end

local function test_equals()
  assert(utils.equals({ mx = { 'a', 'b' }, ttl = 60 }, { ttl = 60, mx = { 'a', 'b' } }))
  assert(not utils.equals({ mx = { 'a', 'b' } }, { mx = { 'a' } }), 'a key only on the left')
  assert(not utils.equals({ mx = { 'a' } }, { mx = { 'a', 'b' } }), 'a key only on the right')
  assert(not utils.equals({ 1 }, 1))
  assert(utils.equals('x', 'x') and not utils.equals('x', 'y'))
  -- __eq on the left decides, unless metatables are ignored.
  local never = { __eq = function()
    return false
  end }
  local a, b = setmetatable({ v = 1 }, never), setmetatable({ v = 1 }, never)
  assert(not utils.equals(a, b))
  assert(utils.equals(a, b, true))
end

local function test_assertions()
  utils.assert_eq({ 1, { k = 'v' } }, { 1, { k = 'v' } })
  utils.assert_ne({ 1 }, { 2 })
  utils.assert_matches('queue: campaign:tenant@example.org', '^queue: \\w+:\\w+@')

  utils.assert_eq(failure(utils.assert_eq, { port = 25 }, { port = 587 }):match 'expected.*', 'expected\n{"port":25}\n == \n{"port":587}')
  has(failure(utils.assert_eq, 1, 2, 'port numbers'), 'port numbers. expected\n1\n == \n2')
  has(failure(utils.assert_ne, 'a', 'a', 'same'), 'same. expected\n"a"\n != \n"a"')
  has(failure(utils.assert_matches, 'mx9', '^mx\\d\\d$'), 'expected\n "mx9"\n to match\n "^mx\\d\\d$"')
  has(failure(utils.assert_matches, 'a\nb', 'a.b', 'dot'), 'dot. expected\n "a\nb"\n to match\n "a.b"')
end

local function test_tables()
  local into = { keep = 1, nested = { x = 1 } }
  utils.merge_into({ nested = { y = 2 }, added = true }, into)
  utils.assert_eq(into, { keep = 1, nested = { y = 2 }, added = true })
  utils.merge_into(nil, into)
  utils.assert_eq(into.keep, 1)

  into = { keep = 1, nested = { x = 1, deep = { a = 1 } } }
  utils.recursive_merge_into({ nested = { y = 2, deep = { b = 2 } }, fresh = { z = 3 } }, into)
  utils.assert_eq(into, { keep = 1, nested = { x = 1, y = 2, deep = { a = 1, b = 2 } }, fresh = { z = 3 } })
  utils.recursive_merge_into(nil, into)

  local list = { 'smtp', 'lmtp' }
  assert(utils.table_contains(list, 'lmtp'))
  assert(not utils.table_contains(list, 'http'))
  assert(not utils.table_contains({ [1] = 'x' }, nil))
  assert(utils.table_contains({ k = false }, false))

  local keys = utils.table_keys { alpha = 1, beta = 2 }
  table.sort(keys)
  utils.assert_eq(keys, { 'alpha', 'beta' })
  utils.assert_eq(utils.table_keys {}, {})
  assert(utils.table_is_empty {})
  assert(not utils.table_is_empty { false })
end

local function test_strings()
  assert(utils.starts_with('queue:bulk', 'queue:'))
  assert(not utils.starts_with('q', 'queue'))
  assert(utils.ends_with('bulk.toml', '.toml'))
  assert(utils.ends_with('anything', ''))
  assert(not utils.ends_with('toml', '.toml'))

  utils.assert_eq({ utils.split_ip_port '192.0.2.9:2525' }, { '192.0.2.9', '2525' })
  utils.assert_eq({ utils.split_ip_port '[2001:db8::9]:25' }, { '2001:db8::9', '25' })
  utils.assert_eq({ utils.split_ip_port 'mx.example:587' }, { 'mx.example', '587' })
  assert(utils.split_ip_port 'no-port' == nil)
end

local function test_load_json_or_toml_file()
  local inline = { source = {} }
  assert(utils.load_json_or_toml_file(inline) == inline)
  local base = os.tmpname()
  local function write(name, text)
    local f = assert(io.open(name, 'w'))
    f:write(text)
    f:close()
  end
  write(base .. '.toml', 'answer = 42\n[t]\nk = "v"\n')
  write(base .. '.json', '{ "answer": 43 }')
  utils.assert_eq(utils.load_json_or_toml_file(base .. '.toml'), { answer = 42, t = { k = 'v' } })
  utils.assert_eq(utils.load_json_or_toml_file(base .. '.json').answer, 43)
  os.remove(base .. '.toml')
  os.remove(base .. '.json')
  os.remove(base)
end

local function test_dumps()
  assert(utils.dumps(nil) == nil and select('#', utils.dumps(nil)) == 1)
  utils.assert_eq(utils.dumps(false), 'false')
  utils.assert_eq(utils.dumps(2525), '2525')
  utils.assert_eq(utils.dumps(0.25), '0.25')
  utils.assert_eq(utils.dumps 'say "hi"', '"say \\"hi\\""')
  utils.assert_eq(utils.dumps {}, '{}')
  utils.assert_eq(utils.dumps { 'x' }, '{\n  [1] = "x"\n}')
  utils.assert_eq(
    utils.dumps { relay = { port = 25, hosts = { 'a' } }, on = true },
    table.concat({
      '{',
      '  ["on"] = true,',
      '  ["relay"] = {',
      '    ["hosts"] = {',
      '      [1] = "a"',
      '    },',
      '    ["port"] = 25',
      '  }',
      '}',
    }, '\n')
  )
  local loop = { name = 'loop' }
  loop.self = loop
  utils.assert_eq(utils.dumps(loop), '{\n  ["name"] = "loop",\n  ["self"] = [recursive node]\n}')
  -- The same table twice side by side is not a loop.
  local leaf = { 1 }
  utils.assert_eq(utils.dumps { a = leaf, b = leaf }, '{\n  ["a"] = {\n    [1] = 1\n  },\n  ["b"] = {\n    [1] = 1\n  }\n}')
  local named = setmetatable({}, { __tostring = function()
    return 'Named<x>'
  end })
  utils.assert_eq(utils.dumps { n = named }, '{\n  ["n"] = Named<x>\n}')
end

kumo.on('main', function()
  utils:test()
  test_equals()
  test_assertions()
  test_tables()
  test_strings()
  test_load_json_or_toml_file()
  test_dumps()
end)
