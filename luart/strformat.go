package luart

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// installStringFormat replaces gopher-lua's string.format (Go's fmt.Sprintf
// applied to Lua values) with an implementation that follows Lua 5.4's
// str_format on a 64-bit Linux build:
//
//   - conversions c d i u o x X a A e E f g G p q s and %%; anything else is
//     "invalid conversion '%...' to 'format'";
//   - each conversion accepts only the flags C and Lua allow for it, a width
//     and a precision of at most two digits ("invalid conversion
//     specification: '%...'" otherwise);
//   - numeric output is C printf's (glibc), not Go's fmt;
//   - %s renders like luaL_tolstring (__tostring, __name, Lua number
//     formatting) and %q writes a Lua literal;
//   - errors read like Lua's ("bad argument #2 to 'format' (no value)").
//
// gopher-lua has only float64 numbers. As elsewhere in kumopolicy, a number
// that is integral and fits in int64 is treated as a Lua integer (so %d of
// 3.0 is "3", %s of 3.0 is "3" and %q of 3.0 is "3"); any other number is a
// float. Strings are converted to numbers where a number is expected, with
// Lua's lexical rules (decimal or hexadecimal integers and floats, spaces
// around them).
//
// gopher-lua's string metatable uses the string library table itself as
// __index, so replacing the field serves both string.format(s, ...) and
// s:format(...).
func installStringFormat(L *lua.LState) {
	fn := L.NewFunction(luaStringFormat)
	if mod, ok := L.GetGlobal("string").(*lua.LTable); ok {
		mod.RawSetString("format", fn)
	}
	if mt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		if idx, ok := mt.RawGetString("__index").(*lua.LTable); ok {
			idx.RawSetString("format", fn)
		}
	}
}

// maxSpecLen bounds the flags/width/precision text plus the conversion
// character of one specification; Lua rejects longer ones as "too long".
const maxSpecLen = 21

// fmtNum is a Lua number as Lua 5.4 sees it: an integer (i) or a float;
// f always holds the value as a float64.
type fmtNum struct {
	isInt bool
	i     int64
	f     float64
}

func numFromFloat(f float64) fmtNum {
	if isInteger(f) {
		return fmtNum{isInt: true, i: int64(f), f: f}
	}
	return fmtNum{f: f}
}

// fmtSpec is a validated conversion specification.
type fmtSpec struct {
	minus, plus, space, hash, zero bool
	width                          int
	prec                           int // -1 when absent
}

type strFormatter struct {
	L   *lua.LState
	top int
	out []byte
}

func luaStringFormat(L *lua.LState) int {
	f := &strFormatter{L: L, top: L.GetTop()}
	format := f.checkString(1)
	f.out = make([]byte, 0, len(format)+16)
	arg := 1
	for i := 0; i < len(format); {
		c := format[i]
		i++
		if c != '%' {
			f.out = append(f.out, c)
			continue
		}
		if i < len(format) && format[i] == '%' {
			f.out = append(f.out, '%')
			i++
			continue
		}
		arg++
		if arg > f.top {
			f.argError(arg, "no value")
		}
		// The specification runs over flag, digit and '.' characters; the
		// next byte (if any) is the conversion.
		j := i
		for j < len(format) && strings.IndexByte("-+ #0123456789.", format[j]) >= 0 {
			j++
		}
		if j-i+1 > maxSpecLen {
			f.raise("invalid format (too long)")
		}
		mods := format[i:j]
		var conv byte // 0 at the end of the format, as in C
		if j < len(format) {
			conv = format[j]
			j++
		}
		i = j
		f.convert(arg, conv, mods)
	}
	L.Push(lua.LString(f.out))
	return 1
}

// specText is a specification as Lua's messages quote it.
func specText(mods string, conv byte) string {
	if conv == 0 {
		return "%" + mods
	}
	return "%" + mods + string([]byte{conv})
}

func (f *strFormatter) convert(arg int, conv byte, mods string) {
	switch conv {
	case 'c':
		sp := f.parseSpec(conv, mods, "-", false)
		n := f.checkInteger(arg)
		f.out = appendPadded(f.out, "", string([]byte{byte(n)}), sp, false)
	case 'd', 'i':
		n := f.checkInteger(arg)
		if mods == "" {
			f.out = strconv.AppendInt(f.out, n, 10)
			return
		}
		sp := f.parseSpec(conv, mods, "-+ 0", true)
		f.out = appendInt(f.out, conv, n, sp)
	case 'u':
		n := f.checkInteger(arg)
		sp := f.parseSpec(conv, mods, "-0", true)
		f.out = appendInt(f.out, conv, n, sp)
	case 'o', 'x', 'X':
		n := f.checkInteger(arg)
		sp := f.parseSpec(conv, mods, "-#0", true)
		f.out = appendInt(f.out, conv, n, sp)
	case 'a', 'A':
		sp := f.parseSpec(conv, mods, "-+ #0", true)
		n := f.checkNumber(arg)
		f.out = appendFloat(f.out, conv, n.f, sp)
	case 'e', 'E', 'f', 'g', 'G':
		n := f.checkNumber(arg)
		sp := f.parseSpec(conv, mods, "-+ #0", true)
		f.out = appendFloat(f.out, conv, n.f, sp)
	case 'p':
		p, ok := luaPointer(f.L.Get(arg))
		sp := f.parseSpec(conv, mods, "-", false)
		if !ok {
			p = "(null)"
		}
		f.out = appendPadded(f.out, "", p, sp, false)
	case 'q':
		if mods != "" {
			f.raise("specifier '%q' cannot have modifiers")
		}
		f.appendLiteral(arg)
	case 's':
		s := luaToLString(f.L, f.L.Get(arg))
		if mods == "" {
			f.out = append(f.out, s...)
			return
		}
		if strings.IndexByte(s, 0) >= 0 {
			f.argError(arg, "string contains zeros")
		}
		sp := f.parseSpec(conv, mods, "-", true)
		if sp.prec < 0 && len(s) >= 100 {
			// Lua keeps long strings whole when there is no precision.
			f.out = append(f.out, s...)
			return
		}
		if sp.prec >= 0 && len(s) > sp.prec {
			s = s[:sp.prec]
		}
		f.out = appendPadded(f.out, "", s, sp, false)
	default:
		f.raise("invalid conversion '" + specText(mods, conv) + "' to 'format'")
	}
}

// parseSpec validates the modifiers of a conversion against the flags it
// accepts (and whether it takes a precision) and decodes them. Width and
// precision have at most two digits, and a width cannot start with '0'
// unless '0' is an accepted flag.
func (f *strFormatter) parseSpec(conv byte, mods, flags string, precision bool) fmtSpec {
	sp := fmtSpec{prec: -1}
	k := 0
	for k < len(mods) && strings.IndexByte(flags, mods[k]) >= 0 {
		switch mods[k] {
		case '-':
			sp.minus = true
		case '+':
			sp.plus = true
		case ' ':
			sp.space = true
		case '#':
			sp.hash = true
		case '0':
			sp.zero = true
		}
		k++
	}
	if k < len(mods) && mods[k] != '0' {
		sp.width, k = twoDigits(mods, k)
		if k < len(mods) && mods[k] == '.' && precision {
			sp.prec, k = twoDigits(mods, k+1)
		}
	}
	if k != len(mods) {
		f.raise("invalid conversion specification: '" + specText(mods, conv) + "'")
	}
	return sp
}

// twoDigits reads at most two decimal digits of s from k.
func twoDigits(s string, k int) (int, int) {
	v := 0
	for n := 0; n < 2 && k < len(s) && s[k] >= '0' && s[k] <= '9'; n++ {
		v = v*10 + int(s[k]-'0')
		k++
	}
	return v, k
}

// appendPadded writes prefix+body padded to the field width: with spaces on
// the left (or on the right with '-'), or with zeros between the prefix
// (sign, "0x") and the body when zeros is set.
func appendPadded(out []byte, prefix, body string, sp fmtSpec, zeros bool) []byte {
	pad := sp.width - len(prefix) - len(body)
	switch {
	case pad <= 0:
		out = append(out, prefix...)
		out = append(out, body...)
	case sp.minus:
		out = append(out, prefix...)
		out = append(out, body...)
		out = appendRepeat(out, ' ', pad)
	case zeros:
		out = append(out, prefix...)
		out = appendRepeat(out, '0', pad)
		out = append(out, body...)
	default:
		out = appendRepeat(out, ' ', pad)
		out = append(out, prefix...)
		out = append(out, body...)
	}
	return out
}

func appendRepeat(out []byte, c byte, n int) []byte {
	for ; n > 0; n-- {
		out = append(out, c)
	}
	return out
}

// appendInt formats a 64-bit integer like C's %lld/%llu/%llo/%llx/%llX.
func appendInt(out []byte, conv byte, n int64, sp fmtSpec) []byte {
	var mag uint64
	sign := ""
	base := 10
	switch conv {
	case 'd', 'i':
		mag = uint64(n)
		if n < 0 {
			mag = -mag
			sign = "-"
		} else if sp.plus {
			sign = "+"
		} else if sp.space {
			sign = " "
		}
	case 'o':
		mag, base = uint64(n), 8
	case 'x', 'X':
		mag, base = uint64(n), 16
	default: // 'u'
		mag = uint64(n)
	}
	digits := strconv.FormatUint(mag, base)
	if conv == 'X' {
		digits = strings.ToUpper(digits)
	}
	if sp.prec >= 0 {
		if mag == 0 && sp.prec == 0 {
			digits = ""
		}
		if len(digits) < sp.prec {
			digits = strings.Repeat("0", sp.prec-len(digits)) + digits
		}
	}
	prefix := sign
	if sp.hash {
		switch conv {
		case 'o':
			if digits == "" || digits[0] != '0' {
				digits = "0" + digits
			}
		case 'x':
			if mag != 0 {
				prefix = "0x"
			}
		case 'X':
			if mag != 0 {
				prefix = "0X"
			}
		}
	}
	return appendPadded(out, prefix, digits, sp, sp.zero && sp.prec < 0)
}

// appendFloat formats a float like C's (glibc's) %e %E %f %g %G %a %A.
func appendFloat(out []byte, conv byte, x float64, sp fmtSpec) []byte {
	upper := conv >= 'A' && conv <= 'Z'
	sign := ""
	switch {
	case math.Signbit(x):
		sign = "-"
	case sp.plus:
		sign = "+"
	case sp.space:
		sign = " "
	}
	var body string
	prefix := sign
	zeros := sp.zero
	switch {
	case math.IsInf(x, 0):
		body, zeros = "inf", false
	case math.IsNaN(x):
		body, zeros = "nan", false
	default:
		ax := math.Abs(x)
		switch conv | 0x20 {
		case 'e':
			body = cFormatE(ax, sp.prec, sp.hash)
		case 'f':
			body = cFormatF(ax, sp.prec, sp.hash)
		case 'g':
			body = cFormatG(ax, sp.prec, sp.hash)
		case 'a':
			prefix += "0x"
			body = cFormatHexMantissa(ax, sp.prec, sp.hash)
		}
	}
	if upper {
		prefix = strings.ToUpper(prefix)
		body = strings.ToUpper(body)
	}
	return appendPadded(out, prefix, body, sp, zeros && !sp.minus)
}

// cFormatE is C's %.<prec>e of a non-negative finite number.
func cFormatE(x float64, prec int, hash bool) string {
	if prec < 0 {
		prec = 6
	}
	s := strconv.FormatFloat(x, 'e', prec, 64)
	if hash && prec == 0 {
		k := strings.IndexByte(s, 'e')
		s = s[:k] + "." + s[k:]
	}
	return s
}

// cFormatF is C's %.<prec>f of a non-negative finite number.
func cFormatF(x float64, prec int, hash bool) string {
	if prec < 0 {
		prec = 6
	}
	s := strconv.FormatFloat(x, 'f', prec, 64)
	if hash && prec == 0 {
		s += "."
	}
	return s
}

// cFormatG is C's %.<prec>g of a non-negative finite number: precision P
// significant digits (6 by default, 0 meaning 1); the %e style is used when
// the decimal exponent X after rounding is below -4 or at least P, else %f
// with P-1-X decimals; without '#', trailing zeros and a trailing point
// are removed.
func cFormatG(x float64, prec int, hash bool) string {
	p := prec
	if p < 0 {
		p = 6
	} else if p == 0 {
		p = 1
	}
	es := strconv.FormatFloat(x, 'e', p-1, 64)
	k := strings.IndexByte(es, 'e')
	exp, _ := strconv.Atoi(es[k+1:])
	var s, tail string
	if hash && exp == p && belowPow10(x, exp) {
		// The value rounded up to 10^P from the %f range. glibc then prints
		// the %e style with no fraction digits ("%#g" of 999999.5 is
		// "1.e+06", not "1.00000e+06"); without '#' the difference
		// vanishes with the trailing zeros.
		es = strconv.FormatFloat(x, 'e', 0, 64)
		k = strings.IndexByte(es, 'e')
		s, tail = es[:k], es[k:]
	} else if exp < -4 || exp >= p {
		s, tail = es[:k], es[k:]
	} else {
		s = strconv.FormatFloat(x, 'f', p-1-exp, 64)
	}
	if hash {
		if strings.IndexByte(s, '.') < 0 {
			s += "."
		}
	} else if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s + tail
}

// belowPow10 reports whether x < 10^e exactly (e >= 0).
func belowPow10(x float64, e int) bool {
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil)
	return new(big.Float).SetFloat64(x).Cmp(new(big.Float).SetInt(pow)) < 0
}

// cFormatHexMantissa is glibc's %a of a non-negative finite number, without
// the "0x" prefix: the leading digit is 1 for normal numbers and 0 for zero
// and subnormals (whose exponent is then -1022); without a precision the
// fraction is as short as possible, otherwise it is rounded (to nearest,
// ties to even) to prec hexadecimal digits, a carry incrementing the
// leading digit rather than renormalising.
func cFormatHexMantissa(x float64, prec int, hash bool) string {
	const fracDigits = 13 // 52 bits
	bits := math.Float64bits(x)
	biased := int(bits >> 52 & 0x7ff)
	frac := bits & (1<<52 - 1)
	lead := uint64(1)
	exp := biased - 1023
	if biased == 0 {
		lead, exp = 0, -1022
		if frac == 0 {
			exp = 0
		}
	}
	var digits string
	switch {
	case prec < 0:
		if frac != 0 {
			digits = strings.TrimRight(fmt.Sprintf("%013x", frac), "0")
		}
	case prec < fracDigits:
		shift := uint(fracDigits-prec) * 4
		kept := frac >> shift
		rest := frac & (1<<shift - 1)
		half := uint64(1) << (shift - 1)
		last := kept
		if prec == 0 {
			last = lead
		}
		if rest > half || (rest == half && last&1 == 1) {
			kept++
			if kept == 1<<(uint(prec)*4) {
				kept = 0
				lead++
			}
		}
		if prec > 0 {
			digits = fmt.Sprintf("%0*x", prec, kept)
		}
	default:
		digits = fmt.Sprintf("%013x", frac) + strings.Repeat("0", prec-fracDigits)
	}
	var b strings.Builder
	b.WriteString(strconv.FormatUint(lead, 16))
	if digits != "" || hash {
		b.WriteByte('.')
		b.WriteString(digits)
	}
	b.WriteByte('p')
	if exp >= 0 {
		b.WriteByte('+')
	}
	b.WriteString(strconv.Itoa(exp))
	return b.String()
}

// appendLiteral implements %q: the argument as a Lua literal that reads
// back to the same value.
func (f *strFormatter) appendLiteral(arg int) {
	switch v := f.L.Get(arg).(type) {
	case lua.LString:
		f.out = appendQuoted(f.out, string(v))
	case lua.LNumber:
		n := numFromFloat(float64(v))
		switch {
		case n.isInt && n.i == math.MinInt64:
			// -9223372036854775808 would read back as a float.
			f.out = append(f.out, "0x8000000000000000"...)
		case n.isInt:
			f.out = strconv.AppendInt(f.out, n.i, 10)
		case math.IsInf(n.f, 1):
			f.out = append(f.out, "1e9999"...)
		case math.IsInf(n.f, -1):
			f.out = append(f.out, "-1e9999"...)
		case math.IsNaN(n.f):
			f.out = append(f.out, "(0/0)"...)
		default:
			f.out = appendFloat(f.out, 'a', n.f, fmtSpec{prec: -1})
		}
	case *lua.LNilType, lua.LBool:
		f.out = append(f.out, v.String()...)
	default:
		f.argError(arg, "value has no literal form")
	}
}

// appendQuoted writes s as a double-quoted Lua string: '"', '\' and
// newline are backslash-escaped (the newline stays a real newline), other
// control characters become decimal escapes (three digits when a digit
// follows), every other byte is copied.
func appendQuoted(out []byte, s string) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n':
			out = append(out, '\\', c)
		case c < 0x20 || c == 0x7f:
			out = append(out, '\\')
			if i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				out = append(out, '0'+c/100, '0'+c/10%10, '0'+c%10)
			} else {
				out = strconv.AppendInt(out, int64(c), 10)
			}
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}

// ToString renders v as Lua 5.4's tostring does (see luaToLString).
func ToString(L *lua.LState, v lua.LValue) string { return luaToLString(L, v) }

// NumberToString renders a number as Lua 5.4's tostring does under
// kumopolicy's integer rule.
func NumberToString(x float64) string { return luaNumberToString(x) }

// luaToLString renders v like Lua 5.4's luaL_tolstring (what tostring and
// %s show): the __tostring metamethod first (its result must be a string or
// a number), then Lua's own rendering of the value, with a string __name
// metafield naming tables and userdata ("NAME: 0x...").
func luaToLString(L *lua.LState, v lua.LValue) string {
	if mm := L.GetMetaField(v, "__tostring"); mm != lua.LNil {
		L.Push(mm)
		L.Push(v)
		L.Call(1, 1)
		r := L.Get(-1)
		L.Pop(1)
		switch r := r.(type) {
		case lua.LString:
			return string(r)
		case lua.LNumber:
			return luaNumberToString(float64(r))
		}
		raiseAtCaller(L, "'__tostring' must return a string")
	}
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return luaNumberToString(float64(x))
	case *lua.LNilType, lua.LBool:
		return x.String()
	}
	kind := v.Type().String()
	if name, ok := L.GetMetaField(v, "__name").(lua.LString); ok {
		kind = string(name)
	}
	p, _ := luaPointer(v)
	return kind + ": " + p
}

// luaNumberToString is Lua 5.4's tostring of a number under kumopolicy's
// integer rule: integers in decimal, floats with %.14g (plus ".0" when that
// looks like an integer).
func luaNumberToString(x float64) string {
	n := numFromFloat(x)
	if n.isInt {
		return strconv.FormatInt(n.i, 10)
	}
	s := string(appendFloat(nil, 'g', x, fmtSpec{prec: 14}))
	if strings.Trim(s, "-0123456789") == "" {
		s += ".0"
	}
	return s
}

var emptyStringAnchor byte

// luaPointer renders the address %p (and tostring) shows for a value;
// false for values Lua has no pointer for (nil, booleans, numbers).
func luaPointer(v lua.LValue) (string, bool) {
	switch x := v.(type) {
	case lua.LString:
		p := unsafe.StringData(string(x))
		if p == nil {
			p = &emptyStringAnchor
		}
		return fmt.Sprintf("%p", p), true
	case *lua.LTable:
		return fmt.Sprintf("%p", x), true
	case *lua.LFunction:
		return fmt.Sprintf("%p", x), true
	case *lua.LUserData:
		return fmt.Sprintf("%p", x), true
	case *lua.LState:
		return fmt.Sprintf("%p", x), true
	case lua.LChannel:
		return fmt.Sprintf("%p", x), true
	}
	return "", false
}

// checkString is luaL_checklstring: strings, and numbers rendered as Lua
// renders them.
func (f *strFormatter) checkString(arg int) string {
	switch v := f.L.Get(arg).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return luaNumberToString(float64(v))
	}
	f.typeError(arg, "string")
	return ""
}

// checkNumber is luaL_checknumber: numbers, and strings that read as one.
func (f *strFormatter) checkNumber(arg int) fmtNum {
	v := f.L.Get(arg)
	if n, ok := toFmtNum(v); ok {
		return n
	}
	f.typeError(arg, "number")
	return fmtNum{}
}

// checkInteger is luaL_checkinteger: like checkNumber, and the value must
// be an integer or a float with an exact int64 value.
func (f *strFormatter) checkInteger(arg int) int64 {
	n := f.checkNumber(arg)
	if n.isInt {
		return n.i
	}
	if isInteger(n.f) {
		return int64(n.f)
	}
	f.argError(arg, "number has no integer representation")
	return 0
}

func toFmtNum(v lua.LValue) (fmtNum, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		return numFromFloat(float64(x)), true
	case lua.LString:
		return parseLuaNumber(string(x))
	}
	return fmtNum{}, false
}

// parseLuaNumber converts a string the way Lua 5.4 does when a number is
// expected: surrounding whitespace is allowed; decimal integers that fit in
// int64 and hexadecimal integers (wrapping around) are integers; otherwise
// a decimal or hexadecimal float ("inf" and "nan" are not numerals).
func parseLuaNumber(s string) (fmtNum, bool) {
	s = strings.Trim(s, " \t\n\v\f\r")
	if s == "" {
		return fmtNum{}, false
	}
	if i, ok := parseLuaInt(s); ok {
		return fmtNum{isInt: true, i: i, f: float64(i)}, true
	}
	if x, ok := parseLuaFloat(s); ok {
		return fmtNum{f: x}, true
	}
	return fmtNum{}, false
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexValue(c byte) uint64 {
	switch {
	case c >= 'a':
		return uint64(c-'a') + 10
	case c >= 'A':
		return uint64(c-'A') + 10
	}
	return uint64(c - '0')
}

func isDecDigit(c byte) bool { return c >= '0' && c <= '9' }

func splitSign(s string) (neg bool, rest string) {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		return s[0] == '-', s[1:]
	}
	return false, s
}

func hasHexPrefix(s string) bool {
	return len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

func parseLuaInt(s string) (int64, bool) {
	neg, s := splitSign(s)
	var u uint64
	if hasHexPrefix(s) {
		s = s[2:]
		if s == "" {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			if !isHexDigit(s[i]) {
				return 0, false
			}
			u = u<<4 + hexValue(s[i]) // wraps around, as in Lua
		}
	} else {
		if s == "" {
			return 0, false
		}
		limit := uint64(math.MaxInt64)
		if neg {
			limit++
		}
		for i := 0; i < len(s); i++ {
			if !isDecDigit(s[i]) {
				return 0, false
			}
			d := uint64(s[i] - '0')
			if u > (limit-d)/10 {
				return 0, false // does not fit: read as a float
			}
			u = u*10 + d
		}
	}
	if neg {
		u = -u
	}
	return int64(u), true
}

// scanDigits returns how many leading bytes of s satisfy ok.
func scanDigits(s string, ok func(byte) bool) int {
	n := 0
	for n < len(s) && ok(s[n]) {
		n++
	}
	return n
}

func parseLuaFloat(s string) (float64, bool) {
	_, body := splitSign(s)
	hex := hasHexPrefix(body)
	digit, expChar := isDecDigit, "eE"
	if hex {
		body = body[2:]
		digit, expChar = isHexDigit, "pP"
	}
	// mantissa: digits [ '.' digits ], at least one digit in all
	n := scanDigits(body, digit)
	rest := body[n:]
	if rest != "" && rest[0] == '.' {
		m := scanDigits(rest[1:], digit)
		n += m
		rest = rest[1+m:]
	}
	if n == 0 {
		return 0, false
	}
	hasExp := false
	if rest != "" && strings.IndexByte(expChar, rest[0]) >= 0 {
		_, e := splitSign(rest[1:])
		m := scanDigits(e, isDecDigit)
		if m == 0 || m != len(e) {
			return 0, false
		}
		hasExp, rest = true, ""
	}
	if rest != "" {
		return 0, false
	}
	if hex && !hasExp {
		s += "p0" // Go requires the binary exponent
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	return x, true
}

// typeError raises luaL_typeerror's message; __name names the actual type.
func (f *strFormatter) typeError(arg int, expected string) {
	var got string
	if arg > f.top {
		got = "no value"
	} else {
		v := f.L.Get(arg)
		got = v.Type().String()
		if name, ok := f.L.GetMetaField(v, "__name").(lua.LString); ok {
			got = string(name)
		}
	}
	f.argError(arg, expected+" expected, got "+got)
}

func (f *strFormatter) argError(arg int, msg string) {
	f.raise(fmt.Sprintf("bad argument #%d to '%s' (%s)", arg, f.funcName(), msg))
}

// funcName is the name Lua's error messages give the running function:
// the name it was called by from Lua code ("format" for string.format(...),
// a local alias's name), or its global name when called from Go (pcall).
func (f *strFormatter) funcName() string {
	dbg, ok := f.L.GetStack(0)
	if !ok {
		return "format"
	}
	if _, err := f.L.GetInfo("n", dbg, nil); err != nil {
		return "format"
	}
	switch name := dbg.Name; {
	case name == "" || name == "(anonymous)" || name == "main chunk" || name == "corountine":
		return "string.format"
	case isLuaName(name):
		return name
	default:
		return "?"
	}
}

func isLuaName(s string) bool {
	if s == "" || isDecDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || isDecDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (f *strFormatter) raise(msg string) { raiseAtCaller(f.L, msg) }

// raiseAtCaller raises msg prefixed, like luaL_error, with the position of
// the Lua code calling the running Go function (nothing when the caller is
// not Lua code, e.g. pcall).
func raiseAtCaller(L *lua.LState, msg string) {
	if dbg, ok := L.GetStack(1); ok {
		if _, err := L.GetInfo("Sl", dbg, nil); err == nil && dbg.CurrentLine > 0 {
			msg = fmt.Sprintf("%s:%d: %s", dbg.Source, dbg.CurrentLine, msg)
		}
	}
	L.Error(lua.LString(msg), 0)
}
