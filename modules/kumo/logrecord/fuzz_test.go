package logrecord

import "testing"

// FuzzParseJSON: arbitrary bytes never panic; an accepted record has its
// required fields; the fast path accepts only what the reference path
// accepts, with the same Record, and ParseJSON's record or error text is
// the reference path's.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(`{"type":"Bounce"}`))
	f.Add([]byte(`{"recipient":[1,2]}`))
	f.Add([]byte(object(baseRecord)))
	f.Add([]byte(object(with(baseRecord, "meta", `{"a":[1e3,-0.5,"\u00e9",null,true]}`))))
	f.Add([]byte(object(append([]kv{{"size", "1.0"}}, baseRecord...))))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseJSON(data)
		if err == nil && (r.Type == "" || r.NodeID == "") {
			t.Fatalf("accepted a record without required fields: %s", data)
		}
		checkSame(t, data)
	})
}
