package shaping

import "github.com/kumopolicy/kumopolicy/modules/kumo/plain"

// ParseTOML parses a shaping file's TOML text into an ordered table (see
// plain.ParseTOML).
func ParseTOML(data []byte) (*plain.Map, error) {
	doc, err := plain.ParseTOML(data, true)
	if err != nil {
		return nil, err
	}
	return doc.(*plain.Map), nil
}

// jsonOptions read shaping files: one object, order kept, null and
// duplicate keys rejected. Comments and trailing commas are accepted
// (KumoMTA's shaping loader rejects both; the returned plain.Leniency says
// whether they were present so callers can warn).
var jsonOptions = plain.ParseOptions{
	Ordered:        true,
	Object:         true,
	Comments:       true,
	TrailingCommas: true,
	NullError:      "null is not allowed in shaping data",
	UniqueKeys:     true,
}

// ParseJSON parses a shaping file's JSON text into an ordered table (see
// jsonOptions).
func ParseJSON(data []byte) (*plain.Map, plain.Leniency, error) {
	doc, lenient, err := plain.ParseJSON(data, jsonOptions)
	if err != nil {
		return nil, lenient, err
	}
	return doc.(*plain.Map), lenient, nil
}
