package egress

import "math/bits"

// Error texts of Rust's integer parsing (core::num::ParseIntError), which
// KumoMTA's value grammars embed in their own messages.
const (
	errIntEmpty    = "cannot parse integer from empty string"
	errIntDigit    = "invalid digit found in string"
	errIntOverflow = "number too large to fit in target type"
)

// parseRustUint parses s as Rust's `str::parse::<uN>()` does for an
// unsigned type of the given bit size: ASCII digits with an optional
// leading '+', no whitespace, no separators. On failure it returns Rust's
// error text.
func parseRustUint(s string, bitSize int) (uint64, string) {
	if s == "" {
		return 0, errIntEmpty
	}
	digits := s
	if s[0] == '+' {
		if len(s) == 1 {
			return 0, errIntDigit
		}
		digits = s[1:]
	}
	max := uint64(1)<<uint(bitSize) - 1
	if bitSize >= 64 {
		max = ^uint64(0)
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, errIntDigit
		}
		hi, lo := bits.Mul64(n, 10)
		if hi != 0 {
			return 0, errIntOverflow
		}
		sum, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if carry != 0 || sum > max {
			return 0, errIntOverflow
		}
		n = sum
	}
	return n, ""
}

// removeSeparators drops every '_' and ',' from s, as KumoMTA does to let
// limits be written "1_000" or "1,000".
func removeSeparators(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '_' || s[i] == ',' {
			b := make([]byte, 0, len(s))
			for j := 0; j < len(s); j++ {
				if s[j] != '_' && s[j] != ',' {
					b = append(b, s[j])
				}
			}
			return string(b)
		}
	}
	return s
}
