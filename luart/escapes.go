package luart

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// rewriteEscapes translates the string escapes Lua 5.2+ added, which
// gopher-lua's 5.1 lexer does not know (it silently drops the backslash):
// `\xNN` and `\u{XXX}` become decimal `\ddd` escapes, and `\z` removes the
// following white space when it stays on the same line. A `\z` that would
// join lines is reported as an error, because removing the newlines would
// shift the line numbers of everything after it. Comments and long strings
// are left alone. Sources without a backslash are returned unchanged.
func rewriteEscapes(src []byte, name string) ([]byte, error) {
	if bytes.IndexByte(src, '\\') < 0 {
		return src, nil
	}
	var out []byte // allocated on the first rewrite
	line := 1
	emit := func(upto int, rep []byte, last *int) {
		if out == nil {
			out = make([]byte, 0, len(src)+16)
		}
		out = append(out, src[*last:upto]...)
		out = append(out, rep...)
	}
	last := 0
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			i += 2
			if lvl, ok := longBracket(src, i); ok {
				end := findLongClose(src, i+lvl+2, lvl)
				line += bytes.Count(src[i:end], []byte{'\n'})
				i = end
			} else {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			}
		case c == '[':
			if lvl, ok := longBracket(src, i); ok {
				end := findLongClose(src, i+lvl+2, lvl)
				line += bytes.Count(src[i:end], []byte{'\n'})
				i = end
			} else {
				i++
			}
		case c == '"' || c == '\'':
			quote := c
			i++
			for i < len(src) && src[i] != quote && src[i] != '\n' {
				if src[i] != '\\' || i+1 >= len(src) {
					i++
					continue
				}
				start := i
				switch src[i+1] {
				case 'x':
					if i+3 < len(src) && isHex(src[i+2]) && isHex(src[i+3]) {
						v, _ := strconv.ParseUint(string(src[i+2:i+4]), 16, 8)
						emit(start, []byte(fmt.Sprintf("\\%03d", v)), &last)
						i += 4
						last = i
						continue
					}
					return nil, &SyntaxError{File: name, Line: line, Message: "hexadecimal digit expected in \\x escape", Near: string(src[start:min(start+4, len(src))])}
				case 'u':
					j := i + 2
					if j < len(src) && src[j] == '{' {
						k := j + 1
						for k < len(src) && isHex(src[k]) {
							k++
						}
						if k < len(src) && src[k] == '}' && k > j+1 {
							v, err := strconv.ParseUint(string(src[j+1:k]), 16, 32)
							if err == nil && v <= 0x7FFFFFFF {
								var rep []byte
								for _, b := range utf8Bytes(uint32(v)) {
									rep = append(rep, []byte(fmt.Sprintf("\\%03d", b))...)
								}
								emit(start, rep, &last)
								i = k + 1
								last = i
								continue
							}
						}
					}
					return nil, &SyntaxError{File: name, Line: line, Message: "malformed \\u{XXX} escape", Near: string(src[start:min(start+8, len(src))])}
				case 'z':
					k := i + 2
					for k < len(src) && (src[k] == ' ' || src[k] == '\t' || src[k] == '\r' || src[k] == '\n' || src[k] == '\f' || src[k] == '\v') {
						if src[k] == '\n' {
							return nil, &SyntaxError{File: name, Line: line, Message: "a \\z escape that joins lines is not supported by kumopolicy (it would shift line numbers); use .. to join the pieces", Near: "\\z"}
						}
						k++
					}
					emit(start, nil, &last)
					i = k
					last = i
					continue
				case '\n':
					line++
				}
				i += 2
			}
			i++ // closing quote (or the newline of an unfinished string)
		default:
			i++
		}
	}
	if out == nil {
		return src, nil
	}
	return append(out, src[last:]...), nil
}

// longBracket reports whether src[i:] opens a long bracket `[=*[` and its level.
func longBracket(src []byte, i int) (int, bool) {
	if i >= len(src) || src[i] != '[' {
		return 0, false
	}
	j := i + 1
	for j < len(src) && src[j] == '=' {
		j++
	}
	if j < len(src) && src[j] == '[' {
		return j - i - 1, true
	}
	return 0, false
}

// findLongClose returns the index just past the `]=*]` of the given level.
func findLongClose(src []byte, from, level int) int {
	closeSeq := append(append([]byte{']'}, bytes.Repeat([]byte{'='}, level)...), ']')
	if k := bytes.Index(src[from:], closeSeq); k >= 0 {
		return from + k + len(closeSeq)
	}
	return len(src)
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// utf8Bytes encodes v as Lua 5.4 does: UTF-8, extended to 6 bytes for
// values past U+10FFFF.
func utf8Bytes(v uint32) []byte {
	if v <= utf8.MaxRune && (v < 0xD800 || v > 0xDFFF) {
		return []byte(string(rune(v)))
	}
	// Surrogates and values past U+10FFFF: encode the bit pattern directly.
	var buf [6]byte
	n := 0
	limit := uint32(0x3f)
	x := v
	for x > limit {
		buf[5-n] = byte(0x80 | (x & 0x3f))
		x >>= 6
		limit >>= 1
		n++
	}
	buf[5-n] = byte((^limit << 1) | x)
	return append([]byte(nil), buf[5-n:]...)
}
