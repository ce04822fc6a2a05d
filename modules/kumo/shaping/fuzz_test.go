package shaping

import (
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// FuzzParseJSON: arbitrary bytes never panic, and accepted input yields a
// table whose keys and values are all reachable.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":{"b":[1,2,{"c":null}]}}`, "{\n// c\n\"a\":1,}", `{"a":"\u00e9"}`, `[`, `{"a":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _, err := ParseJSON(data)
		if err == nil {
			walk(t, doc)
		}
	})
}

// FuzzParseTOML: arbitrary bytes never panic.
func FuzzParseTOML(f *testing.F) {
	for _, s := range []string{"", "[default]\nconnection_limit = 1\n", "[a.\"b.c\"]\nx = [1, {y = 2}]\n[[a.r]]\nq = 1979-05-27T07:32:00Z\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseTOML(data)
		if err == nil {
			walk(t, doc)
		}
	})
}

func walk(t *testing.T, v any) {
	switch x := v.(type) {
	case *plain.Map:
		if len(x.Keys()) != x.Len() {
			t.Fatal("key list and map disagree")
		}
		for _, k := range x.Keys() {
			child, ok := x.Get(k)
			if !ok {
				t.Fatalf("key %q listed but missing", k)
			}
			walk(t, child)
		}
	case []any:
		for _, e := range x {
			walk(t, e)
		}
	}
}
