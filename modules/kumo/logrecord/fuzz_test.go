package logrecord

import "testing"

// FuzzParseJSON: arbitrary bytes never panic; an accepted record has its
// required fields.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(`{"type":"Bounce"}`))
	f.Add([]byte(`{"recipient":[1,2]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseJSON(data)
		if err == nil && (r.Type == "" || r.NodeID == "") {
			t.Fatalf("accepted a record without required fields: %s", data)
		}
	})
}
