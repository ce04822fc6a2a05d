package plain

import (
	"math"
	"testing"
	"time"
)

// TOMLEdit writes scalars as toml_edit displays them; the other styles keep
// their escaped basic strings and integral floats as integers.
func TestAppendTOMLValueEdit(t *testing.T) {
	m := NewMap(0)
	m.Set("a b", 1.5)
	m.Set(`q"k`, []any{"x'y", "t\tab", "n\nl", `b\s`, "\x7f", int64(-3)})
	m.Set("", NewMap(0))
	for _, c := range []struct {
		v          any
		edit, comp string
	}{
		{1.0, "1.0", "1"},
		{-2.0, "-2.0", "-2"},
		{1e-7, "0.0000001", "1e-7"},
		{1e17, "100000000000000000.0", "100000000000000000"},
		{123.456, "123.456", "123.456"},
		{math.NaN(), "nan", "nan"},
		{math.Inf(-1), "-inf", "-inf"},
		{int64(3), "3", "3"},
		{3, "3", "3"},
		{true, "true", "true"},
		{"plain é", `"plain é"`, `"plain é"`},
		{`a"b`, `'a"b'`, `"a\"b"`},
		{`a\b`, `'a\b'`, `"a\\b"`},
		{"tab\t", "'tab\t'", `"tab\t"`},
		{`a'"b`, `"a'\"b"`, `"a'\"b"`},
		{"a\nb", `"a\nb"`, `"a\nb"`},
		{"\x01", `"\u0001"`, `"\u0001"`},
		{[]any{}, "[]", "[]"},
		{[]any{1.0, int64(2), "s"}, `[1.0, 2, "s"]`, `[1, 2, "s"]`},
		{NewMap(0), "{}", "{}"},
		{m, `{ "a b" = 1.5, 'q"k' = ["x'y", 't	ab', "n\nl", 'b\s', "\u007F", -3], "" = {} }`,
			`{ "a b" = 1.5, "q\"k" = ["x'y", "t\tab", "n\nl", "b\\s", "\u007F", -3], "" = {} }`},
		{time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC), "2020-01-02T03:04:05.0000006Z", `"2020-01-02T03:04:05.0000006Z"`},
	} {
		for _, s := range []struct {
			style TOMLStyle
			want  string
		}{{TOMLEdit, c.edit}, {TOMLCompact, c.comp}} {
			got, err := AppendTOMLValue([]byte("x = "), c.v, s.style)
			if err != nil || string(got) != "x = "+s.want {
				t.Errorf("AppendTOMLValue(%#v, %d) = %q, %v; want %q", c.v, s.style, got, err, "x = "+s.want)
			}
		}
	}
	if got, err := AppendTOMLValue([]byte("x = "), []any{int64(1), nil}, TOMLEdit); err == nil || string(got) != "x = " {
		t.Errorf("nil array element: %q, %v", got, err)
	}
}

func TestAppendTOMLKeyAndHeader(t *testing.T) {
	for k, want := range map[string][2]string{
		"bare_K-1": {"bare_K-1", "bare_K-1"},
		"":         {`""`, `""`},
		"a.b":      {`"a.b"`, `"a.b"`},
		`q"`:       {`'q"'`, `"q\""`},
		`'"`:       {`"'\""`, `"'\""`},
	} {
		if got := string(AppendTOMLKey(nil, k, TOMLEdit)); got != want[0] {
			t.Errorf("edit key %q: %s, want %s", k, got, want[0])
		}
		if got := string(AppendTOMLKey(nil, k, TOMLCompact)); got != want[1] {
			t.Errorf("compact key %q: %s, want %s", k, got, want[1])
		}
	}
	if got := string(AppendTOMLHeader(nil, []string{"a.example", "sources", `s"`}, false, TOMLEdit)); got != "[\"a.example\".sources.'s\"']\n" {
		t.Errorf("header %q", got)
	}
	if got := string(AppendTOMLHeader(nil, []string{"a", "b"}, true, TOMLCompact)); got != "[[a.b]]\n" {
		t.Errorf("array header %q", got)
	}
}

// EncodeTOML lays a TOMLEdit document out like TOMLCompact.
func TestEncodeTOMLEdit(t *testing.T) {
	got, err := EncodeTOML(map[string]any{"f": 2.0, "t": map[string]any{`k"`: `v\`}}, TOMLEdit)
	if want := "f = 2.0\n\n[t]\n'k\"' = 'v\\'\n"; err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}
