// Package plain is kumopolicy's one plain-data layer: the value model every
// Lua-free core shares, the ordered map, strict decoding with
// path-qualified errors, value descriptions, one string quoter, and the
// JSON and TOML readers and writers.
//
// # The value model
//
// Plain data is what luart.ToGo produces and what the parsers here
// produce: nil, bool, int64, float64, string, []any, map[string]any (key
// order not kept) and *Map (key order kept). Integral numbers are int64 so
// that `connection_limit = 10` is written back as 10, not 10.0; a float64
// is never accepted where an integer is expected. Decoders also take int
// and uint64 for Go callers.
//
// # Errors
//
// Decoding errors are *Error values: a serde-style message, as KumoMTA
// reports it (its Lua helpers match on "invalid type", "unknown field"
// ...), and the path of the offending value inside the input, rendered as
// a prefix. Sequence indexes are 1-based, as in Lua:
//
//	max_ready: invalid type: floating point `5.5`, expected usize
//	entries[2].weight: invalid value: integer `-1`, expected u32
//	[3]: invalid type: boolean `true`, expected a string
//
// The writers report values they cannot encode with the same syntax.
//
// Package plain imports nothing of kumopolicy and nothing of Lua.
package plain
