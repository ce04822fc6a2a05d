package logrecord

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/tsaload"
)

// kv is one member of an object written out by hand: the key as it
// appears between the quotes, and the value's JSON text.
type kv struct{ k, v string }

func object(members []kv) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + m.k + `":` + m.v)
	}
	b.WriteByte('}')
	return b.String()
}

// with returns members with key's value replaced by v (appended when
// absent); without returns them without key.
func with(members []kv, key, v string) []kv {
	out := append([]kv(nil), members...)
	for i := range out {
		if out[i].k == key {
			out[i].v = v
			return out
		}
	}
	return append(out, kv{key, v})
}

func without(members []kv, key string) []kv {
	var out []kv
	for _, m := range members {
		if m.k != key {
			out = append(out, m)
		}
	}
	return out
}

var (
	baseEnhanced = []kv{{"class", "4"}, {"subject", "7"}, {"detail", "28"}}
	baseResponse = []kv{{"code", "421"}, {"enhanced_code", object(baseEnhanced)}, {"content", `"slow down"`}, {"command", `"."`}}
	baseRecord   = []kv{
		{"type", `"TransientFailure"`}, {"id", `"abc"`}, {"sender", `"s@example.com"`},
		{"recipient", `"user@gmail.com"`}, {"queue", `"gmail.com"`},
		{"site", `"unspecified->(alt1)?.gmail-smtp-in.l.google.com@smtp_client"`}, {"size", "1024"},
		{"response", object(baseResponse)}, {"timestamp", "1700000000"}, {"created", "1699999990"},
		{"num_attempts", "1"}, {"bounce_classification", `"Uncategorized"`}, {"meta", "{}"}, {"headers", "{}"},
		{"nodeid", `"d7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11"`},
		{"event_time", `"2023-11-14T22:13:20.123456789Z"`}, {"egress_source", `"src1"`},
		{"egress_pool", `"pool1"`}, {"reception_protocol", `"ESMTP"`},
	}
	// wrongValues is every kind of JSON value, and the edge cases of each.
	wrongValues = []string{
		`null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `255`, `256`, `65535`, `65536`, `70000`,
		`1.0`, `1e3`, `1E3`, `1.5`, `-1.5`, `1e-400`, `1e400`, `-1e400`,
		`9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `-9223372036854775809`,
		`18446744073709551616`, `123456789012345678`, `1234567890123456789`,
		`""`, `"x"`, `"big"`, `"Bounce"`, `"Nope"`, `"é ✓ 𝄞"`, `"a\u0000b\ud800\"\\\/\b\f\n\r\t"`, "\"bad \xff utf8\"",
		`"d7ef132b5a2a4b2e9b1c6a1b5d4a9a11"`, `"2023-11-14 22:13:20 UTC"`, `"2023-02-30T00:00:00Z"`,
		`[]`, `[ ]`, `["a"]`, `["a","b"]`, `[1]`, `["a",null]`, `[[]]`, `{}`, `{"a":1}`, `{"a":[1,{"b":null}]}`,
		`{"code":250,"content":"ok"}`, `{"class":5,"subject":1,"detail":2}`,
	}
	// brokenTexts are texts the reference path rejects as JSON, or nearly.
	brokenTexts = []string{
		``, ` `, `null`, `[]`, `[1]`, `"x"`, `1`, `{`, `{"broken"`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a" 1}`,
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":.5}`, `{"a":+1}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":[1,]}`, `{"a":[1 2]}`, `{} {}`, `{}x`, "\ufeff{}",
		`{"a":1}}`, `{'a':1}`, `{"a":NaN}`, `{"a":Infinity}`,
	}
)

// diffInputs is the differential test's corpus. declinable holds the
// inputs the fast path may leave to the reference path even when that
// accepts them: an escaped key, nesting deeper than maxFastDepth, or a
// duplicate key whose earlier value has the wrong type.
func diffInputs() (inputs []string, declinable map[string]bool) {
	declinable = map[string]bool{}
	rec := func(m []kv) string { return object(m) }
	mayDecline := func(s string) string { declinable[s] = true; return s }
	inputs = []string{minimal, rec(baseRecord), " \n\t" + rec(baseRecord) + " \r\n"}
	inputs = append(inputs, brokenTexts...)
	for _, b := range brokenTexts {
		if strings.HasPrefix(b, "{") && len(b) > 2 {
			// The same defect inside an otherwise valid record.
			inputs = append(inputs, rec(with(baseRecord, "extra", strings.TrimSuffix(strings.TrimPrefix(b, `{"a":`), "}"))))
		}
	}
	// Every field: absent, each wrong value, duplicated (both orders).
	for _, m := range baseRecord {
		inputs = append(inputs, rec(without(baseRecord, m.k)))
		for _, v := range wrongValues {
			inputs = append(inputs, rec(with(baseRecord, m.k, v)))
			inputs = append(inputs, mayDecline(rec(append([]kv{{m.k, v}}, baseRecord...))))
			inputs = append(inputs, rec(append(append([]kv(nil), baseRecord...), kv{m.k, v})))
		}
	}
	// The response's and the enhanced code's fields likewise.
	for _, m := range baseResponse {
		inputs = append(inputs, rec(with(baseRecord, "response", object(without(baseResponse, m.k)))))
		for _, v := range wrongValues {
			inputs = append(inputs, rec(with(baseRecord, "response", object(with(baseResponse, m.k, v)))))
			inputs = append(inputs, rec(with(baseRecord, "response", object(append(append([]kv(nil), baseResponse...), kv{m.k, v})))))
		}
	}
	for _, m := range baseEnhanced {
		enh := func(e []kv) string {
			return rec(with(baseRecord, "response", object(with(baseResponse, "enhanced_code", object(e)))))
		}
		inputs = append(inputs, enh(without(baseEnhanced, m.k)))
		for _, v := range wrongValues {
			inputs = append(inputs, enh(with(baseEnhanced, m.k, v)))
			inputs = append(inputs, mayDecline(enh(append([]kv{{m.k, v}}, baseEnhanced...))))
		}
	}
	// Unknown fields of every kind, at each level.
	for _, v := range wrongValues {
		inputs = append(inputs,
			rec(with(baseRecord, "unknown", v)),
			rec(with(baseRecord, "response", object(with(baseResponse, "unknown", v)))),
			rec(with(baseRecord, "meta", `{"k":`+v+`}`)),
			rec(with(baseRecord, "headers", `{"Subject":`+v+`,"X":[`+v+`]}`)))
	}
	// Escaped and odd keys, white space everywhere, deep nesting.
	inputs = append(inputs,
		mayDecline(rec(with(without(baseRecord, "type"), `typ\u0065`, `"Bounce"`))),
		mayDecline(rec(with(baseRecord, `\u0074ype`, `"Nope"`))),
		rec(with(baseRecord, "Type", `"Nope"`)),
		rec(with(baseRecord, "TYPE", `"Bounce"`)),
		rec(with(baseRecord, "type\xff", `"Nope"`)),
		rec(with(baseRecord, "meta", `{"\u00e9\n":1,"\xff":2}`)),
		strings.NewReplacer(`{`, " {\n ", `,`, " ,\t", `:`, "\r: ", `}`, " } ").Replace(rec(baseRecord)),
		rec(with(baseRecord, "meta", strings.Repeat("[", 300)+strings.Repeat("]", 300))),
		rec(with(baseRecord, "meta", `[`+strings.Repeat(" ", 3)+`]`)),
		mayDecline(rec(with(baseRecord, "meta", `{"a":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}`))),
		rec(with(baseRecord, "meta", `{"a":`+strings.Repeat(`{"b":`, 150)+"1"+strings.Repeat("}", 150)+`}`)),
		rec(with(baseRecord, "meta", `{"a":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`)),
	)
	return inputs, declinable
}

// checkSame requires ParseJSON and parseFast to agree with the reference
// path, parseSlow, on data: the same Record or the same error text. It
// reports whether the fast path accepted data.
func checkSame(t testing.TB, data []byte) bool {
	t.Helper()
	want, wantErr := parseSlow(data)
	fast, fastOK := parseFast(data)
	if fastOK {
		if wantErr != nil {
			t.Fatalf("%q: fast path accepted what the reference rejects (%v): %+v", data, wantErr, fast)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast path's record differs:\n fast %+v\n slow %+v", data, fast, want)
		}
	}
	got, err := ParseJSON(data)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("%q: ParseJSON error %v, reference %v", data, err, wantErr)
	case err != nil && err.Error() != wantErr.Error():
		t.Fatalf("%q: ParseJSON error %q, reference %q", data, err, wantErr)
	case !reflect.DeepEqual(got, want):
		t.Fatalf("%q: ParseJSON record %+v, reference %+v", data, got, want)
	}
	return fastOK
}

// TestFastPathMatchesReference runs the corpus through both paths. Beyond
// agreeing, the fast path must take every record the reference accepts,
// except the declinable ones.
func TestFastPathMatchesReference(t *testing.T) {
	var accepted, fast int
	inputs, declinable := diffInputs()
	for _, in := range inputs {
		data := []byte(in)
		fastOK := checkSame(t, data)
		if _, err := parseSlow(data); err == nil {
			accepted++
			if !fastOK && !declinable[in] {
				t.Errorf("%q: accepted by the reference but not by the fast path", in)
			}
		}
		if fastOK {
			fast++
		}
	}
	// The corpus must exercise both outcomes well.
	if accepted < 100 || fast < 100 {
		t.Fatalf("only %d records accepted, %d by the fast path", accepted, fast)
	}
	t.Logf("%d inputs, %d accepted, %d by the fast path", len(inputs), accepted, fast)
}

// Duplicate keys: the last one wins, as in the reference path, whether
// the earlier one was valid or not (the fast path leaves an earlier one of
// the wrong type to the reference path).
func TestDuplicateKeysLastWins(t *testing.T) {
	for _, c := range []struct {
		members []kv
		check   func(*Record) bool
	}{
		{append(append([]kv(nil), baseRecord...), kv{"size", "7"}), func(r *Record) bool { return r.Size == 7 }},
		{append([]kv{{"size", "1"}}, baseRecord...), func(r *Record) bool { return r.Size == 1024 }},
		{append(append([]kv(nil), baseRecord...), kv{"egress_source", "null"}), func(r *Record) bool { return !r.EgressSourceSet && r.EgressSource == "" }},
		{with(baseRecord, "response", object(append(append([]kv(nil), baseResponse...), kv{"enhanced_code", "null"}))), func(r *Record) bool { return r.Response.Enhanced == nil }},
	} {
		data := []byte(object(c.members))
		if !checkSame(t, data) {
			t.Errorf("%s: fast path declined", data)
		}
		r, err := ParseJSON(data)
		if err != nil || !c.check(r) {
			t.Errorf("%s: %+v %v", data, r, err)
		}
	}
	data := []byte(object(append([]kv{{"size", `"big"`}}, baseRecord...)))
	checkSame(t, data)
	if r, err := ParseJSON(data); err != nil || r.Size != 1024 {
		t.Errorf("%s: %+v %v", data, r, err)
	}
	// A duplicate required field whose last value is null is missing.
	data = []byte(object(append(append([]kv(nil), baseRecord...), kv{"site", "null"})))
	checkSame(t, data)
	if _, err := ParseJSON(data); err == nil || err.Error() != "missing field `site`" {
		t.Errorf("null site after a valid one: %v", err)
	}
}

func TestEgressSourceSet(t *testing.T) {
	for v, want := range map[string]bool{`""`: true, `"a"`: true, `null`: false} {
		r, err := ParseJSON([]byte(object(with(baseRecord, "egress_source", v))))
		if err != nil || r.EgressSourceSet != want {
			t.Errorf("egress_source %s: %+v %v", v, r, err)
		}
	}
	r, err := ParseJSON([]byte(object(without(baseRecord, "egress_source"))))
	if err != nil || r.EgressSourceSet {
		t.Errorf("absent egress_source: %+v %v", r, err)
	}
}

// The benchmark's fixture is the load generator's record.
func TestTortureFixture(t *testing.T) {
	fixture := tortureFixture(t)
	if want := tsaload.TortureRecord(time.Unix(1700000000, 0), ""); !bytes.Equal(bytes.TrimSpace(fixture), want) {
		t.Fatalf("testdata/tsa-torture.json is not tsaload.TortureRecord's record:\n%s\n%s", fixture, want)
	}
	if !checkSame(t, fixture) {
		t.Fatal("the fast path declined the torture record")
	}
}

func tortureFixture(t testing.TB) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", "tsa-torture.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// BenchmarkParseJSON compares the fast path with the reference path on
// the record KumoMTA's tsa-torture load script posts.
func BenchmarkParseJSON(b *testing.B) {
	data := tortureFixture(b)
	for _, c := range []struct {
		name  string
		parse func([]byte) (*Record, error)
	}{{"fast", ParseJSON}, {"slow", parseSlow}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
