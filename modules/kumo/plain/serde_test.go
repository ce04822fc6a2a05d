package plain

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFormatNumber(t *testing.T) {
	cases := []struct {
		f    float64
		want string
	}{
		{0, "0"},
		{10, "10"},
		{-7, "-7"},
		{math.Copysign(0, -1), "0"},
		{1.5, "1.5"},
		{-1.25, "-1.25"},
		{0.1, "0.1"},
		{1.0 / 3, "0.3333333333333333"},
		{123456.789, "123456.789"},
		{0.00001, "0.00001"},
		{0.0001234, "0.0001234"},
		{1e-7, "1e-7"},
		{-2.5e-7, "-2.5e-7"},
		{1234.5e-10, "1.2345e-7"},
		{1e300, "1e300"},
		{1.5e300, "1.5e300"},
		{9.3e18, "9.3e18"}, // integral but beyond int64
		{9007199254740993, "9007199254740992"},
		{1e15 + 0.5, "1000000000000000.5"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e308"},
	}
	for _, c := range cases {
		if got := FormatNumber(c.f); got != c.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", c.f, got, c.want)
		}
	}
	// Values in the plain-decimal range of 2^63 and above keep a ".0"
	// (ryu's layout) because they are not written as integers.
	if got := formatFloat(1e16); got != "1e16" {
		t.Errorf("formatFloat(1e16) = %q", got)
	}
	if got := formatFloat(1234e7); got != "12340000000.0" {
		t.Errorf("formatFloat(1234e7) = %q", got)
	}
}

func TestStripComments(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a": 1}`, `{"a": 1}`},
		{`{/* c */"a": 1}`, `{       "a": 1}`},
		{"{\"a\": 1, // line\n\"b\": 2}", "{\"a\": 1,        \n\"b\": 2}"},
		{"# hash\n[1]", "      \n[1]"},
		{"/* multi\nline */[]", "        \n       []"},
		{`["//", "#", "/* */", "\"//"]`, `["//", "#", "/* */", "\"//"]`},
		{`/* a * b **/1`, `            1`},
		{`"unterminated // string`, `"unterminated // string`},
		{"1 // no newline at end", "1                     "},
	}
	for _, c := range cases {
		got, err := StripComments([]byte(c.in))
		if err != nil {
			t.Errorf("StripComments(%q): %v", c.in, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("StripComments(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for in, want := range map[string]string{
		"[1,\n /* open":  "unterminated /* comment at line 2 column 2",
		"[1, 2] / 3":     "unexpected '/' (comments are written //, # or /* */) at line 1 column 8",
		"/":              "unexpected '/'",
		"[1] /* a *":     "unterminated /* comment at line 1 column 5",
		"{\"a\": 1}\n/x": "line 2 column 1",
	} {
		_, err := StripComments([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("StripComments(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestParseJSON(t *testing.T) {
	got, _, err := ParseJSON([]byte(`{"i": 9223372036854775807, "u": 18446744073709551615, "f": 2.5, "e": 1e2, "tiny": 1e-400, "n": null, "a": [null]}`), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i": int64(math.MaxInt64), "u": float64(18446744073709551615), "f": 2.5, "e": 100.0,
		"tiny": 0.0, "n": nil, "a": []any{nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	for in, wantErr := range map[string]string{
		"[1, 2":                    "unexpected end of input at line 1 column 6",
		"{\n\n  \"a\" 1}":          "invalid character '1' after object key at line 3 column 7",
		"[1] [2]":                  "trailing characters after the JSON value at line 1 column 5",
		"":                         "expected a JSON value but found end of input at line 1 column 1",
		"-1e999":                   "number -1e999 is out of range",
		strings.Repeat("[", 20000): "exceeded max depth",
	} {
		_, _, err := ParseJSON([]byte(in), ParseOptions{})
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseJSON(%.20q) error = %v, want %q", in, err, wantErr)
		}
	}
}

func TestEncodeJSONGoValues(t *testing.T) {
	type custom struct{ A int }
	cases := []struct {
		v    any
		want string
	}{
		{map[string]any{"t": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, `{"t":"2024-01-02T03:04:05Z"}`},
		{[]string{"a", "b"}, `["a","b"]`},
		{map[string]int{"b": 2, "a": 1}, `{"a":1,"b":2}`},
		{[]int32{1, 2}, `[1,2]`},
		{uint64(math.MaxUint64), `1.8446744073709552e19`}, // beyond int64: a float
		{json.Number("12"), `12`},
		{float32(0.5), `0.5`},
		{float64(10), `10`},
		{[]any(nil), `[]`},
		{[]string(nil), `[]`},
		{(*int)(nil), `null`},
		{map[string]any{"k": []any{nil, true}}, `{"k":[null,true]}`},
	}
	for _, c := range cases {
		got, err := EncodeJSON(c.v)
		if err != nil {
			t.Errorf("EncodeJSON(%#v): %v", c.v, err)
			continue
		}
		if got != c.want {
			t.Errorf("EncodeJSON(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{map[string]any{"c": make(chan int)}, "c: cannot encode a Go value of type chan int"},
		{map[int]string{1: "a"}, "cannot encode a map with int keys"},
		{custom{A: 1}, "cannot encode a Go value of type plain.custom"},
		{[]any{math.NaN()}, "[1]: cannot encode NaN as JSON: JSON numbers must be finite"},
		{map[string]any{"a\xff": 1}, "not valid UTF-8"},
	} {
		_, err := EncodeJSON(c.v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("EncodeJSON(%#v) error = %v, want %q", c.v, err, c.want)
		}
	}
	// A self-referencing Go value is stopped by the depth limit.
	loop := []any{nil}
	loop[0] = loop
	if _, err := EncodeJSON(loop); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("cyclic value: %v", err)
	}
}

func TestParseTOMLTimes(t *testing.T) {
	v, err := ParseTOML([]byte("a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00-07:00\nc = 1979-05-27T07:32:00.25\nd = 1979-05-27\ne = 07:32:00\nf = 1979-05-27 07:32:00Z\n"), false)
	got := v
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": "1979-05-27T07:32:00Z", "b": "1979-05-27T00:32:00-07:00", "c": "1979-05-27T07:32:00.25",
		"d": "1979-05-27", "e": "07:32:00", "f": "1979-05-27T07:32:00Z",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	_, err = ParseTOML([]byte("a = 1\nb = \"open\n"), false)
	se, ok := err.(*SyntaxError)
	if !ok || se.Line != 2 {
		t.Errorf("error %#v, want a SyntaxError on line 2", err)
	}
}

func TestEncodeTOMLErrors(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{map[string]any{"a": []any{int64(1), nil}}, "a[2]: cannot encode nil as TOML (TOML has no null value)"},
		{map[string]any{"t": map[string]any{"a": []any{map[string]any{"x": []any{nil}}}}}, "t.a[1].x[1]: "},
		{[]any{}, "invalid type: sequence, expected a table with string keys (a TOML document)"},
		{nil, "invalid type: nil, expected"},
		{true, "invalid type: boolean `true`, expected"},
	} {
		_, err := EncodeTOML(c.v, TOMLCompact)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("EncodeTOML(%#v) error = %v, want %q", c.v, err, c.want)
		}
	}
	// Nil map entries are left out.
	got, err := EncodeTOML(map[string]any{"a": nil, "b": int64(1), "c": map[string]any{"d": nil}}, TOMLPrettyCompact)
	if err != nil || got != "b = 1\nc = {}\n" {
		t.Errorf("got %q, %v", got, err)
	}
	got, err = EncodeTOML(map[string]any{"x": []any{map[string]any{"d": nil, "e": int64(1)}, int64(2)}}, TOMLCompact)
	if err != nil || got != "x = [{ e = 1 }, 2]\n" {
		t.Errorf("got %q, %v", got, err)
	}
}

// A *Map is written in its own order, at every level; a map[string]any
// with its keys sorted.
func TestEncodeTOMLKeepsMapOrder(t *testing.T) {
	inner := NewMap(2)
	inner.Set("z", int64(1))
	inner.Set("a", int64(2))
	doc := NewMap(5)
	doc.Set("zeta", "first")
	doc.Set("skip", nil)
	doc.Set("alpha", map[string]any{"y": true, "b": false})
	doc.Set("mid", inner)
	doc.Set("beta", []any{inner})
	doc.Set("inline", []any{inner, int64(3)})
	got, err := EncodeTOML(doc, TOMLCompact)
	want := "zeta = \"first\"\ninline = [{ z = 1, a = 2 }, 3]\n\n[alpha]\nb = false\ny = true\n\n[mid]\nz = 1\na = 2\n\n[[beta]]\nz = 1\na = 2\n"
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
}
