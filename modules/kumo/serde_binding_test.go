package kumo_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// evalLua runs body (Lua statements ending in a return) inside a main
// handler and returns its results converted to Go.
func evalLua(t *testing.T, body string) []any {
	t.Helper()
	return runMain(t, "local kumo = require 'kumo'\nkumo.on('main', function()\n"+body+"\nend)\n")
}

// evalString runs `return <expr>` and returns the single string result.
func evalString(t *testing.T, expr string) string {
	t.Helper()
	out := evalLua(t, "return "+expr)
	if len(out) != 1 {
		t.Fatalf("%s: want 1 result, got %#v", expr, out)
	}
	s, ok := out[0].(string)
	if !ok {
		t.Fatalf("%s: want a string, got %#v", expr, out[0])
	}
	return s
}

// luaErr runs body under pcall and returns the error message; the test
// fails if body does not raise.
func luaErr(t *testing.T, body string) string {
	t.Helper()
	out := evalLua(t, "local ok, err = pcall(function()\n"+body+"\nend)\nif ok then return '<no error>' end\nreturn tostring(err)")
	msg, _ := out[0].(string)
	if msg == "<no error>" {
		t.Fatalf("expected an error from %q", body)
	}
	return msg
}

func wantContains(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("error %q does not contain %q", got, w)
		}
	}
}

func TestSerdeFunctionTables(t *testing.T) {
	serdeNames := []string{
		"json_load", "json_parse", "json_encode", "json_encode_pretty",
		"toml_load", "toml_parse", "toml_encode", "toml_encode_pretty", "toml_encode_pretty_compact",
		"yaml_load", "yaml_parse", "yaml_encode",
	}
	for _, name := range serdeNames {
		out := evalLua(t, "return type(kumo.serde."+name+")")
		if out[0] != "function" {
			t.Errorf("kumo.serde.%s is %v", name, out[0])
		}
	}
	// The backwards-compatible aliases in kumo itself: JSON and TOML only,
	// no toml_encode_pretty_compact and no yaml, as upstream.
	compat := map[string]bool{
		"json_load": true, "json_parse": true, "json_encode": true, "json_encode_pretty": true,
		"toml_load": true, "toml_parse": true, "toml_encode": true, "toml_encode_pretty": true,
		"toml_encode_pretty_compact": false, "yaml_load": false, "yaml_parse": false, "yaml_encode": false,
	}
	for name, present := range compat {
		out := evalLua(t, "return kumo."+name+" ~= nil, kumo."+name+" == kumo.serde."+name)
		if out[0] != present || (present && out[1] != true) {
			t.Errorf("kumo.%s: present=%v same=%v, want present=%v", name, out[0], out[1], present)
		}
	}
}

func TestJSONEncode(t *testing.T) {
	cases := []struct {
		expr string
		want string
	}{
		{`kumo.json_encode({connection_limit=10, rate=1.5})`, `{"connection_limit":10,"rate":1.5}`},
		{`kumo.serde.json_encode({connection_limit=10, rate=1.5})`, `{"connection_limit":10,"rate":1.5}`},
		{`kumo.json_encode({zeta=1, alpha=2, mid={b=true, a=false}})`, `{"alpha":2,"mid":{"a":false,"b":true},"zeta":1}`},
		{`kumo.json_encode({})`, `{}`},
		{`kumo.json_encode(kumo.json_parse('[]'))`, `[]`},
		{`kumo.json_encode({1, 2, 3})`, `[1,2,3]`},
		{`kumo.json_encode({1, {}, {a={}}, kumo.json_parse('[]')})`, `[1,{},{"a":{}},[]]`},
		{`kumo.json_encode({list={'a','b'}, n=-7})`, `{"list":["a","b"],"n":-7}`},
		{`kumo.json_encode(nil)`, `null`},
		{`kumo.json_encode()`, `null`},
		{`kumo.json_encode(true)`, `true`},
		{`kumo.json_encode('x')`, `"x"`},
		{`kumo.json_encode(42)`, `42`},
		{`kumo.json_encode(3.0)`, `3`},
		{`kumo.json_encode(2^53)`, `9007199254740992`},
		{`kumo.json_encode(0.1)`, `0.1`},
		{`kumo.json_encode(1/3)`, `0.3333333333333333`},
		{`kumo.json_encode(-2.5e-7)`, `-2.5e-7`},
		{`kumo.json_encode(0.00001)`, `0.00001`},
		{`kumo.json_encode(1e300)`, `1e300`},
		{`kumo.json_encode(1.5e300)`, `1.5e300`},
		// No HTML escaping; only quote, backslash and control characters.
		{`kumo.json_encode('<a href="x">&amp;</a>')`, `"<a href=\"x\">&amp;</a>"`},
		{`kumo.json_encode('back\\slash\n\t\r\b\f\1\127')`, `"back\\slash\n\t\r\b\f\u0001` + "\x7f" + `"`},
		{`kumo.json_encode('caf\195\169 \226\128\168')`, "\"caf\u00e9 \u2028\""},
		// Strings that are not UTF-8 become byte arrays, as upstream.
		{`kumo.json_encode('a\255')`, `[97,255]`},
		// A table with holes or extra keys is an object keyed by decimal
		// integers (upstream would write just the 1..n part as an array).
		{`kumo.json_encode({[1]='a', [3]='c'})`, `{"1":"a","3":"c"}`},
		{`kumo.json_encode({'a', x=1})`, `{"1":"a","x":1}`},
		{`kumo.json_encode({[10]=true})`, `{"10":true}`},
	}
	for _, c := range cases {
		if got := evalString(t, c.expr); got != c.want {
			t.Errorf("%s\n got: %s\nwant: %s", c.expr, got, c.want)
		}
	}
}

func TestJSONEncodePretty(t *testing.T) {
	got := evalString(t, `kumo.serde.json_encode_pretty({
  name = 'x', limits = {connection_limit = 10, rate = 1.5},
  empty_obj = {}, empty_arr = kumo.json_parse('[]'),
  list = {1, 'two', {k = true}}, html = '<&>'
})`)
	want := `{
  "empty_arr": [],
  "empty_obj": {},
  "html": "<&>",
  "limits": {
    "connection_limit": 10,
    "rate": 1.5
  },
  "list": [
    1,
    "two",
    {
      "k": true
    }
  ],
  "name": "x"
}`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	for expr, want := range map[string]string{
		`kumo.json_encode_pretty({})`:    `{}`,
		`kumo.json_encode_pretty(5)`:     `5`,
		`kumo.json_encode_pretty({1,2})`: "[\n  1,\n  2\n]",
		`kumo.json_encode_pretty('s')`:   `"s"`,
	} {
		if got := evalString(t, expr); got != want {
			t.Errorf("%s: got %q want %q", expr, got, want)
		}
	}
}

func TestJSONEncodeErrors(t *testing.T) {
	cases := []struct {
		body  string
		wants []string
	}{
		{`kumo.json_encode({foo = function() end})`, []string{"json_encode: foo: cannot convert a function value to data"}},
		{`kumo.json_encode(print)`, []string{"json_encode: cannot convert a function value to data"}},
		{`kumo.json_encode({a = {1, 2, coroutine.create(print)}})`, []string{"json_encode: a[3]:", "thread"}},
		{`kumo.json_encode({io.stdout})`, []string{"json_encode: [1]:", "userdata"}},
		{`local t = {} t.self = t kumo.json_encode(t)`, []string{"json_encode: self:", "contains itself"}},
		{`kumo.json_encode({rate = 0/0})`, []string{"json_encode: rate: cannot encode NaN as JSON"}},
		{`kumo.json_encode({x = {1/0}})`, []string{"json_encode: x[1]: cannot encode inf as JSON"}},
		{`kumo.json_encode(-1/0)`, []string{"json_encode: cannot encode -inf as JSON"}},
		{`kumo.json_encode({[true] = 1})`, []string{"json_encode:", "keys must be strings or integers"}},
		{`kumo.json_encode({[1.5] = 1})`, []string{"json_encode:", "1.5", "keys must be strings or integers"}},
		{`kumo.json_encode_pretty({f = print})`, []string{"json_encode_pretty: f: cannot convert a function value to data"}},
		{`kumo.json_encode_pretty({n = 0/0})`, []string{"json_encode_pretty: n: cannot encode NaN"}},
		{`kumo.json_encode({['a\255'] = 1})`, []string{"json_encode:", "not valid UTF-8"}},
	}
	for _, c := range cases {
		wantContains(t, luaErr(t, c.body), c.wants...)
	}
}

func TestJSONParse(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []any
	}{
		{"object", `return kumo.json_parse('{"a": 1, "b": [1, 2.5, "x", true], "d": {}, "e": []}')`,
			[]any{map[string]any{"a": int64(1), "b": []any{int64(1), 2.5, "x", true}, "d": map[string]any{}, "e": []any{}}}},
		{"serde alias", `return kumo.serde.json_parse('[1, {"k": "v"}]')`,
			[]any{[]any{int64(1), map[string]any{"k": "v"}}}},
		{"scalars", `return kumo.json_parse('"s"'), kumo.json_parse('12'), kumo.json_parse('-1.25'), kumo.json_parse('false')`,
			[]any{"s", int64(12), -1.25, false}},
		{"null is absent", `local t = kumo.json_parse('{"a": null, "b": 1}')
			local n = 0 for _ in pairs(t) do n = n + 1 end
			return t.a == nil, n, kumo.json_parse('null') == nil`,
			[]any{true, int64(1), true}},
		{"null in array leaves a hole", `local t = kumo.json_parse('[1, null, 3]') return t[1], t[2] == nil, t[3]`,
			[]any{int64(1), true, int64(3)}},
		{"integers stay integers", `local v = kumo.json_parse('{"n": 10, "f": 10.5, "e": 1e2}')
			return tostring(v.n), math.floor(v.n) == v.n, tostring(v.f), v.e`,
			[]any{"10", true, "10.5", int64(100)}},
		// Beyond 2^53 a Lua number cannot hold every integer.
		{"large integers lose precision", `return kumo.json_parse('9007199254740993') == 9007199254740992`, []any{true}},
		{"unicode escapes", `return kumo.json_parse('"caf\\u00e9 \\ud83d\\ude00 \\n"')`, []any{"caf\u00e9 \U0001F600 \n"}},
		{"comments stripped, strings kept", `return kumo.json_parse([[
/* block
   comment */ {
  "url": "http://example.com//path", // line comment
  "hash": "#not a comment", # hash comment
  "block": "/* not a comment */",
  "escaped": "quote \" // still string"
  /* trailing */
}
# final]])`,
			[]any{map[string]any{"url": "http://example.com//path", "hash": "#not a comment", "block": "/* not a comment */", "escaped": `quote " // still string`}}},
		{"nested", `local v = kumo.json_parse('{"a": {"b": {"c": [[1, 2], [3]]}}}') return v.a.b.c[1][2], #v.a.b.c, v.a.b.c[2][1]`,
			[]any{int64(2), int64(2), int64(3)}},
		{"number argument", `return kumo.json_parse(7)`, []any{int64(7)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := evalLua(t, c.body)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, s := range []string{
		`{"a":[],"b":{},"c":[1,2.5,-3],"d":"x","e":{"f":[{"g":[]}]}}`,
		`[]`, `{}`, `[[],{},[[]]]`, `{"connection_limit":10,"rate":1.5}`,
		`{"big":1e300,"neg":-0.5,"small":1e-7}`,
	} {
		got := evalString(t, `kumo.json_encode(kumo.json_parse('`+s+`'))`)
		if got != s {
			t.Errorf("round trip of %s gave %s", s, got)
		}
	}
}

func TestJSONParseErrors(t *testing.T) {
	cases := []struct {
		input string // Lua long-string contents
		wants []string
	}{
		{`{"a": 1 x}`, []string{"json_parse: parsing {\"a\": 1 x} as json", "line 1 column 9"}},
		{"{\"a\":\n  [1, 2,]}", []string{"json_parse:", "line 2 column 9"}},
		{`{"a": 1} x`, []string{"trailing characters", "line 1 column 10"}},
		{`{"a": 1}]`, []string{"trailing characters", "line 1 column 9"}},
		{`{"a": `, []string{"unexpected end of input"}},
		{`"abc`, []string{"unexpected end of input"}},
		{``, []string{"expected a JSON value but found end of input"}},
		{`  // only a comment`, []string{"expected a JSON value but found end of input"}},
		{`[1e400]`, []string{"number 1e400 is out of range"}},
		{`{"a": 1} /* open`, []string{"unterminated /* comment", "line 1 column 10"}},
		{"{\"a\":\n / 1}", []string{"unexpected '/'", "line 2 column 2"}},
		{`{'a': 1}`, []string{"json_parse:", "line 1 column 2"}},
		{`{"a": NaN}`, []string{"json_parse:", "line 1 column 7"}},
	}
	for _, c := range cases {
		wantContains(t, luaErr(t, "kumo.json_parse([==["+c.input+"]==])"), c.wants...)
	}
	wantContains(t, luaErr(t, "kumo.json_parse(nil)"), "json_parse: bad argument #1 (string expected, got nil)")
	wantContains(t, luaErr(t, "kumo.json_parse({})"), "json_parse: bad argument #1 (string expected, got table)")
	// A long input is quoted only in part.
	msg := luaErr(t, "kumo.json_parse('[' .. string.rep('1,', 500) .. 'x]')")
	wantContains(t, msg, "...", "line 1 column 1002")
	if len(msg) > 400 {
		t.Errorf("error message not shortened: %d bytes", len(msg))
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// luaQuote makes a Lua long string literal of s.
func luaQuote(s string) string { return "[==[" + s + "]==]" }

func TestJSONLoad(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", "// shaping data\n{\"a\": [1, 2], # two\n \"b\": {\"c\": null, \"d\": \"x//y\"}}\n")
	bad := writeFile(t, dir, "bad.json", "{\n  \"a\": 1,\n  \"b\": ]\n}\n")
	missing := filepath.Join(dir, "missing.json")

	for _, fn := range []string{"kumo.json_load", "kumo.serde.json_load"} {
		got := evalLua(t, "return "+fn+"("+luaQuote(good)+")")
		want := []any{map[string]any{"a": []any{int64(1), int64(2)}, "b": map[string]any{"d": "x//y"}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v want %#v", fn, got, want)
		}
	}
	wantContains(t, luaErr(t, "kumo.json_load("+luaQuote(bad)+")"),
		"json_load: parsing "+bad+" as json:", "line 3 column 8")
	wantContains(t, luaErr(t, "kumo.json_load("+luaQuote(missing)+")"),
		"json_load: reading file "+missing+": no such file or directory")
	wantContains(t, luaErr(t, "kumo.json_load("+luaQuote(dir)+")"), "json_load: reading file "+dir)
	wantContains(t, luaErr(t, "kumo.json_load()"), "json_load: bad argument #1 (string expected, got nil)")
}

func TestTOMLParse(t *testing.T) {
	doc := `
title = "policy"
connection_limit = 10
rate = 1.5
enabled = true
big = 9007199254740993
hex = 0xff
special = [inf, -inf]
list = [1, 2, 3]
mixed = [1, "two", { three = 3 }]
empty_list = []
inline = { a = 1, b = { c = "d" } }
odt = 1979-05-27T07:32:00Z
odt_offset = 1979-05-27T00:32:00.999-07:00
ldt = 1979-05-27T07:32:00
ld = 1979-05-27
lt = 07:32:00.5

[queue."example.com"]
max_age = "6 hours"

[queue."example.com".tenant]
egress_pool = "bar"

[[rule]]
regex = "^a"
action = "Suspend"

[[rule]]
regex = "^b"
[rule.sub]
x = 1

[empty]
`
	out := evalLua(t, "return kumo.toml_parse("+luaQuote(doc)+")")
	want := map[string]any{
		"title": "policy", "connection_limit": int64(10), "rate": 1.5, "enabled": true,
		"big": int64(9007199254740992), "hex": int64(255),
		"list":       []any{int64(1), int64(2), int64(3)},
		"mixed":      []any{int64(1), "two", map[string]any{"three": int64(3)}},
		"empty_list": []any{},
		"inline":     map[string]any{"a": int64(1), "b": map[string]any{"c": "d"}},
		"odt":        "1979-05-27T07:32:00Z", "odt_offset": "1979-05-27T00:32:00.999-07:00",
		"ldt": "1979-05-27T07:32:00", "ld": "1979-05-27", "lt": "07:32:00.5",
		"queue": map[string]any{"example.com": map[string]any{
			"max_age": "6 hours", "tenant": map[string]any{"egress_pool": "bar"}}},
		"rule": []any{
			map[string]any{"regex": "^a", "action": "Suspend"},
			map[string]any{"regex": "^b", "sub": map[string]any{"x": int64(1)}},
		},
		"empty": map[string]any{},
	}
	got := out[0].(map[string]any)
	special := got["special"]
	delete(got, "special")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if sp, ok := special.([]any); !ok || len(sp) != 2 {
		t.Errorf("special: %#v", special)
	}

	// Integers stay integers; inf survives as a Lua number.
	res := evalLua(t, `local v = kumo.serde.toml_parse('n = 10\nf = inf\nm = -inf')
		return tostring(v.n), v.f == 1/0, v.m == -1/0`)
	if !reflect.DeepEqual(res, []any{"10", true, true}) {
		t.Errorf("got %#v", res)
	}
	// Empty document.
	res = evalLua(t, `local v = kumo.toml_parse('# nothing') return type(v), next(v) == nil`)
	if !reflect.DeepEqual(res, []any{"table", true}) {
		t.Errorf("got %#v", res)
	}
}

func TestTOMLParseErrors(t *testing.T) {
	cases := []struct {
		input string
		wants []string
	}{
		{"a = 1\nb = [1, 2\nc = 3", []string{"toml_parse: parsing a = 1", "as toml:", "line 3 column"}},
		{"a = 1\na = 2", []string{"toml_parse:", "already been defined", "line 2"}},
		{"a = ", []string{"toml_parse:", "line 1"}},
		{"[table\nx = 1", []string{"toml_parse:", "to end table name", "line 2"}},
		{"x = 1979-13-45", []string{"toml_parse:", "line 1"}},
	}
	for _, c := range cases {
		wantContains(t, luaErr(t, "kumo.toml_parse("+luaQuote(c.input)+")"), c.wants...)
	}
	wantContains(t, luaErr(t, "kumo.serde.toml_parse(nil)"), "toml_parse: bad argument #1 (string expected, got nil)")
}

func TestTOMLLoad(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.toml", "[source.\"ip-1\"]\nsource_address = \"10.0.0.1\"\nttl = 300\n")
	bad := writeFile(t, dir, "bad.toml", "ok = 1\n\nbroken = [1,\n")
	notUTF8 := writeFile(t, dir, "latin1.toml", "name = \"caf\xe9\"\n")
	missing := filepath.Join(dir, "nope.toml")

	for _, fn := range []string{"kumo.toml_load", "kumo.serde.toml_load"} {
		got := evalLua(t, "return "+fn+"("+luaQuote(good)+")")
		want := []any{map[string]any{"source": map[string]any{"ip-1": map[string]any{"source_address": "10.0.0.1", "ttl": int64(300)}}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v want %#v", fn, got, want)
		}
	}
	wantContains(t, luaErr(t, "kumo.toml_load("+luaQuote(bad)+")"), "toml_load: parsing "+bad+" as toml:", "line 3")
	wantContains(t, luaErr(t, "kumo.toml_load("+luaQuote(missing)+")"), "toml_load: reading file "+missing+": no such file or directory")
	wantContains(t, luaErr(t, "kumo.toml_load("+luaQuote(notUTF8)+")"), "toml_load: parsing "+notUTF8+" as toml:", "UTF-8")
	wantContains(t, luaErr(t, "kumo.toml_load(false)"), "toml_load: bad argument #1 (string expected, got boolean)")
}

func TestTOMLEncode(t *testing.T) {
	cases := []struct {
		expr string
		want string
	}{
		{`kumo.toml_encode({connection_limit = 10, rate = 1.5, name = 'x', on = true})`,
			"connection_limit = 10\nname = \"x\"\non = true\nrate = 1.5\n"},
		{`kumo.serde.toml_encode({})`, ""},
		{`kumo.toml_encode({list = {1, 2, 3}, strs = {'a'}, none = kumo.json_parse('[]')})`,
			"list = [1, 2, 3]\nnone = []\nstrs = [\"a\"]\n"},
		{`kumo.toml_encode({b = {c = 2}, a = 1})`, "a = 1\n\n[b]\nc = 2\n"},
		// A table holding only tables gets no header of its own.
		{`kumo.toml_encode({queue = {['example.com'] = {max_age = '6 hours', tenant = {pool = 'p'}}}})`,
			"[queue.\"example.com\"]\nmax_age = \"6 hours\"\n\n[queue.\"example.com\".tenant]\npool = \"p\"\n"},
		{`kumo.toml_encode({rule = {{regex = '^a', action = 'Suspend'}, {regex = '^b', sub = {x = 1}}}})`,
			"[[rule]]\naction = \"Suspend\"\nregex = \"^a\"\n\n[[rule]]\nregex = \"^b\"\n\n[rule.sub]\nx = 1\n"},
		{`kumo.toml_encode({empty = {}, x = 1})`, "x = 1\n\n[empty]\n"},
		{`kumo.toml_encode({mixed = {1, 'two', {three = 3}}, inline_nest = {{{a = 1}}}})`,
			"inline_nest = [[{ a = 1 }]]\nmixed = [1, \"two\", { three = 3 }]\n"},
		{`kumo.toml_encode({s = 'say "hi"\\\n\t\1', ['key with space'] = 1, [''] = 2, ['a.b'] = 3})`,
			"\"\" = 2\n\"a.b\" = 3\n\"key with space\" = 1\ns = \"say \\\"hi\\\"\\\\\\n\\t\\u0001\"\n"},
		{`kumo.toml_encode({n = 0/0, p = 1/0, m = -1/0, small = 1e-7, big = 1e300, whole = 3.0})`,
			"big = 1e300\nm = -inf\nn = nan\np = inf\nsmall = 1e-7\nwhole = 3\n"},
		{`kumo.toml_encode({[1] = 'a', [3] = 'c'})`, "1 = \"a\"\n3 = \"c\"\n"},
		{`kumo.toml_encode_pretty({a = {1, 2, 3}, b = {'x'}, c = {}, t = {nested = {'p', 'q'}}})`,
			"a = [\n    1,\n    2,\n    3,\n]\nb = [\"x\"]\n\n[c]\n\n[t]\nnested = [\n    \"p\",\n    \"q\",\n]\n"},
		{`kumo.serde.toml_encode_pretty_compact({z = {}, a = 1, list = {1, 2}, t = {e = {}, v = 2}})`,
			"a = 1\nlist = [1, 2]\nz = {}\n\n[t]\ne = {}\nv = 2\n"},
	}
	for _, c := range cases {
		if got := evalString(t, c.expr); got != c.want {
			t.Errorf("%s\n got: %q\nwant: %q", c.expr, got, c.want)
		}
	}
}

func TestTOMLRoundTrip(t *testing.T) {
	// Encoding then parsing gives back the same data, for every style.
	value := `{
  title = 'x', n = 10, f = 2.5, yes = false,
  list = {1, 2}, strs = {'a', 'b "q"'}, mixed = {1, {k = 'v'}},
  sub = {deep = {deeper = {x = 1}}, y = 'z'},
  rules = {{a = 1, t = {u = 2}}, {a = 2, l = {{m = 1}}}},
  ['odd key'] = {['a.b'] = 1},
}`
	for _, fn := range []string{"toml_encode", "toml_encode_pretty", "toml_encode_pretty_compact"} {
		got := evalLua(t, "local v = "+value+"\nreturn kumo.serde.toml_parse(kumo.serde."+fn+"(v)), v")
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Errorf("%s round trip:\n got %#v\nwant %#v", fn, got[0], got[1])
		}
	}
	// And parse -> encode -> parse keeps datetimes as strings.
	got := evalLua(t, `local v = kumo.toml_parse('d = 1979-05-27T07:32:00Z')
		return kumo.toml_encode(v)`)
	if got[0] != "d = \"1979-05-27T07:32:00Z\"\n" {
		t.Errorf("got %q", got[0])
	}
}

func TestTOMLEncodeErrors(t *testing.T) {
	cases := []struct {
		body  string
		wants []string
	}{
		{`kumo.toml_encode('x')`, []string{`toml_encode: invalid type: string "x", expected a table with string keys (a TOML document)`}},
		{`kumo.toml_encode(5)`, []string{"toml_encode:", "invalid type: integer `5`"}},
		{`kumo.toml_encode(nil)`, []string{"toml_encode:", "invalid type: nil"}},
		{`kumo.toml_encode({1, 2})`, []string{"toml_encode:", "invalid type: sequence"}},
		{`kumo.toml_encode(kumo.json_parse('[]'))`, []string{"toml_encode:", "invalid type: sequence"}},
		{`kumo.toml_encode({a = {b = print}})`, []string{"toml_encode: a.b: cannot convert a function value to data"}},
		{`local t = {} t.t = t kumo.toml_encode(t)`, []string{"toml_encode:", "contains itself"}},
		{`kumo.toml_encode({[false] = 1})`, []string{"toml_encode:", "keys must be strings or integers"}},
		{`kumo.toml_encode_pretty({f = print})`, []string{"toml_encode_pretty: f: cannot convert a function value"}},
		{`kumo.serde.toml_encode_pretty_compact('s')`, []string{"toml_encode_pretty_compact: invalid type: string", "expected a table with string keys"}},
	}
	for _, c := range cases {
		wantContains(t, luaErr(t, c.body), c.wants...)
	}
}

func TestYAMLUnsupported(t *testing.T) {
	for _, fn := range []string{"yaml_load", "yaml_parse", "yaml_encode"} {
		wantContains(t, luaErr(t, "kumo.serde."+fn+"('a: 1')"), "kumo.serde."+fn+": YAML is not supported by kumopolicy")
	}
}
