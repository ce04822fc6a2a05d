package luart

import (
	lua "github.com/yuin/gopher-lua"
)

// Lua 5.4's utf8 library. Strings are bytes; a code point is decoded as
// Lua decodes it: sequences of up to six bytes (up to 0x7FFFFFFF) in lax
// mode, and in strict mode (the default) only up to 0x10FFFF and no
// surrogates.

const utf8Invalid = "invalid UTF-8 code"

func isContinuation(b byte) bool { return b&0xC0 == 0x80 }

// utf8Decode decodes the sequence starting at s[i]; size 0 means invalid.
func utf8Decode(s string, i int, strict bool) (code uint32, size int) {
	c := s[i]
	if c < 0x80 {
		return uint32(c), 1
	}
	// The lead byte's high bits after the first say how many continuation
	// bytes follow; each must be 10xxxxxx.
	var res uint32
	n := 0
	for lead := c; lead&0x40 != 0; lead <<= 1 {
		n++
		if i+n >= len(s) || !isContinuation(s[i+n]) {
			return 0, 0
		}
		res = res<<6 | uint32(s[i+n]&0x3F)
	}
	if n == 0 || n > 5 {
		return 0, 0
	}
	res |= uint32(c&(0x3F>>n)) << (6 * n)
	// The smallest code point that needs n continuation bytes: anything
	// smaller is an overlong encoding.
	minimum := [...]uint32{0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000}[n]
	if res < minimum || res > 0x7FFFFFFF {
		return 0, 0
	}
	if strict && (res > 0x10FFFF || (res >= 0xD800 && res <= 0xDFFF)) {
		return 0, 0
	}
	return res, n + 1
}

// utf8Encode writes a code point up to 0x7FFFFFFF as Lua does.
func utf8Encode(code uint32) string {
	if code < 0x80 {
		return string([]byte{byte(code)})
	}
	var buf [8]byte
	i := len(buf)
	limit := uint32(0x3F) // the largest value the lead byte can still hold
	for code > limit {
		i--
		buf[i] = byte(0x80 | code&0x3F)
		code >>= 6
		limit >>= 1
	}
	i--
	buf[i] = byte((^limit << 1) | code)
	return string(buf[i:])
}

// bytePosition converts a Lua string position (negative counts from the
// end) to 1-based, as posrelat does.
func bytePosition(pos int64, length int) int64 {
	switch {
	case pos >= 0:
		return pos
	case -pos > int64(length):
		return 0
	default:
		return int64(length) + pos + 1
	}
}

func utf8Char(L *lua.LState) int {
	n := L.GetTop()
	var b []byte
	for i := 1; i <= n; i++ {
		code := checkInteger(L, i, "char")
		if code < 0 || code > 0x7FFFFFFF {
			argError(L, i, "char", "value out of range")
		}
		b = append(b, utf8Encode(uint32(code))...)
	}
	L.Push(lua.LString(b))
	return 1
}

func utf8Len(L *lua.LState) int {
	s := checkString(L, 1, "len")
	i := bytePosition(optInteger(L, 2, "len", 1), len(s))
	j := bytePosition(optInteger(L, 3, "len", -1), len(s))
	strict := !lua.LVAsBool(L.Get(4))
	if i < 1 || i > int64(len(s))+1 {
		argError(L, 2, "len", "initial position out of bounds")
	}
	if j > int64(len(s)) {
		argError(L, 3, "len", "final position out of bounds")
	}
	count := 0
	for p := int(i - 1); p < int(j); {
		_, size := utf8Decode(s, p, strict)
		if size == 0 {
			L.Push(lua.LNil)
			L.Push(lua.LNumber(p + 1))
			return 2
		}
		p += size
		count++
	}
	L.Push(lua.LNumber(count))
	return 1
}

func utf8Codepoint(L *lua.LState) int {
	s := checkString(L, 1, "codepoint")
	i := bytePosition(optInteger(L, 2, "codepoint", 1), len(s))
	j := bytePosition(optInteger(L, 3, "codepoint", i), len(s))
	strict := !lua.LVAsBool(L.Get(4))
	if i < 1 {
		argError(L, 2, "codepoint", "out of bounds")
	}
	if j > int64(len(s)) {
		argError(L, 3, "codepoint", "out of bounds")
	}
	n := 0
	for p := int(i - 1); p < int(j); {
		code, size := utf8Decode(s, p, strict)
		if size == 0 {
			raise(L, utf8Invalid)
		}
		L.Push(lua.LNumber(code))
		n++
		p += size
	}
	return n
}

func utf8Offset(L *lua.LState) int {
	s := checkString(L, 1, "offset")
	n := checkInteger(L, 2, "offset")
	def := int64(1)
	if n < 0 {
		def = int64(len(s)) + 1
	}
	i := bytePosition(optInteger(L, 3, "offset", def), len(s))
	if i < 1 || i > int64(len(s))+1 {
		argError(L, 3, "offset", "position out of bounds")
	}
	p := int(i - 1) // 0-based; len(s) is the position just past the end
	cont := func(p int) bool { return p < len(s) && isContinuation(s[p]) }
	if n == 0 {
		for p > 0 && cont(p) {
			p--
		}
		L.Push(lua.LNumber(p + 1))
		return 1
	}
	if cont(p) {
		raise(L, "initial position is a continuation byte")
	}
	if n < 0 {
		for n < 0 && p > 0 {
			p--
			for p > 0 && cont(p) {
				p--
			}
			n++
		}
	} else {
		n--
		for n > 0 && p < len(s) {
			p++
			for cont(p) {
				p++
			}
			n--
		}
	}
	if n != 0 {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(p + 1))
	return 1
}

// utf8Codes is utf8.codes(s [, lax]): for p, c in utf8.codes(s).
func utf8Codes(L *lua.LState) int {
	s := checkString(L, 1, "codes")
	strict := !lua.LVAsBool(L.Get(2))
	// Leading continuation bytes are skipped, as lua5.4 (5.4.4) does.
	L.Push(L.NewFunction(func(L *lua.LState) int {
		s := checkString(L, 1, "for iterator")
		p := int(checkInteger(L, 2, "for iterator"))
		if p < 0 {
			return 0
		}
		for p < len(s) && isContinuation(s[p]) {
			p++
		}
		if p >= len(s) {
			return 0
		}
		code, size := utf8Decode(s, p, strict)
		if size == 0 || (p+size < len(s) && isContinuation(s[p+size])) {
			raise(L, utf8Invalid)
		}
		L.Push(lua.LNumber(p + 1))
		L.Push(lua.LNumber(code))
		return 2
	}))
	L.Push(lua.LString(s))
	L.Push(lua.LNumber(0))
	return 3
}
