package plain

import (
	"fmt"
	"reflect"
	"testing"
)

func TestMapOrderAndIndex(t *testing.T) {
	// Past indexThreshold keys lookups go through the index; Set, Delete
	// and Clone must keep it in step with the order.
	for _, n := range []int{3, indexThreshold + 5} {
		m := NewMap(0)
		var want []string
		for i := range n {
			k := fmt.Sprintf("k%d", n-i)
			m.Set(k, int64(i))
			want = append(want, k)
		}
		m.Set(want[1], "replaced")
		if !reflect.DeepEqual(m.Keys(), want) {
			t.Fatalf("n=%d keys %q, want %q", n, m.Keys(), want)
		}
		m.Delete(want[0])
		m.Delete("absent")
		want = want[1:]
		if !reflect.DeepEqual(m.Keys(), want) || m.Has(want[0]) != true || m.Value(want[0]) != "replaced" {
			t.Fatalf("n=%d after delete: %q %v", n, m.Keys(), m.Value(want[0]))
		}
		for i, k := range want {
			if v, ok := m.Get(k); !ok || (i > 0 && v != int64(i+1)) {
				t.Fatalf("n=%d Get(%s) = %v, %v", n, k, v, ok)
			}
		}
		c := m.Clone()
		c.Set(want[0], "changed")
		c.Set("new", true)
		if m.Value(want[0]) != "replaced" || m.Has("new") || !c.Has("new") {
			t.Fatalf("n=%d clone shares storage", n)
		}
	}
}

func TestMapPlainAndJSON(t *testing.T) {
	inner := NewMap(2)
	inner.Set("z", int64(1))
	inner.Set("a", nil)
	m := NewMap(2)
	m.Set("b", []any{inner, "x<y"})
	m.Set("a", 1.5)
	if got := m.Plain(false); !reflect.DeepEqual(got, map[string]any{"b": []any{map[string]any{"z": int64(1)}, "x<y"}, "a": 1.5}) {
		t.Errorf("Plain(false) = %#v", got)
	}
	if got := m.Plain(true)["b"].([]any)[0].(map[string]any); len(got) != 2 {
		t.Errorf("Plain(true) dropped a nil: %#v", got)
	}
	b, err := m.MarshalJSON()
	if err != nil || string(b) != `{"b":[{"z":1,"a":null},"x<y"],"a":1.5}` {
		t.Errorf("MarshalJSON = %s, %v", b, err)
	}
}

func TestAppendQuoted(t *testing.T) {
	s := "a\"\\\n\t\x00\x1f\x7f\u00e9\u200b\xff"
	cases := map[Dialect]string{
		Rust: `"a\"\\\n\t\0\u{1f}\u{7f}é\u{200b}\xff"`,
		JSON: `"a\"\\\n\t\u0000\u001f` + "\x7f\u00e9\u200b" + `\u00ff"`,
		TOML: `"a\"\\\n\t\u0000\u001F\u007F` + "\u00e9\u200b" + `\u00FF"`,
	}
	for d, want := range cases {
		if got := string(AppendQuoted(nil, s, d)); got != want {
			t.Errorf("dialect %d: got %s, want %s", d, got, want)
		}
	}
	if got := Quote("plain"); got != `"plain"` {
		t.Errorf("Quote = %s", got)
	}
}

func TestAppendJSONOptions(t *testing.T) {
	v := []any{"\xff", 1e-7, nil}
	if got, err := EncodeJSON(v); err != nil || got != `[[255],1e-7,null]` {
		t.Errorf("EncodeJSON = %s, %v", got, err)
	}
	got, err := AppendJSON(nil, []any{"\xff", float64(2), nanValue()}, JSONOptions{EscapeBytes: true, NonFiniteNull: true})
	if err != nil || string(got) != `["\u00ff",2,null]` {
		t.Errorf("options: %s, %v", got, err)
	}
	if _, err := EncodeJSON(map[string]any{"a": []any{1, map[string]any{"n": nanValue()}}}); err == nil || err.Error() != "a[2].n: cannot encode NaN as JSON: JSON numbers must be finite" {
		t.Errorf("NaN error = %v", err)
	}
	if got, err := EncodeJSONPretty(map[string]any{"b": []any{}, "a": []int{1, 2}}); err != nil || got != "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": []\n}" {
		t.Errorf("pretty = %q, %v", got, err)
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}
