package plain

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Dialect selects the escaping rules of AppendQuoted.
type Dialect int

const (
	// Rust is Rust's Debug for str, as KumoMTA's messages show strings:
	// `\"`, `\\`, `\n`, `\r`, `\t`, `\0`, other non-printable characters as
	// `\u{7f}`; printable Unicode kept. Invalid UTF-8 bytes (which a Rust
	// str cannot hold) become `\xff`.
	Rust Dialect = iota
	// JSON is serde_json's string escaping: `\"`, `\\`, `\b`, `\f`, `\n`,
	// `\r`, `\t`, other control characters as `\u001f`; nothing else (no
	// HTML escaping). Invalid UTF-8 bytes become `\u00ff`, which no valid
	// character is written as, so distinct byte strings stay distinct.
	JSON
	// TOML is a TOML basic string: `\"`, `\\`, `\b`, `\t`, `\n`, `\f`,
	// `\r`, other control characters and DEL as `\u007F`. Invalid UTF-8
	// bytes become `\u00FF`.
	TOML
)

// Quote returns s quoted as Rust's Debug does (see Rust).
func Quote(s string) string {
	return string(AppendQuoted(make([]byte, 0, len(s)+2), s, Rust))
}

const hexLower, hexUpper = "0123456789abcdef", "0123456789ABCDEF"

// AppendQuoted appends s, quoted and escaped in dialect d, to dst. It is
// kumopolicy's one string escaper: messages, the JSON and TOML writers and
// memoize keys all quote through it.
func AppendQuoted(dst []byte, s string, d Dialect) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		size := 1
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			size = n
			if r != utf8.RuneError || n != 1 {
				if d != Rust || unicode.IsPrint(r) {
					i += n
					continue
				}
				dst = append(dst, s[start:i]...)
				dst = fmt.Appendf(dst, `\u{%x}`, r)
				i += n
				start = i
				continue
			}
			// An invalid UTF-8 byte.
			dst = append(dst, s[start:i]...)
			switch d {
			case Rust:
				dst = append(dst, '\\', 'x', hexLower[c>>4], hexLower[c&0xf])
			case JSON:
				dst = append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xf])
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xf])
			}
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscape(dst, c, d)
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscape escapes one ASCII byte: a quote, a backslash, a control
// character or DEL.
func appendEscape(dst []byte, c byte, d Dialect) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	switch d {
	case Rust:
		if c == 0 {
			return append(dst, '\\', '0')
		}
		return fmt.Appendf(dst, `\u{%x}`, c)
	case JSON:
		switch c {
		case '\b':
			return append(dst, '\\', 'b')
		case '\f':
			return append(dst, '\\', 'f')
		case 0x7f:
			return append(dst, c)
		}
		return append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xf])
	default:
		switch c {
		case '\b':
			return append(dst, '\\', 'b')
		case '\f':
			return append(dst, '\\', 'f')
		}
		return append(dst, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xf])
	}
}
