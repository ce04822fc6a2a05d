package kumo_test

import (
	"reflect"
	"strings"
	"testing"
)

// runRegex runs body (Lua statements ending in return) inside main.
func runRegex(t *testing.T, body string) []any {
	t.Helper()
	return runMain(t, "local kumo = require 'kumo'\nkumo.on('main', function()\n"+body+"\nend)\n")
}

func TestRegexCaptures(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []any
	}{
		{"upstream doc example", `
local re = kumo.regex.compile "'([^']+)'\\s+\\((\\d{4})\\)"
return re:captures "Not my favorite movie: 'Citizen Kane' (1941)."`,
			[]any{map[string]any{"0": "'Citizen Kane' (1941)", "1": "Citizen Kane", "2": "1941"}}},
		{"named groups, both syntaxes", `
local re = kumo.regex.compile "'(?<title>[^']+)'\\s+\\((?P<year>\\d{4})\\)"
local cap = re:captures "Not my favorite movie: 'Citizen Kane' (1941)."
return cap.title, cap.year, cap[1], cap[2], cap[0]`,
			[]any{"Citizen Kane", "1941", "Citizen Kane", "1941", "'Citizen Kane' (1941)"}},
		{"no match is nil", `
return kumo.regex.compile('x(y)'):captures('abc')`,
			[]any{nil}},
		{"unmatched groups are absent", `
local cap = kumo.regex.compile('(?<a>a)|(?<b>b)'):captures('b')
local keys = {}
for k in pairs(cap) do table.insert(keys, tostring(k)) end
table.sort(keys)
return table.concat(keys, ','), cap[1] == nil, cap.a == nil, cap.b`,
			[]any{"0,2,b", true, true, "b"}},
		{"real table: ipairs, #, pairs", `
local cap = kumo.regex.compile('(\\w+)-(\\w+)'):captures('ab-cd')
local n = 0
for _, v in ipairs(cap) do n = n + 1 end
local m = 0
for _ in pairs(cap) do m = m + 1 end
return type(cap), #cap, n, m, rawget(cap, 0)`,
			[]any{"table", int64(2), int64(2), int64(3), "ab-cd"}},
		{"typing.lua extract_deserialize_error", `
local err = 'runtime error: deserialize error: missing field ` + "`x`" + `, while processing a Point'
local re = kumo.regex.compile 'deserialize error: (.*), while processing'
local cap = re:captures(err)
return cap[1]`,
			[]any{"missing field `x`"}},
		{"look-behind and back-reference", `
local c1 = kumo.regex.compile('(?<!AU)\\$(\\d+)'):captures('AU$10, $20')
local c2 = kumo.regex.compile('(\\w+) \\1'):captures('so so what')
return c1[1], c2[0]`,
			[]any{"20", "so so"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := runRegex(t, tc.body); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestRegexMethods(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []any
	}{
		{"is_match", `
local re = kumo.regex.compile 'oo'
return re:is_match 'foo', re:is_match 'bar'`,
			[]any{true, false}},
		{"is_match: shipped shaping rule", `
local re = kumo.regex.compile '^(?!.*KumoMTA internal).*RL000010'
return re:is_match '550 5.7.1 RL000010', re:is_match 'KumoMTA internal: RL000010'`,
			[]any{true, false}},
		{"is_match: policy_utils pattern with a newline", `
local re = kumo.regex.compile "Point: invalid value for field 'y'\n.*Expected 'number', got 'boolean' true"
return re:is_match "Point: invalid value for field 'y'\nerr: Expected 'number', got 'boolean' true",
  re:is_match "Point: invalid value for field 'y'\nerr:\nExpected 'number', got 'boolean' true"`,
			[]any{true, false}},
		{"is_match coerces numbers like mlua", `
return kumo.regex.compile('^\\d+$'):is_match(42)`,
			[]any{true}},
		{"find", `
local re = kumo.regex.compile 'o+'
return re:find 'food', re:find 'fooood', re:find 'bar'`,
			[]any{"oo", "oooo", nil}},
		{"find_all", `
local re = kumo.regex.compile '\\b\\w{13}\\b'
local res = re:find_all 'Retroactively relinquishing remunerations is reprehensible.'
return res, getmetatable(res) == nil, #kumo.regex.compile('x'):find_all('abc')`,
			[]any{[]any{"Retroactively", "relinquishing", "remunerations", "reprehensible"}, true, int64(0)}},
		{"replace", `
local re = kumo.regex.compile '[^01]+'
local named = kumo.regex.compile '(?P<last>[^,\\s]+),\\s+(?P<first>\\S+)'
return re:replace('1078910', ''), named:replace('Springsteen, Bruce', '$first $last'),
  kumo.regex.compile('a'):replace('aaa', 'b'), named:replace('x', 'y')`,
			[]any{"1010", "Bruce Springsteen", "baa", "x"}},
		{"replace_all and replacen", `
local re = kumo.regex.compile '(\\w+)@(\\w+)'
return re:replace_all('a@b c@d', '$2@$1'), re:replacen('a@b c@d e@f', 2, '${1}_'),
  re:replacen('a@b c@d', 0, '[$0]'), re:replace_all('a@b', '$$1')`,
			[]any{"b@a d@c", "a_ c_ e@f", "[a@b] [c@d]", "$1"}},
		{"split", `
local re = kumo.regex.compile '[ \\t]+'
return re:split 'a b \t  c\td    e', kumo.regex.compile(','):split('a,,b'), kumo.regex.compile(','):split('')`,
			[]any{[]any{"a", "b", "c", "d", "e"}, []any{"a", "", "b"}, []any{""}}},
		{"escape", `
local s = 'a.b*c (1+1) [x] ~&-#'
local e = kumo.regex.escape(s)
return e, kumo.regex.compile('^' .. e .. '$'):is_match(s)`,
			[]any{`a\.b\*c \(1\+1\) \[x\] \~\&\-\#`, true}},
		{"tostring", `
return tostring(kumo.regex.compile('a+'))`,
			[]any{`Regex("a+")`}},
		{"inline flags and unicode", `
return kumo.regex.compile('(?i)hello'):is_match('HELLO'), kumo.regex.compile('^\\w+$'):is_match('héllo'),
  kumo.regex.compile('\\bfoo'):is_match('éfoo')`,
			[]any{true, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := runRegex(t, tc.body); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestRegexErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"unclosed group", `return pcall(kumo.regex.compile, 'a(b')`,
			[]string{`"a(b"`, "Opening parenthesis without closing parenthesis"}},
		{"variable look-behind", `return pcall(kumo.regex.compile, '(?<=a+)b')`,
			[]string{`"(?<=a+)b"`, "Look-behind assertion without constant size"}},
		{"bad escape", `return pcall(kumo.regex.compile, '\\q')`,
			[]string{`Invalid escape: \q`}},
		{"unknown property", `return pcall(kumo.regex.compile, '\\p{Klingon}')`,
			[]string{"Unicode property not found"}},
		{"method called with a dot", `local re = kumo.regex.compile('a') return pcall(re.is_match, 'a')`,
			[]string{"Regex expected"}},
		{"missing haystack", `local re = kumo.regex.compile('a') return pcall(re.is_match, re)`,
			[]string{"string expected"}},
		{"negative replacen limit", `local re = kumo.regex.compile('a') return pcall(re.replacen, re, 'a', -1, 'b')`,
			[]string{"non-negative integer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runRegex(t, tc.body)
			if len(got) != 2 || got[0] != false {
				t.Fatalf("pcall returned %#v, want false and an error", got)
			}
			msg, _ := got[1].(string)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestRegexTimeoutRaises(t *testing.T) {
	// A catastrophic pattern that needs the backtracking engine; the
	// default one-second timeout turns it into a Lua error.
	got := runRegex(t, `
local re = kumo.regex.compile '(?=a)(a+)+$'
return pcall(re.is_match, re, string.rep('a', 64) .. 'b')`)
	if len(got) != 2 || got[0] != false {
		t.Fatalf("pcall returned %#v, want a timeout error", got)
	}
	if msg, _ := got[1].(string); !strings.Contains(msg, "timed out") || !strings.Contains(msg, `"(?=a)(a+)+$"`) {
		t.Errorf("error %q does not report the timeout of the pattern", msg)
	}
}
