package kumo_test

import (
	"reflect"
	"strings"
	"testing"
)

func TestStringFunctions(t *testing.T) {
	// The examples of KumoMTA's kumo.string reference.
	got := runRegex(t, `
local s, j = kumo.string, kumo.json_encode
return s.psl_domain 'www.example.com', s.psl_suffix 'www.example.com', s.replace('this is old', 'old', 'new'),
  s.replacen('foo foo 123 foo', 'foo', 'new', 2), j(s.rsplit('Mary had a little lamb', ' ')),
  j(s.rsplitn('Mary had a little lamb', 3, ' ')), j(s.split('Mary had a little lamb', ' ')),
  j(s.split_ascii_whitespace 'Mary had a little lamb'), j(s.split_whitespace 'Mary had a little lamb'),
  j(s.splitn('Mary had a little lamb', 3, ' ')), s.trim '\n Hello\tworld\t\n', s.trim_end '\n Hello\tworld\t\n',
  s.trim_start '\n Hello\tworld\t\n', s.starts_with('hello world', 'hello'), s.ends_with('hello world', 'world'),
  s.wrap 'hello', j(s.split('', ',')), s.psl_domain 'com'`)
	want := []any{"example.com", "com", "this is new", "new new 123 foo", `["lamb","little","a","had","Mary"]`,
		`["lamb","little","Mary had a"]`, `["Mary","had","a","little","lamb"]`, `["Mary","had","a","little","lamb"]`,
		`["Mary","had","a","little","lamb"]`, `["Mary","had","a little lamb"]`, "Hello\tworld", "\n Hello\tworld",
		"Hello\tworld\t\n", true, true, "hello", `[""]`, nil}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	for body, wantErr := range map[string]string{
		`kumo.string.replacen('a', 'a', 'b', -1)`: "non-negative integer expected",
		`kumo.string.split(nil, ',')`:             "string expected",
	} {
		if msg := runLuaErr(t, body); !strings.Contains(msg, wantErr) {
			t.Errorf("%s: %s", body, msg)
		}
	}
}

func TestStringEvalTemplate(t *testing.T) {
	got := runRegex(t, `
local e = kumo.string.eval_template
return e('a.json', '{{ v.list }}', { v = { list = { 1, 'x' } } }), e('a.html', '<{{ s }}>', { s = '<b>' }),
  e('a.txt', '{% for k in l %}{{ k }}{% endfor %}', { l = { 'a', 'b' } }), e('a.txt', 'plain', nil, 'Static'),
  e('a.txt', '{{#if ok}}yes{{/if}}', { ok = true }, 'Handlebars')`)
	want := []any{`[1,"x"]`, "<&lt;b&gt;>", "ab", "plain", "yes"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	for body, wantErr := range map[string]string{
		`kumo.string.eval_template('a', '{{ x', {})`:         `kumo.string.eval_template: template "a"`,
		`kumo.string.eval_template('a', 'x', {}, 'Go')`:      `unknown template dialect "Go"`,
		`kumo.string.eval_template('a', 'x', { 1, 2 })`:      "CONTEXT must be a table of variables, got sequence",
		`kumo.string.eval_template('a', 'x', { f = print })`: "CONTEXT: f: cannot convert a function value to data",
	} {
		if msg := runLuaErr(t, body); !strings.Contains(msg, wantErr) {
			t.Errorf("%s: %s", body, msg)
		}
	}
}

func TestStringNormalizeSMTPResponse(t *testing.T) {
	got := runRegex(t, `return kumo.string.normalize_smtp_response('451 4.7.1 try later <a@b.example> ref=aB3dE5gH7jK9 at 2024-01-02T03:04:05+01:00')`)
	want := []any{"451 4.7.1 try later <{email}> ref={hash} at {timestamp}"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}
