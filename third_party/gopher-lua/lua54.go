package lua

// kumopolicy: Lua 5.4's floor division and bitwise operators (//, &, |,
// binary ~, <<, >>, unary ~). They are built into this in-tree fork's
// lexer, parser, compiler and VM rather than rewritten by a source
// transform in front of gopher-lua: a transform would have to parse Lua
// itself to find operator precedence, would shift the line and column of
// every error and traceback the policy author sees, and could not give the
// operators their own metamethods (__idiv, __band, ...). New opcodes keep
// the cost of an operator that of + or *.
//
// gopher-lua has one number type, float64. An operand of a bitwise
// operator must be integral and within int64's range (else Lua 5.4's
// "number has no integer representation"); the operation is done on int64
// and the result converted back, so results beyond ±2^53 are rounded.
// Floor division of two integral values by zero raises Lua 5.4's
// "attempt to divide by zero", as integer division does there; 1.5 // 0 is
// inf.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

func isLua54BitwiseOp(opcode int) bool {
	switch opcode {
	case OP_BAND, OP_BOR, OP_BXOR, OP_SHL, OP_SHR, OP_BNOT:
		return true
	}
	return false
}

func lua54Event(opcode int) string {
	switch opcode {
	case OP_IDIV:
		return "__idiv"
	case OP_BAND:
		return "__band"
	case OP_BOR:
		return "__bor"
	case OP_BXOR:
		return "__bxor"
	case OP_SHL:
		return "__shl"
	case OP_SHR:
		return "__shr"
	case OP_BNOT:
		return "__bnot"
	}
	return ""
}

// lnumberToInt64 is Lua 5.4's conversion of a float to an integer for
// bitwise operators: exact, or not at all.
func lnumberToInt64(n LNumber) (int64, bool) {
	f := float64(n)
	if f != math.Trunc(f) || f < -9.223372036854775808e18 || f >= 9.223372036854775808e18 {
		return 0, false
	}
	return int64(f), true
}

func lua54ToInteger(L *LState, n LNumber) int64 {
	i, ok := lnumberToInt64(n)
	if !ok {
		L.RaiseError("number has no integer representation")
	}
	return i
}

func lua54ShiftLeft(x, y int64) int64 {
	switch {
	case y <= -64 || y >= 64:
		return 0
	case y < 0:
		return int64(uint64(x) >> uint(-y))
	default:
		return int64(uint64(x) << uint(y))
	}
}

func lua54NumberArith(L *LState, opcode int, lhs, rhs LNumber) LNumber {
	if opcode == OP_IDIV {
		if rhs == 0 {
			if _, ok := lnumberToInt64(lhs); ok {
				L.RaiseError("attempt to divide by zero")
			}
		}
		return LNumber(math.Floor(float64(lhs) / float64(rhs)))
	}
	a := lua54ToInteger(L, lhs)
	b := lua54ToInteger(L, rhs)
	switch opcode {
	case OP_BAND:
		return LNumber(a & b)
	case OP_BOR:
		return LNumber(a | b)
	case OP_BXOR:
		return LNumber(a ^ b)
	case OP_SHL:
		return LNumber(lua54ShiftLeft(a, b))
	case OP_SHR:
		if b == math.MinInt64 {
			return 0
		}
		return LNumber(lua54ShiftLeft(a, -b))
	case OP_BNOT:
		return LNumber(^a)
	}
	panic("should not reach here")
}

// lua54BitwiseObject is a bitwise operator on operands of which one is not
// a number and neither has a metamethod for it: Lua 5.4 does not convert
// strings here.
func lua54BitwiseObject(L *LState, opcode int, lhs, rhs LValue) LValue {
	v1, ok1 := lhs.(LNumber)
	v2, ok2 := rhs.(LNumber)
	if ok1 && ok2 {
		return lua54NumberArith(L, opcode, v1, v2)
	}
	bad := lhs
	if ok1 {
		bad = rhs
	}
	L.RaiseError(fmt.Sprintf("attempt to perform bitwise operation on a %s value", bad.Type().String()))
	return LNil
}

// opBNot is the VM's OP_BNOT: R(A) := ~R(B).
func opBNot(L *LState, inst uint32, baseframe *callFrame) int {
	A := int(inst>>18) & 0xff //GETA
	RA := L.currentFrame.LocalBase + A
	B := int(inst & 0x1ff) //GETB
	v := L.rkValue(B)
	if n, ok := v.(LNumber); ok {
		L.reg.Set(RA, lua54NumberArith(L, OP_BNOT, n, n))
		return 0
	}
	if op := L.metaOp1(v, "__bnot"); op.Type() == LTFunction {
		L.reg.Push(op)
		L.reg.Push(v)
		L.reg.Push(v)
		L.Call(2, 1)
		L.reg.Set(RA, L.reg.Pop())
		return 0
	}
	L.RaiseError(fmt.Sprintf("attempt to perform bitwise operation on a %s value", v.Type().String()))
	return 0
}

// checkLocalAttribs checks the attributes of a local statement as Lua 5.4
// does: only <const> and <close>, and one <close> a statement.
func checkLocalAttribs(context *funcContext, stmt *ast.LocalAssignStmt) {
	closes := 0
	for _, attrib := range stmt.Attribs {
		switch attrib {
		case "", "const":
		case "close":
			closes++
		default:
			raiseCompileError(context, sline(stmt), "unknown attribute '%s'", attrib)
		}
	}
	if closes > 1 {
		raiseCompileError(context, sline(stmt), "multiple to-be-closed variables in local list")
	}
}

// setAttrib gives the most recently registered name its attribute.
func (vp *varNamePool) setAttrib(name, attrib string) {
	if vp.attribs == nil {
		vp.attribs = make([]string, len(vp.names))
	}
	for i := len(vp.names) - 1; i >= 0; i-- {
		if vp.names[i] == name {
			vp.attribs[i] = attrib
			return
		}
	}
}

// attrib is the attribute of the visible local called name in this pool.
func (vp *varNamePool) attrib(name string) (string, bool) {
	for i := len(vp.names) - 1; i >= 0; i-- {
		if vp.names[i] == name {
			if vp.attribs == nil {
				return "", true
			}
			return vp.attribs[i], true
		}
	}
	return "", false
}

// isConstLocal reports whether name, as seen from context, is a local
// (of this function or an enclosing one) declared <const> or <close>:
// Lua 5.4 refuses to assign to either.
func isConstLocal(context *funcContext, name string) bool {
	for fc := context; fc != nil; fc = fc.Parent {
		for block := fc.Block; block != nil; block = block.Parent {
			if attrib, ok := block.LocalVars.attrib(name); ok {
				return attrib == "const" || attrib == "close"
			}
		}
	}
	return false
}

// Lua 5.4's to-be-closed variables. `local x <close> = v` compiles to
// OP_TBC after the assignment: it checks that v has a __close metamethod
// (nil and false are allowed and never closed) and records the variable in
// L.tbcList. The block's exits close it in reverse order of declaration,
// calling __close(v, nil): the block's end, break and goto out of it
// through OP_CLOSE (the compiler marks the block as if it had captured
// upvalues, which makes it emit OP_CLOSE on every exit), return through
// OP_RETURN (and a function with a <close> variable makes no tail calls,
// so the call returns first). An error closes the variables of the frames
// it unwinds when the protected call that catches it (pcall, xpcall, or
// the host's) cleans up, calling __close(v, err); an error in __close
// replaces err for the rest, as in Lua 5.4.
type tbcVar struct {
	index int // the variable's absolute stack slot
	value LValue
}

// markToBeClosed emits OP_TBC for the local in register reg.
func markToBeClosed(context *funcContext, reg int, name string, line int) {
	context.hasTBC = true
	context.Block.RefUpvalue = true
	context.Code.AddABx(OP_TBC, reg, context.ConstIndex(LString(name)), line)
}

// opTBC is the VM's OP_TBC.
func opTBC(L *LState, inst uint32, baseframe *callFrame) int {
	cf := L.currentFrame
	A := int(inst>>18) & 0xff //GETA
	Bx := int(inst & 0x3ffff) //GETBX
	RA := cf.LocalBase + A
	v := L.reg.Get(RA)
	if v == LNil || v == LFalse {
		return 0
	}
	if L.metaOp1(v, "__close") == LNil {
		L.RaiseError("variable '%s' got a non-closable value", cf.Fn.Proto.Constants[Bx].String())
	}
	L.tbcList = append(L.tbcList, tbcVar{index: RA, value: v})
	return 0
}

// closeTBC calls __close(v, nil) for each to-be-closed variable at or
// above the stack slot idx, innermost first.
func (ls *LState) closeTBC(idx int) {
	for n := len(ls.tbcList); n > 0 && ls.tbcList[n-1].index >= idx; n = len(ls.tbcList) {
		tv := ls.tbcList[n-1]
		ls.tbcList[n-1] = tbcVar{}
		ls.tbcList = ls.tbcList[:n-1]
		ls.callClose(tv.value, LNil)
	}
}

func (ls *LState) callClose(v, errObj LValue) {
	mm := ls.metaOp1(v, "__close")
	if mm == LNil {
		// Its metatable changed since: Lua 5.4 says so.
		ls.RaiseError("metamethod 'close' is not callable (a nil value)")
	}
	ls.Push(mm)
	ls.Push(v)
	ls.Push(errObj)
	ls.Call(2, 0)
}

// closeTBCAfterError closes the variables of the frames an error unwound
// (slots at or above base) once PCall has reset the stack to base, each
// __close(v, err) in its own protected call; an error there becomes err.
func (ls *LState) closeTBCAfterError(base int, err *error) {
	// Take them all off the list first: the slots they name are stale,
	// and the __close calls below reuse them.
	n := len(ls.tbcList)
	for n > 0 && ls.tbcList[n-1].index >= base {
		n--
	}
	unwound := append([]tbcVar(nil), ls.tbcList[n:]...)
	clear(ls.tbcList[n:])
	ls.tbcList = ls.tbcList[:n]
	for i := len(unwound) - 1; i >= 0; i-- {
		tv := unwound[i]
		var errObj LValue = LNil
		if api, ok := (*err).(*ApiError); ok && api.Object != nil {
			errObj = api.Object
		} else if *err != nil {
			errObj = LString((*err).Error())
		}
		ls.Push(ls.NewFunction(func(L *LState) int {
			L.callClose(tv.value, errObj)
			return 0
		}))
		if cerr := ls.PCall(0, 0, nil); cerr != nil {
			*err = cerr
		}
		ls.reg.SetTop(base)
	}
}

// parseLua54Numeral converts a numeral as Lua 5.4 does (lua_stringtonumber):
// surrounding spaces, an optional sign, then a decimal numeral (digits, an
// optional fraction, an optional exponent) or a hexadecimal one: 0x, hex
// digits with an optional fraction and an optional binary exponent p±n. A
// hexadecimal integer wraps around modulo 2^64, as in Lua 5.4
// (0xffffffffffffffff is -1). gopher-lua used Go's ParseInt(s, 0), which
// read "017" as octal 15 and accepted "0b101" and "1_000", and did not know
// hexadecimal fractions.
func parseLua54Numeral(number string) (LNumber, error) {
	s := strings.Trim(number, " \t\n\r\f\v")
	body := s
	neg := false
	if body != "" && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	bad := fmt.Errorf("malformed number: %q", number)
	digits := func(str string, hex bool) int {
		n := 0
		for n < len(str) && (str[n] >= '0' && str[n] <= '9' || hex && (str[n]|0x20 >= 'a' && str[n]|0x20 <= 'f')) {
			n++
		}
		return n
	}
	if len(body) > 1 && body[0] == '0' && body[1]|0x20 == 'x' {
		rest := body[2:]
		intLen := digits(rest, true)
		mant, frac := rest[:intLen], ""
		rest = rest[intLen:]
		isFloat := false
		if rest != "" && rest[0] == '.' {
			isFloat = true
			fracLen := digits(rest[1:], true)
			frac = rest[1 : 1+fracLen]
			rest = rest[1+fracLen:]
		}
		if mant == "" && frac == "" {
			return 0, bad
		}
		exp := "0"
		if rest != "" && rest[0]|0x20 == 'p' {
			isFloat = true
			e := rest[1:]
			if e != "" && (e[0] == '-' || e[0] == '+') {
				e = e[1:]
			}
			n := digits(e, false)
			if n == 0 {
				return 0, bad
			}
			exp = rest[1 : len(rest)-len(e)+n]
			rest = e[n:]
		}
		if rest != "" {
			return 0, bad
		}
		if !isFloat {
			var u uint64
			for _, c := range []byte(mant) {
				d := uint64(c - '0')
				if c > '9' {
					d = uint64(c|0x20-'a') + 10
				}
				u = u<<4 | d
			}
			v := int64(u)
			if neg {
				v = -v
			}
			return LNumber(v), nil
		}
		if mant == "" {
			mant = "0"
		}
		f, err := strconv.ParseFloat("0x"+mant+"."+frac+"p"+exp, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, bad
		}
		if neg {
			f = -f
		}
		return LNumber(f), nil
	}
	// decimal: digits [. digits] [e [sign] digits], at least one digit
	rest := body
	n := digits(rest, false)
	seen := n > 0
	rest = rest[n:]
	if rest != "" && rest[0] == '.' {
		n = digits(rest[1:], false)
		seen = seen || n > 0
		rest = rest[1+n:]
	}
	if !seen {
		return 0, bad
	}
	if rest != "" && rest[0]|0x20 == 'e' {
		e := rest[1:]
		if e != "" && (e[0] == '-' || e[0] == '+') {
			e = e[1:]
		}
		n = digits(e, false)
		if n == 0 {
			return 0, bad
		}
		rest = e[n:]
	}
	if rest != "" {
		return 0, bad
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, bad
	}
	return LNumber(f), nil
}
