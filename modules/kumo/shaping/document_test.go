package shaping

import (
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseTOMLKeepsOrder(t *testing.T) {
	doc, err := ParseTOML([]byte(fixture(t, "order.toml")))
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Keys(); !reflect.DeepEqual(got, []string{"zeta.com", "default", "alpha.com", "provider", "middle.com"}) {
		t.Fatalf("top-level order %v", got)
	}
	z, _ := doc.Get("zeta.com")
	if got := z.(*plain.Map).Keys(); !reflect.DeepEqual(got, []string{"mx_rollup", "connection_limit"}) {
		t.Fatalf("domain key order %v", got)
	}
	p, _ := doc.Get("provider")
	if got := p.(*plain.Map).Keys(); !reflect.DeepEqual(got, []string{"yahoo", "gmail"}) {
		t.Fatalf("provider order %v", got)
	}
	gm, _ := p.(*plain.Map).Get("gmail")
	rules, _ := gm.(*plain.Map).Get("automation")
	arr := rules.([]any)
	if len(arr) != 2 {
		t.Fatalf("rules %v", arr)
	}
	if r, _ := arr[1].(*plain.Map).Get("regex"); r != "second" {
		t.Fatalf("rule order lost: %v", r)
	}
	m, _ := doc.Get("middle.com")
	srcs, _ := m.(*plain.Map).Get("sources")
	if got := srcs.(*plain.Map).Keys(); !reflect.DeepEqual(got, []string{"ip-2", "ip-1"}) {
		t.Fatalf("sources order %v", got)
	}
	d, _ := doc.Get("default")
	if v, _ := d.(*plain.Map).Get("connection_limit"); v != int64(10) {
		t.Fatalf("integer became %T %v", v, v)
	}
}

func TestParseTOMLErrorHasPosition(t *testing.T) {
	_, err := ParseTOML([]byte("[default]\nconnection_limit = = 3\n"))
	if err == nil || !strings.Contains(err.Error(), "at line 2 column") {
		t.Fatalf("got %v", err)
	}
}

func TestParseJSONOrderAndLeniency(t *testing.T) {
	doc, lenient, err := ParseJSON([]byte(`{
  "z.com": {"connection_limit": 2},
  "default": {"connection_limit": 10, "rate": 1.5},
  "a.com": {"max_message_rate": "10/s"}
}`))
	if err != nil {
		t.Fatal(err)
	}
	if lenient.Any() {
		t.Fatalf("strict JSON reported leniency %v", lenient)
	}
	if got := doc.Keys(); !reflect.DeepEqual(got, []string{"z.com", "default", "a.com"}) {
		t.Fatalf("order %v", got)
	}
	d, _ := doc.Get("default")
	if v, _ := d.(*plain.Map).Get("connection_limit"); v != int64(10) {
		t.Fatalf("integer became %T", v)
	}
	if v, _ := d.(*plain.Map).Get("rate"); v != 1.5 {
		t.Fatalf("float became %T %v", v, v)
	}

	doc, lenient, err = ParseJSON([]byte(`{
  // a comment
  "a.com": {"connection_limit": 2,}, # another
  "list": [1, 2, "x,]",],
}`))
	if err != nil {
		t.Fatal(err)
	}
	if !lenient.Comments || !lenient.TrailingCommas || lenient.String() != "comments and trailing commas" {
		t.Fatalf("leniency not reported: %+v", lenient)
	}
	l, _ := doc.Get("list")
	if !reflect.DeepEqual(l, []any{int64(1), int64(2), "x,]"}) {
		t.Fatalf("list %v", l)
	}
}

func TestParseJSONErrors(t *testing.T) {
	cases := map[string]string{
		`[1]`:                    "expected a JSON object",
		`{"a": 1} x`:             "line 1 column",
		"{\n\"a\": }":            "line 2 column",
		`{"a": 1, "a": 2}`:       `duplicate key "a"`,
		`{"a": null}`:            "null is not allowed",
		``:                       "found end of input",
		`{"a": 1e999}`:           "out of range",
		"{\"a\": {\"b\": [1,\n}": "line 2",
	}
	for in, want := range cases {
		_, _, err := ParseJSON([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func TestTableEditing(t *testing.T) {
	tb := plain.NewMap(0)
	tb.Set("b", int64(1))
	tb.Set("a", plain.NewMap(0))
	tb.Set("b", int64(2))
	c := tb.Clone()
	tb.Delete("b")
	if !reflect.DeepEqual(tb.Keys(), []string{"a"}) || !reflect.DeepEqual(c.Keys(), []string{"b", "a"}) {
		t.Fatalf("%v %v", tb.Keys(), c.Keys())
	}
	if p := c.Plain(true); p["b"] != int64(2) {
		t.Fatalf("%v", p)
	}
}

// upstreamData returns a file from ../shared/upstream-data (a skip on a
// clone without it, a failure in CI).
func upstreamData(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(sharedref.UpstreamData(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseUpstreamShapingFiles(t *testing.T) {
	for _, name := range []string{"policy-extras-shaping.toml", "community-shaping.toml", "integration-shaping.toml"} {
		t.Run(name, func(t *testing.T) {
			doc, err := ParseTOML(upstreamData(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if doc.Len() == 0 {
				t.Fatal("no top-level keys")
			}
			if _, ok := doc.Get("default"); !ok && name == "policy-extras-shaping.toml" {
				t.Errorf("no default block; keys %v", doc.Keys()[:min(5, doc.Len())])
			}
		})
	}
}
