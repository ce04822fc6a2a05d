package plain

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Describe describes a value as serde does in its messages:
// "boolean `true`", "integer `5`", "floating point `5.5`", `string "x"`
// (quoted as Quote does), "sequence", "map", and "nil" (the word Lua
// users know; serde would say "Option value").
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case bool:
		return "boolean `" + strconv.FormatBool(x) + "`"
	case int64:
		return "integer `" + strconv.FormatInt(x, 10) + "`"
	case uint64:
		return "integer `" + strconv.FormatUint(x, 10) + "`"
	case int:
		return "integer `" + strconv.Itoa(x) + "`"
	case float64:
		return "floating point `" + FormatRustFloat(x) + "`"
	case string:
		return "string " + Quote(x)
	case []any:
		return "sequence"
	case map[string]any, *Map:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

// FormatRustFloat renders f as serde's messages do (Rust's Display for
// f64): no exponent, and a ".0" on integral values; NaN, inf and -inf.
func FormatRustFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
