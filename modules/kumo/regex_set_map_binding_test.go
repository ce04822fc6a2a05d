package kumo_test

import (
	"reflect"
	"strings"
	"testing"
)

func TestRegexSetMap(t *testing.T) {
	// The example of KumoMTA's reference, then the rest of the userdata.
	got := runRegex(t, `
local map = kumo.regex_set_map.new {
  hello = 'hello',
  bye = 'bye',
  later = 'bye',
  ['Good day'] = 'hello',
  ['^(\\d{3}) '] = { kind = 'code' },
}
assert(map['hello there'] == 'hello')
assert(map['goodbye'] == 'bye')
assert(map['see you later'] == 'bye')
assert(map['not.set'] == nil)
assert(map[42] == nil)
local n = 0
for k, v in pairs(map) do n = n + 1 end
return map['Good day'], map['550 no'].kind, #map, n, tostring(map), #kumo.regex_set_map.new(), kumo.json_encode(map)`)
	want := []any{"hello", "code", int64(5), int64(5), "RegexSetMap(5 patterns)", int64(0),
		`{"Good day":"hello","^(\\d{3}) ":{"kind":"code"},"bye":"bye","hello":"hello","later":"bye"}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	for body, wantErr := range map[string]string{
		`kumo.regex_set_map.new { ['(x'] = 1 }`:         `kumo.regex_set_map.new: `,
		`kumo.regex_set_map.new { [1] = 1 }`:            "a key must be a regular expression string, got integer `1`",
		`kumo.regex_set_map.new { a = print }`:          `cannot store the value of "a": cannot convert a function value to data`,
		`kumo.regex_set_map.new 'x'`:                    "a table expected",
		`local m = kumo.regex_set_map.new {} ; m.x = 1`: "a RegexSetMap is immutable",
	} {
		if msg := runLuaErr(t, body); !strings.Contains(msg, wantErr) {
			t.Errorf("%s: %s", body, msg)
		}
	}
}

func TestRegexSetMapMemoized(t *testing.T) {
	h := newMemoHarness(t, `
local load = kumo.memoize(function()
  return kumo.regex_set_map.new { ['^4\\d\\d'] = 'temp', ['^5'] = 'perm' }
end, { name = 'test.regex_set_map', ttl = '1h', capacity = 4 })
kumo.on('main', function(code)
  return load()[code]
end)
`)
	sa, sb := h.state(), h.state()
	wantValues(t, memoFireIn(t, sa, "421 busy"), "temp")
	wantValues(t, memoFireIn(t, sb, "550 no"), "perm")
}
