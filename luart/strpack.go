package luart

import (
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Lua 5.4's string.pack, string.unpack and string.packsize. Integers are
// int64 on the way in and out, so 8-byte values beyond ±2^53 are rounded
// when they become Lua numbers (kumopolicy's numbers are float64).

type packKind int

const (
	kInt packKind = iota
	kUint
	kFloat
	kDouble
	kChar     // c[n]: fixed-size string
	kString   // s[n]: string preceded by its length
	kZstr     // z: zero-terminated string
	kPadding  // x
	kPadAlign // X: align only
	kNop      // endianness, alignment and spaces
)

// packState reads a format string option by option.
type packState struct {
	L        *lua.LState
	fname    string
	fmt      string
	little   bool
	maxAlign int
}

const nativeAlign = 8

func (p *packState) fail(format string, args ...any) {
	raise(p.L, format, args...)
}

// readNumber reads an optional size after an option letter.
func (p *packState) readNumber(def int) int {
	if p.fmt == "" || p.fmt[0] < '0' || p.fmt[0] > '9' {
		return def
	}
	n := 0
	for p.fmt != "" && p.fmt[0] >= '0' && p.fmt[0] <= '9' && n < (math.MaxInt32-9)/10 {
		n = n*10 + int(p.fmt[0]-'0')
		p.fmt = p.fmt[1:]
	}
	return n
}

func (p *packState) intSize(def int) int {
	n := p.readNumber(def)
	if n < 1 || n > 16 {
		p.fail("integral size (%d) out of limits [1,16]", n)
	}
	return n
}

// next reads one option: its kind, its size and the option letter.
func (p *packState) next() (packKind, int, byte) {
	opt := p.fmt[0]
	p.fmt = p.fmt[1:]
	switch opt {
	case 'b':
		return kInt, 1, opt
	case 'B':
		return kUint, 1, opt
	case 'h':
		return kInt, 2, opt
	case 'H':
		return kUint, 2, opt
	case 'l', 'j':
		return kInt, 8, opt
	case 'L', 'J', 'T':
		return kUint, 8, opt
	case 'f':
		return kFloat, 4, opt
	case 'n', 'd':
		return kDouble, 8, opt
	case 'i':
		return kInt, p.intSize(4), opt
	case 'I':
		return kUint, p.intSize(4), opt
	case 's':
		return kString, p.intSize(8), opt
	case 'c':
		n := p.readNumber(-1)
		if n == -1 {
			p.fail("missing size for format option 'c'")
		}
		return kChar, n, opt
	case 'z':
		return kZstr, 0, opt
	case 'x':
		return kPadding, 1, opt
	case 'X':
		return kPadAlign, 0, opt
	case ' ':
	case '<', '=':
		p.little = true
	case '>':
		p.little = false
	case '!':
		p.maxAlign = p.intSize(nativeAlign)
	default:
		p.fail("invalid format option '%c'", opt)
	}
	return kNop, 0, opt
}

// option reads one option and the padding that aligns it at offset pos.
func (p *packState) option(pos int) (kind packKind, size, pad int) {
	kind, size, _ = p.next()
	align := size
	if kind == kPadAlign {
		if p.fmt == "" {
			argError(p.L, 1, p.fname, "invalid next option for option 'X'")
		}
		k, s, _ := p.next()
		align = s
		if k == kChar || align == 0 {
			argError(p.L, 1, p.fname, "invalid next option for option 'X'")
		}
	}
	if align <= 1 || kind == kChar {
		return kind, size, 0
	}
	if align > p.maxAlign {
		align = p.maxAlign
	}
	if align&(align-1) != 0 {
		argError(p.L, 1, p.fname, "format asks for alignment not power of 2")
	}
	return kind, size, (align - pos&(align-1)) & (align - 1)
}

func newPackState(L *lua.LState, fname, format string) *packState {
	return &packState{L: L, fname: fname, fmt: format, little: true, maxAlign: 1}
}

// putInt appends v as a size-byte integer, sign-extended past 8 bytes.
func (p *packState) putInt(b []byte, v uint64, size int, negative bool) []byte {
	buf := make([]byte, size)
	for i := 0; i < size; i++ {
		var c byte
		if i < 8 {
			c = byte(v >> (8 * i))
		} else if negative {
			c = 0xFF
		}
		if p.little {
			buf[i] = c
		} else {
			buf[size-1-i] = c
		}
	}
	return append(b, buf...)
}

func stringPack(L *lua.LState) int {
	p := newPackState(L, "pack", checkString(L, 1, "pack"))
	// Lua 5.4 pushes a nil after the arguments: a missing one is "nil".
	L.Push(lua.LNil)
	var out []byte
	arg := 1
	for p.fmt != "" {
		kind, size, pad := p.option(len(out))
		for ; pad > 0; pad-- {
			out = append(out, 0)
		}
		switch kind {
		case kInt, kUint:
			arg++
			v := checkInteger(L, arg, "pack")
			if size < 8 {
				if kind == kInt {
					lim := int64(1) << (size*8 - 1)
					if v < -lim || v >= lim {
						argError(L, arg, "pack", "integer overflow")
					}
				} else if uint64(v) >= uint64(1)<<(size*8) {
					argError(L, arg, "pack", "unsigned overflow")
				}
			}
			out = p.putInt(out, uint64(v), size, v < 0)
		case kFloat:
			arg++
			f := float32(checkNumber(L, arg, "pack"))
			out = p.putInt(out, uint64(math.Float32bits(f)), 4, false)
		case kDouble:
			arg++
			out = p.putInt(out, math.Float64bits(checkNumber(L, arg, "pack")), 8, false)
		case kChar:
			arg++
			s := checkString(L, arg, "pack")
			if len(s) > size {
				argError(L, arg, "pack", "string longer than given size")
			}
			out = append(out, s...)
			for i := len(s); i < size; i++ {
				out = append(out, 0)
			}
		case kString:
			arg++
			s := checkString(L, arg, "pack")
			if size < 8 && uint64(len(s)) >= uint64(1)<<(size*8) {
				argError(L, arg, "pack", "string length does not fit in given size")
			}
			out = p.putInt(out, uint64(len(s)), size, false)
			out = append(out, s...)
		case kZstr:
			arg++
			s := checkString(L, arg, "pack")
			if strings.IndexByte(s, 0) >= 0 {
				argError(L, arg, "pack", "string contains zeros")
			}
			out = append(append(out, s...), 0)
		case kPadding:
			out = append(out, 0)
		}
	}
	L.Push(lua.LString(out))
	return 1
}

func checkNumber(L *lua.LState, n int, fname string) float64 {
	v := L.Get(n)
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x)
	case lua.LString:
		if f := lua.LVAsNumber(x); f != 0 || isZeroNumeral(string(x)) {
			return float64(f)
		}
	}
	got := v.Type().String()
	if n > L.GetTop() {
		got = "no value"
	}
	argError(L, n, fname, "number expected, got "+got)
	return 0
}

func stringPackSize(L *lua.LState) int {
	p := newPackState(L, "packsize", checkString(L, 1, "packsize"))
	total := 0
	for p.fmt != "" {
		kind, size, pad := p.option(total)
		if kind == kString || kind == kZstr {
			argError(L, 1, "packsize", "variable-length format")
		}
		size += pad
		if total > math.MaxInt32-size {
			argError(L, 1, "packsize", "format result too large")
		}
		total += size
	}
	L.Push(lua.LNumber(total))
	return 1
}

// getInt reads a size-byte integer at data[pos:].
func (p *packState) getInt(data string, size int, signed bool) int64 {
	var v uint64
	limit := size
	if limit > 8 {
		limit = 8
	}
	for i := 0; i < limit; i++ {
		var c byte
		if p.little {
			c = data[i]
		} else {
			c = data[size-1-i]
		}
		v |= uint64(c) << (8 * i)
	}
	if size < 8 && signed {
		shift := 64 - 8*size
		return int64(v<<shift) >> shift
	}
	if size > 8 {
		// The extra bytes must be the sign extension (or zero).
		var want byte
		if signed && int64(v) < 0 {
			want = 0xFF
		}
		for i := 8; i < size; i++ {
			var c byte
			if p.little {
				c = data[i]
			} else {
				c = data[size-1-i]
			}
			if c != want {
				p.fail("%d-byte integer does not fit into Lua Integer", size)
			}
		}
	}
	return int64(v)
}

func stringUnpack(L *lua.LState) int {
	p := newPackState(L, "unpack", checkString(L, 1, "unpack"))
	data := checkString(L, 2, "unpack")
	pos := bytePosition(optInteger(L, 3, "unpack", 1), len(data)) - 1
	if pos < 0 || pos > int64(len(data)) {
		argError(L, 3, "unpack", "initial position out of string")
	}
	at := int(pos)
	n := 0
	for p.fmt != "" {
		kind, size, pad := p.option(at)
		if pad+size > len(data)-at {
			argError(L, 2, "unpack", "data string too short")
		}
		at += pad
		switch kind {
		case kInt, kUint:
			L.Push(lua.LNumber(p.getInt(data[at:], size, kind == kInt)))
			n++
		case kFloat:
			bits := uint32(p.getInt(data[at:], 4, false))
			L.Push(lua.LNumber(math.Float32frombits(bits)))
			n++
		case kDouble:
			L.Push(lua.LNumber(math.Float64frombits(uint64(p.getInt(data[at:], 8, false)))))
			n++
		case kChar:
			L.Push(lua.LString(data[at : at+size]))
			n++
		case kString:
			l := uint64(p.getInt(data[at:], size, false))
			if l > uint64(len(data)-at-size) {
				argError(L, 2, "unpack", "data string too short")
			}
			L.Push(lua.LString(data[at+size : at+size+int(l)]))
			at += int(l)
			n++
		case kZstr:
			end := strings.IndexByte(data[at:], 0)
			if end < 0 {
				argError(L, 2, "unpack", "unfinished string for format 'z'")
			}
			L.Push(lua.LString(data[at : at+end]))
			at += end + 1
			n++
		}
		at += size
	}
	L.Push(lua.LNumber(at + 1))
	return n + 1
}
