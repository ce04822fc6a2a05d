package luart

import (
	"bytes"
	"fmt"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// The expected values in this file were produced by Debian's lua5.4
// (Lua 5.4.4, x86-64 glibc), running `return string.format(ARGS)` as a
// chunk named "t" and stripping the "t:1: " position from error messages.
// Cases whose result depends on Lua 5.4 telling 3 from 3.0 are not in
// strFormatGolden but in TestStringFormatIntegerRule, which pins
// kumopolicy's rule (integral numbers that fit in int64 are integers).

// newFormatState returns a bare gopher-lua state with our string.format.
func newFormatState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	installStringFormat(L)
	t.Cleanup(L.Close)
	return L
}

// runChunk runs src as a chunk named "t" and returns its first result, or
// the error value's text when it raises.
func runChunk(t testing.TB, L *lua.LState, src string) (string, string) {
	t.Helper()
	fn, err := L.Load(strings.NewReader(src), "t")
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	defer L.SetTop(0)
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		apiErr, ok := err.(*lua.ApiError)
		if !ok {
			t.Fatalf("%q: unexpected error type %T: %v", src, err, err)
		}
		return "", apiErr.Object.String()
	}
	return L.Get(-1).String(), ""
}

// evalFormat evaluates string.format(args) and returns the result or the
// error message without its "t:1: " position.
func evalFormat(t testing.TB, L *lua.LState, args string) (string, string) {
	t.Helper()
	got, msg := runChunk(t, L, "return string.format("+args+")")
	return got, strings.TrimPrefix(msg, "t:1: ")
}

type formatCase struct {
	args string // Lua source of string.format's arguments
	want string // result, when err is empty
	err  string // error message without position
}

func checkFormatCases(t *testing.T, L *lua.LState, cases []formatCase) {
	t.Helper()
	for _, c := range cases {
		got, msg := evalFormat(t, L, c.args)
		switch {
		case c.err != "" && msg != c.err:
			t.Errorf("string.format(%s): error %q, want error %q (result %q)", c.args, msg, c.err, got)
		case c.err == "" && msg != "":
			t.Errorf("string.format(%s): error %q, want %q", c.args, msg, c.want)
		case c.err == "" && got != c.want:
			t.Errorf("string.format(%s) = %q, want %q", c.args, got, c.want)
		}
	}
}

// strFormatGolden: successful conversions, as printed by lua5.4.
var strFormatGolden = []formatCase{
	{"'plain text'", "plain text", ""},
	{"''", "", ""},
	{"'%%'", "%", ""},
	{"'a%%b%%c'", "a%b%c", ""},
	{"'%d', 42", "42", ""},
	{"'%d', -42", "-42", ""},
	{"'%d', 0", "0", ""},
	{"'%d', 3.0", "3", ""},
	{"'%d', -7.0", "-7", ""},
	{"'%d', 2^53", "9007199254740992", ""},
	{"'%d', -9223372036854775807 - 1", "-9223372036854775808", ""},
	{"'%i', 42", "42", ""},
	{"'%5d|', 42", "   42|", ""},
	{"'%-5d|', 42", "42   |", ""},
	{"'%05d', 42", "00042", ""},
	{"'%05d', -42", "-0042", ""},
	{"'%+d', 42", "+42", ""},
	{"'%+d', -42", "-42", ""},
	{"'% d', 42", " 42", ""},
	{"'%+ d', 42", "+42", ""},
	{"'% 5d|', 42", "   42|", ""},
	{"'%.3d', 7", "007", ""},
	{"'%.3d', -7", "-007", ""},
	{"'%8.3d|', 7", "     007|", ""},
	{"'%-8.3d|', -7", "-007    |", ""},
	{"'%08.3d', 7", "     007", ""},
	{"'%.0d', 0", "", ""},
	{"'%5.0d|', 0", "     |", ""},
	{"'%+.0d|', 0", "+|", ""},
	{"'%099d', 1", "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001", ""},
	{"'%-99d|', 1", "1                                                                                                  |", ""},
	{"'%.99d', 1", "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001", ""},
	{"'%00005d', 3", "00003", ""},
	{"'%u', 42", "42", ""},
	{"'%u', -1", "18446744073709551615", ""},
	{"'%05u', 42", "00042", ""},
	{"'%-5u|', 42", "42   |", ""},
	{"'%.4u', 42", "0042", ""},
	{"'%o', 8", "10", ""},
	{"'%o', -1", "1777777777777777777777", ""},
	{"'%#o', 8", "010", ""},
	{"'%#o', 0", "0", ""},
	{"'%#.0o', 0", "0", ""},
	{"'%#5o|', 8", "  010|", ""},
	{"'%#.5o', 8", "00010", ""},
	{"'%x', 255", "ff", ""},
	{"'%X', 255", "FF", ""},
	{"'%x', -1", "ffffffffffffffff", ""},
	{"'%X', -255", "FFFFFFFFFFFFFF01", ""},
	{"'%x', -9223372036854775807 - 1", "8000000000000000", ""},
	{"'%#x', 255", "0xff", ""},
	{"'%#X', 255", "0XFF", ""},
	{"'%#x', 0", "0", ""},
	{"'%#08x', 255", "0x0000ff", ""},
	{"'%#-8x|', 255", "0xff    |", ""},
	{"'%#.3x', 1", "0x001", ""},
	{"'%.0x|', 0", "|", ""},
	{"'%5.0x|', 0", "     |", ""},
	{"'%08X', 3054", "00000BEE", ""},
	{"'%x', '0xff'", "ff", ""},
	{"'%d', '10'", "10", ""},
	{"'%d', ' 0x10 '", "16", ""},
	{"'%d', '10.0'", "10", ""},
	{"'%d', '1e2'", "100", ""},
	{"'%d', '1E2'", "100", ""},
	{"'%d', '-0'", "0", ""},
	{"'%d', '+0x10'", "16", ""},
	{"'%d', '0x1p4'", "16", ""},
	{"'%d', '0xffffffffffffffff'", "-1", ""},
	{"'%d', '9007199254740993'", "9007199254740993", ""},
	{"'%d', '-9223372036854775808'", "-9223372036854775808", ""},
	{"'%f', '0x1p4'", "16.000000", ""},
	{"'%f', '.5'", "0.500000", ""},
	{"'%f', '5.'", "5.000000", ""},
	{"'%f', '0x.8'", "0.500000", ""},
	{"'%f', '0x8.'", "8.000000", ""},
	{"'%f', '0X1P-1'", "0.500000", ""},
	{"'%f', '0x1e'", "30.000000", ""},
	{"'%f', '0x1.8'", "1.500000", ""},
	{"'%f', '\\t\\n\\v\\f\\r5\\t'", "5.000000", ""},
	{"'%f', '1e500'", "inf", ""},
	{"'%g', '-1e-500'", "-0", ""},
	{"'%c', 65", "A", ""},
	{"'%c%c%c', 76, 117, 97", "Lua", ""},
	{"'%c', 0", "\x00", ""},
	{"'%c', 256 + 66", "B", ""},
	{"'%c', -1", "\xff", ""},
	{"'%c', 65.0", "A", ""},
	{"'%5c|', 65", "    A|", ""},
	{"'%-5c|', 65", "A    |", ""},
	{"'%c', '65'", "A", ""},
	{"'%e', 0", "0.000000e+00", ""},
	{"'%e', 1", "1.000000e+00", ""},
	{"'%e', 12345.6789", "1.234568e+04", ""},
	{"'%E', 12345.6789", "1.234568E+04", ""},
	{"'%.3e', 12345.6789", "1.235e+04", ""},
	{"'%.0e', 2.5", "2e+00", ""},
	{"'%.0e', 3.5", "4e+00", ""},
	{"'%#.0e', 1", "1.e+00", ""},
	{"'%-12.3e|', -12345.678", "-1.235e+04  |", ""},
	{"'%+e', 1.5", "+1.500000e+00", ""},
	{"'% e', 1.5", " 1.500000e+00", ""},
	{"'%012.3e', -1.5", "-001.500e+00", ""},
	{"'%.20e', 0.1", "1.00000000000000005551e-01", ""},
	{"'%e', 1e-320", "9.999889e-321", ""},
	{"'%e', 1e300", "1.000000e+300", ""},
	{"'%.3e', 9.9995", "9.999e+00", ""},
	{"'%.3e', 9.9996", "1.000e+01", ""},
	{"'%f', 0", "0.000000", ""},
	{"'%f', 1", "1.000000", ""},
	{"'%f', 3.14159", "3.141590", ""},
	{"'%f', -3.14159", "-3.141590", ""},
	{"'%.0f', 0.5", "0", ""},
	{"'%.0f', 1.5", "2", ""},
	{"'%.0f', 2.5", "2", ""},
	{"'%.2f', 2.675", "2.67", ""},
	{"'%.1f', 0.05", "0.1", ""},
	{"'%5.2f|', 3.14159", " 3.14|", ""},
	{"'%-10.3f|', 3.14159", "3.142     |", ""},
	{"'%010.3f', -3.14159", "-00003.142", ""},
	{"'%+f', 1", "+1.000000", ""},
	{"'% f', 1", " 1.000000", ""},
	{"'%#.0f', 1", "1.", ""},
	{"'%.0f', 1e20", "100000000000000000000", ""},
	{"'%f', 1e100", "10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.000000", ""},
	{"'%.99f', 1e300", "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", ""},
	{"'%.99f', 0.1", "0.100000000000000005551115123125782702118158340454101562500000000000000000000000000000000000000000000", ""},
	{"'%f', 2^63", "9223372036854775808.000000", ""},
	{"'%f', -0.0", "-0.000000", ""},
	{"'%.3f', -0.0001", "-0.000", ""},
	{"'%08.3f', -1.5", "-001.500", ""},
	{"'%g', 0", "0", ""},
	{"'%g', 1", "1", ""},
	{"'%g', 100000", "100000", ""},
	{"'%g', 1000000", "1e+06", ""},
	{"'%g', 1e15", "1e+15", ""},
	{"'%g', 0.0001", "0.0001", ""},
	{"'%g', 0.00001", "1e-05", ""},
	{"'%g', 123456789", "1.23457e+08", ""},
	{"'%g', 1.5", "1.5", ""},
	{"'%g', 0.1", "0.1", ""},
	{"'%g', 1/3", "0.333333", ""},
	{"'%g', -1/3", "-0.333333", ""},
	{"'%g', 9.9999995", "10", ""},
	{"'%g', 999999.5", "1e+06", ""},
	{"'%g', 0.000099999995", "0.0001", ""},
	{"'%g', 1e-320", "9.99989e-321", ""},
	{"'%g', 2^63", "9.22337e+18", ""},
	{"'%g', -0.0", "-0", ""},
	{"'%G', 1e-10", "1E-10", ""},
	{"'%G', 1e20", "1E+20", ""},
	{"'%.0g', 0.5", "0.5", ""},
	{"'%.0g', 0", "0", ""},
	{"'%.1g', 0.95", "0.9", ""},
	{"'%.3g', 0.0001234", "0.000123", ""},
	{"'%.10g', 1/3", "0.3333333333", ""},
	{"'%.15g', 0.1", "0.1", ""},
	{"'%.17g', 0.1", "0.10000000000000001", ""},
	{"'%.20g', 0.1", "0.10000000000000000555", ""},
	{"'%#g', 1", "1.00000", ""},
	{"'%#g', 0.0001", "0.000100000", ""},
	{"'%#.3g', 1", "1.00", ""},
	{"'%#.0g', 0", "0.", ""},
	{"'%#g', 999999.5", "1.e+06", ""},
	{"'%#.3g', 999.5", "1.e+03", ""},
	{"'%#10.3g', 999.5", "    1.e+03", ""},
	{"'%#.2g', 99.96", "1.e+02", ""},
	{"'%#.3g', 99.96", "100.", ""},
	{"'%#g', 9.9999996", "10.0000", ""},
	{"'%#.3g', 0.0000999996", "0.000100", ""},
	{"'%#.0g', 999999.5", "1.e+06", ""},
	{"'%#g', 123456789", "1.23457e+08", ""},
	{"'%+g', 1", "+1", ""},
	{"'% g', 1", " 1", ""},
	{"'%10g|', 1.5", "       1.5|", ""},
	{"'%-10g|', 1.5", "1.5       |", ""},
	{"'%010g', -1.5", "-0000001.5", ""},
	{"'%a', 0", "0x0p+0", ""},
	{"'%a', -0.0", "-0x0p+0", ""},
	{"'%a', 1", "0x1p+0", ""},
	{"'%a', 2", "0x1p+1", ""},
	{"'%a', 3", "0x1.8p+1", ""},
	{"'%a', 1.5", "0x1.8p+0", ""},
	{"'%a', 0.1", "0x1.999999999999ap-4", ""},
	{"'%a', -0.1", "-0x1.999999999999ap-4", ""},
	{"'%a', 1e300", "0x1.7e43c8800759cp+996", ""},
	{"'%a', 1e-300", "0x1.56e1fc2f8f359p-997", ""},
	{"'%a', 4.9406564584124654e-324", "0x0.0000000000001p-1022", ""},
	{"'%a', 2.2250738585072014e-308", "0x1p-1022", ""},
	{"'%a', 2.2250738585072009e-308", "0x0.fffffffffffffp-1022", ""},
	{"'%a', 1.7976931348623157e308", "0x1.fffffffffffffp+1023", ""},
	{"'%A', -0.1", "-0X1.999999999999AP-4", ""},
	{"'%A', 255.5", "0X1.FFP+7", ""},
	{"'%.0a', 1", "0x1p+0", ""},
	{"'%.0a', 1.5", "0x2p+0", ""},
	{"'%.0a', 2.5", "0x1p+1", ""},
	{"'%.0a', 3", "0x2p+1", ""},
	{"'%.0a', 1.5 + 2^-52", "0x2p+0", ""},
	{"'%.1a', 1.96875", "0x2.0p+0", ""},
	{"'%.1a', 1.03125", "0x1.0p+0", ""},
	{"'%.1a', 1.09375", "0x1.2p+0", ""},
	{"'%.1a', 1.15625", "0x1.2p+0", ""},
	{"'%.1a', 1.21875", "0x1.4p+0", ""},
	{"'%.2a', 1.999", "0x2.00p+0", ""},
	{"'%.3a', 4.9406564584124654e-324", "0x0.000p-1022", ""},
	{"'%.0a', 2.2250738585072009e-308", "0x1p-1022", ""},
	{"'%.12a', 0.1", "0x1.99999999999ap-4", ""},
	{"'%.13a', 0.1", "0x1.999999999999ap-4", ""},
	{"'%.20a', 1.5", "0x1.80000000000000000000p+0", ""},
	{"'%.0a', 0", "0x0p+0", ""},
	{"'%#.0a', 0", "0x0.p+0", ""},
	{"'%.2a', 0", "0x0.00p+0", ""},
	{"'%#a', 1", "0x1.p+0", ""},
	{"'%#.0a', 1", "0x1.p+0", ""},
	{"'%+a', 1.5", "+0x1.8p+0", ""},
	{"'% a', 1.5", " 0x1.8p+0", ""},
	{"'%020a', -1.5", "-0x000000000001.8p+0", ""},
	{"'%-20a|', -1.5", "-0x1.8p+0           |", ""},
	{"'%+.3A', -255.5", "-0X1.FF0P+7", ""},
	{"'%12.3a|', 1", "  0x1.000p+0|", ""},
	{"'%f', 1/0", "inf", ""},
	{"'%f', -1/0", "-inf", ""},
	{"'%F', 1.5", "", "invalid conversion '%F' to 'format'"},
	{"'%e', 1/0", "inf", ""},
	{"'%E', 1/0", "INF", ""},
	{"'%g', -1/0", "-inf", ""},
	{"'%G', 1/0", "INF", ""},
	{"'%a', 1/0", "inf", ""},
	{"'%A', -1/0", "-INF", ""},
	{"'%010f', 1/0", "       inf", ""},
	{"'%010f', -1/0", "      -inf", ""},
	{"'%-10f|', 1/0", "inf       |", ""},
	{"'%+f', 1/0", "+inf", ""},
	{"'% f', 1/0", " inf", ""},
	{"'%.3f', 1/0", "inf", ""},
	{"'%#g', 1/0", "inf", ""},
	{"'%f', 0/0", "-nan", ""},
	{"'%f', -(0/0)", "nan", ""},
	{"'%+f', -(0/0)", "+nan", ""},
	{"'% g', -(0/0)", " nan", ""},
	{"'%G', 0/0", "-NAN", ""},
	{"'%010f', 0/0", "      -nan", ""},
	{"'%-10f|', -(0/0)", "nan       |", ""},
	{"'%a', 0/0", "-nan", ""},
	{"'%A', -(0/0)", "NAN", ""},
	{"'%s', 'hello'", "hello", ""},
	{"'%s', ''", "", ""},
	{"'%s %s', 'a', 'b'", "a b", ""},
	{"'%s', 42", "42", ""},
	{"'%s', -42", "-42", ""},
	{"'%s', 1.5", "1.5", ""},
	{"'%s', -0.5", "-0.5", ""},
	{"'%s', 0.1", "0.1", ""},
	{"'%s', 1/3", "0.33333333333333", ""},
	{"'%s', 2/3", "0.66666666666667", ""},
	{"'%s', 1e100", "1e+100", ""},
	{"'%s', 1e-300", "1e-300", ""},
	{"'%s', 123.456", "123.456", ""},
	{"'%s', -1e-7", "-1e-07", ""},
	{"'%s', 1.0000000000000002", "1.0", ""},
	{"'%s', 123456789012.00001", "123456789012.0", ""},
	{"'%s', -0.30000000000000004", "-0.3", ""},
	{"'%s', 2^63", "9.2233720368548e+18", ""},
	{"'%s', 1/0", "inf", ""},
	{"'%s', -1/0", "-inf", ""},
	{"'%s', 0/0", "-nan", ""},
	{"'%s', -(0/0)", "nan", ""},
	{"'%s', -9223372036854775807 - 1", "-9223372036854775808", ""},
	{"'%s', nil", "nil", ""},
	{"'%s', true", "true", ""},
	{"'%s', false", "false", ""},
	{"'%s', 'a\\0b'", "a\x00b", ""},
	{"'%5s|', 'ab'", "   ab|", ""},
	{"'%-5s|', 'ab'", "ab   |", ""},
	{"'%.1s|', 'abc'", "a|", ""},
	{"'%.0s|', 'abc'", "|", ""},
	{"'%.s|', 'abc'", "|", ""},
	{"'%5.s|', 'abc'", "     |", ""},
	{"'%5.1s|', 'xyz'", "    x|", ""},
	{"'%-5.1s|', 'xyz'", "x    |", ""},
	{"'%.10s|', 'abc'", "abc|", ""},
	{"'%10s|', 42", "        42|", ""},
	{"'%.2s', 42", "42", ""},
	{"'%.3s', 3.14159", "3.1", ""},
	{"'%5.3s|', '\\195\\169'", "   \xc3\xa9|", ""},
	{"'%-5s|', true", "true |", ""},
	{"'%5s|', nil", "  nil|", ""},
	{"'%s', string.rep('x', 150)", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", ""},
	{"'%5s', string.rep('x', 150)", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", ""},
	{"'%-99s|', string.rep('x', 99)", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx|", ""},
	{"'%99s|', string.rep('y', 100)", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy|", ""},
	{"'%.99s', string.rep('x', 150)", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", ""},
	{"'%99.99s', string.rep('x', 150)", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", ""},
	{"'%s|%s', string.rep('a', 120), string.rep('b', 130)", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", ""},
	{"'%s', setmetatable({}, {__tostring = function() return 'TOSTR' end})", "TOSTR", ""},
	{"'%5s|', setmetatable({}, {__tostring = function() return 'ab' end})", "   ab|", ""},
	{"'%.2s|', setmetatable({}, {__tostring = function() return 'abcdef' end})", "ab|", ""},
	{"'%s', setmetatable({}, {__tostring = function() return 42 end})", "42", ""},
	{"'%s', setmetatable({}, {__tostring = function() return 4.5 end})", "4.5", ""},
	{"'%s', setmetatable({}, {__tostring = setmetatable({}, {__call = function() return 'called' end})})", "called", ""},
	{"'%s', setmetatable({}, {__tostring = function(t) return 'n=' .. t.n end, __index = {n = 7}})", "n=7", ""},
	{"'%s:%d %s', 'file.lua', 42, setmetatable({}, {__tostring = function() return 'ERR' end})", "file.lua:42 ERR", ""},
	{"'%s', setmetatable({}, {__tostring = function() return 'a\\0b' end})", "a\x00b", ""},
	{"'%q', 'foo'", "\"foo\"", ""},
	{"'[%q] = %s', 1, 'x'", "[1] = x", ""},
	{"'%q', ''", "\"\"", ""},
	{"'%q', 'he said \"hi\"\\n'", "\"he said \\\"hi\\\"\\\n\"", ""},
	{"'%q', 'back\\\\slash'", "\"back\\\\slash\"", ""},
	{"'%q', 'a\\0b'", "\"a\\0b\"", ""},
	{"'%q', 'a\\0001'", "\"a\\0001\"", ""},
	{"'%q', '\\0'", "\"\\0\"", ""},
	{"'%q', '\\1\\2\\0031'", "\"\\1\\2\\0031\"", ""},
	{"'%q', '\\r\\n1\\0\\0012\\0033\\2009'", "\"\\13\\\n1\\0\\0012\\0033\xc89\"", ""},
	{"'%q', '\\t'", "\"\\9\"", ""},
	{"'%q', '\\t9'", "\"\\0099\"", ""},
	{"'%q', '\\127'", "\"\\127\"", ""},
	{"'%q', '\\1279'", "\"\\1279\"", ""},
	{"'%q', '\\27[0m'", "\"\\27[0m\"", ""},
	{"'%q', '\\128\\255\\195\\169'", "\"\x80\xff\xc3\xa9\"", ""},
	{"'%q', '\\31\\32'", "\"\\31 \"", ""},
	{"'%q', 42", "42", ""},
	{"'%q', -42", "-42", ""},
	{"'%q', 0", "0", ""},
	{"'%q', -9223372036854775807 - 1", "0x8000000000000000", ""},
	{"'%q', 1.5", "0x1.8p+0", ""},
	{"'%q', -1.5", "-0x1.8p+0", ""},
	{"'%q', 0.5", "0x1p-1", ""},
	{"'%q', 0.1", "0x1.999999999999ap-4", ""},
	{"'%q', 1e100", "0x1.249ad2594c37dp+332", ""},
	{"'%q', -1.5e-300", "-0x1.01297d23ab683p-996", ""},
	{"'%q', 4.9406564584124654e-324", "0x0.0000000000001p-1022", ""},
	{"'%q', 2^63", "0x1p+63", ""},
	{"'%q', 1/0", "1e9999", ""},
	{"'%q', -1/0", "-1e9999", ""},
	{"'%q', 0/0", "(0/0)", ""},
	{"'%q', nil", "nil", ""},
	{"'%q', true", "true", ""},
	{"'%q', false", "false", ""},
	{"'%q', '10'", "\"10\"", ""},
	{"'%q|%q', 'a', 1", "\"a\"|1", ""},
	{"'%p', 1", "(null)", ""},
	{"'%p', 1.5", "(null)", ""},
	{"'%p', nil", "(null)", ""},
	{"'%p', true", "(null)", ""},
	{"'%10p|', nil", "    (null)|", ""},
	{"'%-10p|', false", "(null)    |", ""},
	{"'%5%'", "", "bad argument #2 to 'format' (no value)"},
}

// strFormatErrors: errors, as raised by lua5.4.
var strFormatErrors = []formatCase{
	{"'%d'", "", "bad argument #2 to 'format' (no value)"},
	{"'%d %d', 1", "", "bad argument #3 to 'format' (no value)"},
	{"'%s'", "", "bad argument #2 to 'format' (no value)"},
	{"'%q'", "", "bad argument #2 to 'format' (no value)"},
	{"'%'", "", "bad argument #2 to 'format' (no value)"},
	{"'%5%'", "", "bad argument #2 to 'format' (no value)"},
	{"'%y'", "", "bad argument #2 to 'format' (no value)"},
	{"'%5%', 1", "", "invalid conversion '%5%' to 'format'"},
	{"'%y', 1", "", "invalid conversion '%y' to 'format'"},
	{"'%', 1", "", "invalid conversion '%' to 'format'"},
	{"'%5', 1", "", "invalid conversion '%5' to 'format'"},
	{"'%-', 1", "", "invalid conversion '%-' to 'format'"},
	{"'%.', 1", "", "invalid conversion '%.' to 'format'"},
	{"'%.5', 1", "", "invalid conversion '%.5' to 'format'"},
	{"'%l', 1", "", "invalid conversion '%l' to 'format'"},
	{"'%ld', 1", "", "invalid conversion '%l' to 'format'"},
	{"'%lld', 1", "", "invalid conversion '%l' to 'format'"},
	{"'%hd', 1", "", "invalid conversion '%h' to 'format'"},
	{"'%n', 1", "", "invalid conversion '%n' to 'format'"},
	{"'%b', 1", "", "invalid conversion '%b' to 'format'"},
	{"'%z', 1", "", "invalid conversion '%z' to 'format'"},
	{"'%F', 1", "", "invalid conversion '%F' to 'format'"},
	{"'%\\0d', 1", "", "invalid conversion '%' to 'format'"},
	{"'%5\\0', 1", "", "invalid conversion '%5' to 'format'"},
	{"'%r', 1", "", "invalid conversion '%r' to 'format'"},
	{"'%--------------------d', 1", "1", ""},
	{"'%---------------------d', 1", "", "invalid format (too long)"},
	{"'%123d', 1", "", "invalid conversion specification: '%123d'"},
	{"'%100d', 1", "", "invalid conversion specification: '%100d'"},
	{"'%.123d', 1", "", "invalid conversion specification: '%.123d'"},
	{"'%.100d', 1", "", "invalid conversion specification: '%.100d'"},
	{"'%1.2.3d', 1", "", "invalid conversion specification: '%1.2.3d'"},
	{"'%-5-d', 1", "", "invalid conversion specification: '%-5-d'"},
	{"'%#d', 1", "", "invalid conversion specification: '%#d'"},
	{"'%#i', 1", "", "invalid conversion specification: '%#i'"},
	{"'%+u', 1", "", "invalid conversion specification: '%+u'"},
	{"'% u', 1", "", "invalid conversion specification: '% u'"},
	{"'%#u', 1", "", "invalid conversion specification: '%#u'"},
	{"'%+x', 1", "", "invalid conversion specification: '%+x'"},
	{"'% o', 1", "", "invalid conversion specification: '% o'"},
	{"'%+X', 1", "", "invalid conversion specification: '%+X'"},
	{"'%.3c', 65", "", "invalid conversion specification: '%.3c'"},
	{"'%05c', 65", "", "invalid conversion specification: '%05c'"},
	{"'%+c', 65", "", "invalid conversion specification: '%+c'"},
	{"'%#c', 65", "", "invalid conversion specification: '%#c'"},
	{"'% c', 65", "", "invalid conversion specification: '% c'"},
	{"'%+s', 'a'", "", "invalid conversion specification: '%+s'"},
	{"'%#s', 'a'", "", "invalid conversion specification: '%#s'"},
	{"'%0s', 'a'", "", "invalid conversion specification: '%0s'"},
	{"'% s', 'a'", "", "invalid conversion specification: '% s'"},
	{"'%05s', 'a'", "", "invalid conversion specification: '%05s'"},
	{"'%.3p', true", "", "invalid conversion specification: '%.3p'"},
	{"'%05p', nil", "", "invalid conversion specification: '%05p'"},
	{"'%+p', nil", "", "invalid conversion specification: '%+p'"},
	{"'%5q', 'a'", "", "specifier '%q' cannot have modifiers"},
	{"'%-q', 'a'", "", "specifier '%q' cannot have modifiers"},
	{"'%.1q', 'a'", "", "specifier '%q' cannot have modifiers"},
	{"'%d', nil", "", "bad argument #2 to 'format' (number expected, got nil)"},
	{"'%d', true", "", "bad argument #2 to 'format' (number expected, got boolean)"},
	{"'%d', {}", "", "bad argument #2 to 'format' (number expected, got table)"},
	{"'%d', 'abc'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', ''", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', '10 x'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', '- 5'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', '1e'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', 'inf'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', 'nan'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', '0x'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', 1.5", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%d', -0.5", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%d', 2^63", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%d', 1e100", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%d', 1/0", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%d', 0/0", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%d', '1.5'", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%d', '1e500'", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%d', '9223372036854775808'", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%x', 1.5", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%c', 1.5", "", "bad argument #2 to 'format' (number has no integer representation)"},
	{"'%c', nil", "", "bad argument #2 to 'format' (number expected, got nil)"},
	{"'%o', true", "", "bad argument #2 to 'format' (number expected, got boolean)"},
	{"'%u', 'x'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%f', nil", "", "bad argument #2 to 'format' (number expected, got nil)"},
	{"'%f', 'abc'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%f', '1_0'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%f', 'infinity'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%f', '0x1p'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%e', {}", "", "bad argument #2 to 'format' (number expected, got table)"},
	{"'%g', false", "", "bad argument #2 to 'format' (number expected, got boolean)"},
	{"'%a', 'x'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%5.1f', nil", "", "bad argument #2 to 'format' (number expected, got nil)"},
	{"'%.3c', nil", "", "invalid conversion specification: '%.3c'"},
	{"'%#d', 'x'", "", "bad argument #2 to 'format' (number expected, got string)"},
	{"'%d', setmetatable({}, {__name = 'MyType'})", "", "bad argument #2 to 'format' (number expected, got MyType)"},
	{"'%d', setmetatable({}, {__name = 42})", "", "bad argument #2 to 'format' (number expected, got table)"},
	{"'%f', print", "", "bad argument #2 to 'format' (number expected, got function)"},
	{"'%q', {}", "", "bad argument #2 to 'format' (value has no literal form)"},
	{"'%q', print", "", "bad argument #2 to 'format' (value has no literal form)"},
	{"'%q', setmetatable({}, {__tostring = function() return 'x' end})", "", "bad argument #2 to 'format' (value has no literal form)"},
	{"'%s', setmetatable({}, {__tostring = function() return true end})", "", "'__tostring' must return a string"},
	{"'%s', setmetatable({}, {__tostring = function() return nil end})", "", "'__tostring' must return a string"},
	{"'%s', setmetatable({}, {__tostring = function() error('boom') end})", "", "boom"},
	{"'%5s', 'a\\0b'", "", "bad argument #2 to 'format' (string contains zeros)"},
	{"'%.1s', 'a\\0b'", "", "bad argument #2 to 'format' (string contains zeros)"},
	{"'%-s', 'a\\0b'", "", "bad argument #2 to 'format' (string contains zeros)"},
	{"nil", "", "bad argument #1 to 'format' (string expected, got nil)"},
	{"true", "", "bad argument #1 to 'format' (string expected, got boolean)"},
	{"{}", "", "bad argument #1 to 'format' (string expected, got table)"},
	{"setmetatable({}, {__name = 'X'})", "", "bad argument #1 to 'format' (string expected, got X)"},
}

func TestStringFormatGolden(t *testing.T) {
	checkFormatCases(t, newFormatState(t), strFormatGolden)
}

func TestStringFormatErrors(t *testing.T) {
	checkFormatCases(t, newFormatState(t), strFormatErrors)
}

// TestStringFormatIntegerRule pins kumopolicy's number rule where it
// departs from Lua 5.4 (which keeps 3.0 a float): gopher-lua has only
// float64, and a number that is integral and fits in int64 is an integer.
func TestStringFormatIntegerRule(t *testing.T) {
	checkFormatCases(t, newFormatState(t), []formatCase{
		{"'%d', 3.0", "3", ""},
		{"'%i', -7.0", "-7", ""},
		{"'%x', -1", "ffffffffffffffff", ""},
		{"'%X', -1.0", "FFFFFFFFFFFFFFFF", ""},
		{"'%o', -1", "1777777777777777777777", ""},
		{"'%u', -1", "18446744073709551615", ""},
		{"'%s', 3.0", "3", ""},                 // lua5.4: 3.0
		{"'%s', 2^53", "9007199254740992", ""}, // lua5.4: 9.007199254741e+15
		{"'%s', 1e15", "1000000000000000", ""}, // lua5.4: 1e+15
		{"'%s', -0.0", "0", ""},                // lua5.4: -0.0
		{"'%q', 3.0", "3", ""},                 // lua5.4: 0x1.8p+1
		{"'%q', 2^53", "9007199254740992", ""}, // lua5.4: 0x1p+53
		{"'%q', -0.0", "0", ""},                // lua5.4: -0x0p+0
		{"'%q', -2^63", "0x8000000000000000", ""},
		{"'%s', -2^63", "-9223372036854775808", ""},
		{"'%d', -2^63", "-9223372036854775808", ""},
		{"'%x', -2^63", "8000000000000000", ""},
		// 2^63 does not fit in int64: a float, as in Lua.
		{"'%s', 2^63", "9.2233720368548e+18", ""},
		{"'%q', 2^63", "0x1p+63", ""},
		{"'%d', 2^63", "", "bad argument #2 to 'format' (number has no integer representation)"},
		// Float conversions keep the sign of zero.
		{"'%f', -0.0", "-0.000000", ""},
		{"'%g', -0.0", "-0", ""},
		{"'%a', -0.0", "-0x0p+0", ""},
		{"'%d', -0.0", "0", ""},
		// Integers read from strings keep all 64 bits.
		{"'%d', '9007199254740993'", "9007199254740993", ""},
		{"'%d', '9223372036854775807'", "9223372036854775807", ""},
		{"'%x', '0x7fffffffffffffff'", "7fffffffffffffff", ""},
		{"'%d', '0x8000000000000000'", "-9223372036854775808", ""},
		{"'%s', '9223372036854775807'", "9223372036854775807", ""},
		// A number as the format string renders like tostring.
		{"12", "12", ""},
		{"1.5", "1.5", ""},
		{"12.0", "12", ""},
	})
}

// TestStringFormatKumoPolicyHelpers covers what KumoMTA's own policy
// helpers and their tests rely on.
func TestStringFormatKumoPolicyHelpers(t *testing.T) {
	L := newFormatState(t)
	checkFormatCases(t, L, []formatCase{
		{"'[%q] = %s', 1, 'x'", "[1] = x", ""},
		{"'%q', 'foo'", `"foo"`, ""},
		{"'%s:%d %s', 'file.lua', 42, setmetatable({}, {__tostring = function() return 'boom' end})", "file.lua:42 boom", ""},
		{"'%s:%d: %s', 'typing.lua', 27, 'expected string'", "typing.lua:27: expected string", ""},
		{"'http://%s:%d', '10.0.0.1', 8008", "http://10.0.0.1:8008", ""},
		{"'%d', nil", "", "bad argument #2 to 'format' (number expected, got nil)"},
	})
}

func TestStringFormatMethodForm(t *testing.T) {
	L := newFormatState(t)
	for _, c := range []struct{ src, want string }{
		{`return ("%d"):format(1)`, "1"},
		{`return ("%5.1f|%-3s|%q"):format(3.14159, 'x', 'a\0b')`, "  3.1|x  |\"a\\0b\""},
		{`local s = "%s=%s" return s:format('k', setmetatable({}, {__tostring = function() return 'v' end}))`, "k=v"},
		{`local s = "%x" return s.format(s, 255)`, "ff"},
		{`return string.format == ("").format`, "true"},
	} {
		got, msg := runChunk(t, L, c.src)
		if msg != "" || got != c.want {
			t.Errorf("%s = %q (error %q), want %q", c.src, got, msg, c.want)
		}
	}
	// Lua 5.4 does not count self in a method call's argument numbers;
	// gopher-lua does not tell method calls apart, so the number is that
	// of string.format(s, ...).
	_, msg := runChunk(t, L, `return ("%d"):format(nil)`)
	if want := "t:1: bad argument #2 to 'format' (number expected, got nil)"; msg != want {
		t.Errorf("method-call error = %q, want %q", msg, want)
	}
}

// TestStringFormatErrorPosition: errors carry the caller's position like
// luaL_error, and name the function the way Lua does.
func TestStringFormatErrorPosition(t *testing.T) {
	L := newFormatState(t)
	for _, c := range []struct{ src, want string }{
		{"return string.format('%d')", "t:1: bad argument #2 to 'format' (no value)"},
		{"local x = 1\n\nreturn string.format('%d', x, 2) .. string.format('%y', 1)", "t:3: invalid conversion '%y' to 'format'"},
		{"local function f()\n  return string.format('%5q', 1)\nend\nreturn f()", "t:2: specifier '%q' cannot have modifiers"},
		{"local f = string.format\nreturn f('%d', 'x')", "t:2: bad argument #2 to 'f' (number expected, got string)"},
		{"fmt = string.format\nreturn fmt('%d', 1.5)", "t:2: bad argument #2 to 'fmt' (number has no integer representation)"},
		{"return string.format()", "t:1: bad argument #1 to 'format' (string expected, got no value)"},
		// Called from Go (pcall): no position, global name.
		{"local ok, e = pcall(string.format, '%d') return e", "bad argument #2 to 'string.format' (no value)"},
		{"local ok, e = pcall(string.format, '%.123d', 1) return e", "invalid conversion specification: '%.123d'"},
	} {
		got, msg := runChunk(t, L, c.src)
		if msg == "" {
			msg = got
		}
		if msg != c.want {
			t.Errorf("%q: error %q, want %q", c.src, msg, c.want)
		}
	}
}

func TestStringFormatNamesAndPointers(t *testing.T) {
	L := newFormatState(t)
	ptr := `0x[0-9a-f]+`
	for _, c := range []struct{ src, pattern string }{
		{`return string.format('%s', setmetatable({}, {__name = 'MyType'}))`, `^MyType: ` + ptr + `$`},
		{`return string.format('%s', setmetatable({}, {__name = 42}))`, `^table: ` + ptr + `$`},
		{`local t = {} return string.format('%s', t) == tostring(t)`, `^true$`},
		{`local f = function() end return string.format('%s', f) == tostring(f)`, `^true$`},
		{`return string.format('%s', coroutine.create(function() end))`, `^thread: ` + ptr + `$`},
		{`local t = {} return string.format('%p', t) == tostring(t):sub(8)`, `^true$`},
		{`local t = setmetatable({}, {__name = 'N'}) return string.format('%s', t) == 'N: ' .. string.format('%p', t)`, `^true$`},
		{`return string.format('%p', 'abc')`, `^` + ptr + `$`},
		{`return string.format('%p', '')`, `^` + ptr + `$`},
		{`return string.format('%p', print)`, `^` + ptr + `$`},
		{`return string.format('%-20p|', {})`, `^` + ptr + ` +\|$`},
		{`return string.format('%20p|', {})`, `^ +` + ptr + `\|$`},
		{`return string.format('%5s', setmetatable({}, {__name = 'Long'}))`, `^Long: ` + ptr + `$`},
	} {
		got, msg := runChunk(t, L, c.src)
		if msg != "" || !regexp.MustCompile(c.pattern).MatchString(got) {
			t.Errorf("%s = %q (error %q), want match %s", c.src, got, msg, c.pattern)
		}
	}
}

// TestStringFormatUserdata: __tostring and __name on Go userdata.
func TestStringFormatUserdata(t *testing.T) {
	L := newFormatState(t)
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("kumo.Thing"))
	ud := L.NewUserData()
	ud.Metatable = mt
	L.SetGlobal("plain", ud)
	mt2 := L.NewTable()
	mt2.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("thing<" + L.CheckUserData(1).Value.(string) + ">"))
		return 1
	}))
	ud2 := L.NewUserData()
	ud2.Value = "x"
	ud2.Metatable = mt2
	L.SetGlobal("shown", ud2)

	got, msg := runChunk(t, L, `return string.format('%s|%8s|%-8s|%.5s', shown, shown, shown, shown)`)
	if want := "thing<x>|thing<x>|thing<x>|thing"; msg != "" || got != want {
		t.Errorf("got %q (error %q), want %q", got, msg, want)
	}
	got, msg = runChunk(t, L, `return string.format('%s', plain)`)
	if msg != "" || !regexp.MustCompile(`^kumo\.Thing: 0x[0-9a-f]+$`).MatchString(got) {
		t.Errorf("got %q (error %q)", got, msg)
	}
	_, msg = runChunk(t, L, `return string.format('%d', plain)`)
	if want := "t:1: bad argument #2 to 'format' (number expected, got kumo.Thing)"; msg != want {
		t.Errorf("got error %q, want %q", msg, want)
	}
	_, msg = runChunk(t, L, `return string.format('%q', shown)`)
	if want := "t:1: bad argument #2 to 'format' (value has no literal form)"; msg != want {
		t.Errorf("got error %q, want %q", msg, want)
	}
}

// TestStringFormatLongStrings: %s keeps long strings whole, including
// under a width (Lua does not pad strings of 100 bytes or more).
func TestStringFormatLongStrings(t *testing.T) {
	L := newFormatState(t)
	long := strings.Repeat("0123456789", 30)
	L.SetGlobal("long", lua.LString(long))
	for _, c := range []struct{ args, want string }{
		{"'%s', long", long},
		{"'<%s>', long", "<" + long + ">"},
		{"'%50s', long", long},
		{"'%-99s', long", long},
		{"'%.99s', long", long[:99]},
		{"'%.10s', long", long[:10]},
		{"'%s%s', long, long", long + long},
		{"'%s', string.rep('ab', 5000)", strings.Repeat("ab", 5000)},
		{"'%q', string.rep('a\\n', 200)", `"` + strings.Repeat("a\\\n", 200) + `"`},
		{"'%99s', string.rep('z', 99)", strings.Repeat("z", 99)},
		{"'%99s', string.rep('z', 98)", " " + strings.Repeat("z", 98)},
	} {
		got, msg := evalFormat(t, L, c.args)
		if msg != "" || got != c.want {
			t.Errorf("string.format(%s): got %d bytes %.40q… (error %q), want %d bytes", c.args, len(got), got, msg, len(c.want))
		}
	}
}

// TestStringFormatToStringCalls: %s calls __tostring once per use, in
// argument order, and an error inside it propagates.
func TestStringFormatToStringCalls(t *testing.T) {
	L := newFormatState(t)
	got, msg := runChunk(t, L, `
local log = {}
local function obj(name)
  return setmetatable({}, {__tostring = function() log[#log + 1] = name return name end})
end
local s = string.format('%s-%s-%s', obj('a'), obj('b'), obj('a'))
return s .. ' ' .. table.concat(log, ',')`)
	if want := "a-b-a a,b,a"; msg != "" || got != want {
		t.Errorf("got %q (error %q), want %q", got, msg, want)
	}
	_, msg = runChunk(t, L, `return string.format('%s', setmetatable({}, {__tostring = function() error('inner', 0) end}))`)
	if msg != "inner" {
		t.Errorf("got error %q, want %q", msg, "inner")
	}
}

// TestStringFormatInRuntime checks that the runtime's states use this
// string.format for both call forms.
func TestStringFormatInRuntime(t *testing.T) {
	rt := New(Options{
		PolicyFile:   "x.lua",
		PolicySource: []byte(`result = string.format('%q|%s|%5.2f', 1, setmetatable({}, {__tostring = function() return 'T' end}), 2.5) .. ('|%d'):format(3.0)`),
		SystemRoots:  []string{},
	})
	defer rt.Close()
	s, err := rt.NewStandaloneState()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.L.GetGlobal("result").String(), "1|T| 2.50|3"; got != want {
		t.Errorf("result = %q, want %q", got, want)
	}
	if err := s.L.DoString(`return string.format('%d', nil)`); err == nil ||
		!strings.Contains(err.Error(), "bad argument #2 to 'format' (number expected, got nil)") {
		t.Errorf("error = %v", err)
	}
}

func TestParseLuaNumber(t *testing.T) {
	for _, c := range []struct {
		in    string
		ok    bool
		isInt bool
		i     int64
		f     float64
	}{
		{"10", true, true, 10, 10},
		{" -10\t", true, true, -10, -10},
		{"+7", true, true, 7, 7},
		{"0x10", true, true, 16, 16},
		{"-0X1f", true, true, -31, -31},
		{"0xffffffffffffffff", true, true, -1, -1},
		{"0x10000000000000001", true, true, 1, 1},
		{"9223372036854775807", true, true, 9223372036854775807, 9223372036854775807},
		{"-9223372036854775808", true, true, -9223372036854775808, -9223372036854775808},
		{"9223372036854775808", true, false, 0, 9223372036854775808},
		{"1.5", true, false, 0, 1.5},
		{".5", true, false, 0, 0.5},
		{"5.", true, false, 0, 5},
		{"1e2", true, false, 0, 100},
		{"1E-2", true, false, 0, 0.01},
		{"0x1p4", true, false, 0, 16},
		{"0x.8", true, false, 0, 0.5},
		{"0xA.8P1", true, false, 0, 21},
		{"", false, false, 0, 0},
		{"  ", false, false, 0, 0},
		{".", false, false, 0, 0},
		{"0x", false, false, 0, 0},
		{"0x.", false, false, 0, 0},
		{"1e", false, false, 0, 0},
		{"1e+", false, false, 0, 0},
		{"0x1p", false, false, 0, 0},
		{"1_000", false, false, 0, 0},
		{"0x1_0", false, false, 0, 0},
		{"inf", false, false, 0, 0},
		{"nan", false, false, 0, 0},
		{"1 2", false, false, 0, 0},
		{"--1", false, false, 0, 0},
		{"1.2.3", false, false, 0, 0},
	} {
		n, ok := parseLuaNumber(c.in)
		if ok != c.ok || ok && (n.isInt != c.isInt || n.isInt && n.i != c.i || n.f != c.f) {
			t.Errorf("parseLuaNumber(%q) = %+v, %v; want ok=%v isInt=%v i=%d f=%g", c.in, n, ok, c.ok, c.isInt, c.i, c.f)
		}
	}
}

// Differential test against a real Lua 5.4 interpreter.

// diffValues are Lua expressions that mean the same value under Lua 5.4
// and under kumopolicy's number rule (no integral floats, no integers
// beyond 2^53 except math.mininteger). A true flag masks addresses.
var diffValues = []struct {
	src  string
	mask bool
}{
	{"0", false}, {"1", false}, {"-1", false}, {"7", false}, {"42", false},
	{"-42", false}, {"65", false}, {"255", false}, {"1000", false},
	{"65535", false}, {"100000", false}, {"123456789", false},
	{"-123456789", false}, {"2147483648", false}, {"4294967295", false},
	{"9007199254740992", false}, {"-9007199254740992", false},
	{"(-9223372036854775807 - 1)", false},
	{"0.5", false}, {"-0.5", false}, {"1.5", false}, {"-1.5", false},
	{"2.5", false}, {"3.14159", false}, {"-2.675", false}, {"0.1", false},
	{"1/3", false}, {"-2/3", false}, {"1e-5", false}, {"1.5e-7", false},
	{"123456.789", false}, {"9.9999995", false}, {"999999.5", false},
	{"0.000099999995", false}, {"1.0000000000000002", false},
	{"123456789012.00001", false}, {"1e100", false}, {"-1e300", false},
	{"1e-300", false}, {"5e-324", false}, {"2.2250738585072014e-308", false},
	{"2.2250738585072009e-308", false}, {"1.7976931348623157e308", false},
	{"1e21", false}, {"2^63", false}, {"0.05", false}, {"123.456", false},
	{"1/0", false}, {"-1/0", false}, {"0/0", false}, {"-(0/0)", false},
	{"''", false}, {"'abc'", false}, {"'hello world'", false}, {"'a\\0b'", false},
	{`'"q"\n\\'`, false}, {"'\\r\\t\\1\\0012'", false}, {"'\\195\\169'", false},
	{"string.rep('x', 150)", false}, {"string.rep('y', 99)", false},
	{"'10'", false}, {"' 0x1F '", false}, {"'1e2'", false}, {"'3.5'", false},
	{"'-7'", false}, {"'abc1'", false}, {"'\\127\\128\\255'", false},
	{"'0x1p-2'", false}, {"'1e500'", false}, {"'%d'", false},
	{"nil", false}, {"true", false}, {"false", false},
	{"{}", true}, {"print", true}, {"function() end", true},
	{"setmetatable({}, {__tostring = function() return 'TS' end})", false},
	{"setmetatable({}, {__tostring = function() return 12 end})", false},
	{"setmetatable({}, {__tostring = function() return 1.25 end})", false},
	{"setmetatable({}, {__name = 'NamedT'})", true},
}

// diffSpecs are conversion specifications tried with every diffValue.
var diffSpecs = []string{
	"%d", "%5d", "%-5d|", "%05d", "%+d", "% d", "%.3d", "%8.3d", "%-+8.3d|",
	"%i", "%u", "%08u", "%o", "%#o", "%#.3o", "%x", "%#x", "%X", "%#10X",
	"%-#10x|", "%.0x", "%c", "%5c", "%-5c|",
	"%e", "%.3e", "%E", "%#.0e", "%+12.4e", "%-12.2E|", "%012.3e",
	"%f", "%.0f", "%.2f", "%10.3f", "%-10.1f|", "%+f", "% f", "%#.0f",
	"%010.2f", "%.20f", "%.99f",
	"%g", "%.3g", "%#g", "%G", "%.10g", "%.17g", "%-12g|", "%012g", "%+g",
	"%#.0g", "%.0g", "%.14g", "%.99g",
	"%a", "%A", "%.0a", "%.3a", "%#a", "%+a", "%020a", "%-20A|", "%.13a",
	"%.20a",
	"%s", "%5s", "%-5s|", "%.2s", "%10.3s", "%.0s", "%99s", "%.99s",
	"%q", "%p", "%10p", "%-10p|",
	"%y", "%10q", "%#d", "%+x", "%.3c", "%100d", "%ld", "%", "%5", "%F",
	"%-", "% s", "%05s", "<%s|%%>",
}

// diffScript formats every spec with every value and returns a list with
// one entry per case: "ok " or "err " followed by the result or the error
// message (without its position). Addresses, and the padding around them
// (which depends on their length), are masked for the flagged values and
// for %p.
func diffScript(specs []string) string {
	var b strings.Builder
	b.WriteString("local specs = {\n")
	for _, s := range specs {
		fmt.Fprintf(&b, "  %s,\n", luaQuote(s))
	}
	b.WriteString("}\nlocal values = {\n")
	for _, v := range diffValues {
		fmt.Fprintf(&b, "  {function() return %s end, %v},\n", v.src, v.mask)
	}
	b.WriteString(`}
local out = {}
for _, spec in ipairs(specs) do
  for _, value in ipairs(values) do
    local ok, r = pcall(function() return string.format(spec, value[1]()) end)
    r = tostring(r)
    if not ok then r = r:gsub('^[^\n]-:%d+: ', '') end
    if value[2] or spec:find('p') then
      r = r:gsub('0x%x+', '0xPTR'):gsub('^ +', ''):gsub(' +(|?)$', '%1')
    end
    out[#out + 1] = (ok and 'ok ' or 'err ') .. r
  end
end
return out
`)
	return b.String()
}

// diffWriter is appended to the script for lua5.4: each entry is written
// as its length, a newline, and its bytes.
const diffWriter = `for _, e in ipairs(run()) do io.write(#e, '\n', e) end`

// luaQuote writes s as a Lua string literal using only decimal escapes.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\'' || c == '\\' {
			fmt.Fprintf(&b, "\\%03d", c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// randomSpecs generates conversion specifications from the grammar Lua
// parses, valid and invalid, deterministically.
func randomSpecs(n int) []string {
	r := rand.New(rand.NewPCG(54, 5))
	const flags = "-+ #0"
	const convs = "cdiuoxXaAeEfgGsqpyFlhn%"
	specs := make([]string, 0, n)
	for range n {
		var b strings.Builder
		b.WriteByte('%')
		for range r.IntN(3) {
			b.WriteByte(flags[r.IntN(len(flags))])
		}
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "%d", r.IntN(120))
		}
		if r.IntN(2) == 0 {
			b.WriteByte('.')
			if r.IntN(4) != 0 {
				fmt.Fprintf(&b, "%d", r.IntN(120))
			}
		}
		b.WriteByte(convs[r.IntN(len(convs))])
		specs = append(specs, b.String())
	}
	return specs
}

func TestStringFormatDifferential(t *testing.T) {
	lua54 := sharedref.Tool(t, "lua5.4")
	specs := append(append([]string{}, diffSpecs...), randomSpecs(250)...)
	script := diffScript(specs)
	path := filepath.Join(t.TempDir(), "diff.lua")
	src := "local function run()\n" + script + "\nend\n" + diffWriter + "\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(lua54, path)
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("lua5.4: %v: %s", err, stderr.String())
	}
	var want []string
	for len(raw) > 0 {
		nl := bytes.IndexByte(raw, '\n')
		n, err := strconv.Atoi(string(raw[:max(nl, 0)]))
		if nl < 0 || err != nil || nl+1+n > len(raw) {
			t.Fatalf("cannot parse lua5.4 output after %d entries", len(want))
		}
		want = append(want, string(raw[nl+1:nl+1+n]))
		raw = raw[nl+1+n:]
	}

	L := newFormatState(t)
	if err := L.DoString(script); err != nil {
		t.Fatal(err)
	}
	var got []string
	results := L.Get(-1).(*lua.LTable)
	for i := 1; i <= results.Len(); i++ {
		got = append(got, results.RawGetInt(i).String())
	}
	if len(got) != len(want) || len(got) != len(specs)*len(diffValues) {
		t.Fatalf("got %d results, lua5.4 gave %d, want %d", len(got), len(want), len(specs)*len(diffValues))
	}
	failures := 0
	for i := range want {
		if got[i] == want[i] {
			continue
		}
		failures++
		if failures <= 40 {
			spec := specs[i/len(diffValues)]
			value := diffValues[i%len(diffValues)].src
			t.Errorf("string.format(%q, %s):\n   got %q\n  want %q", spec, value, got[i], want[i])
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d cases differ from lua5.4", failures, len(want))
	}
	t.Logf("%d cases compared with %s", len(want), lua54)
}

func BenchmarkStringFormat(b *testing.B) {
	L := newFormatState(b)
	fn, err := L.LoadString(`return string.format('%s:%d %s [%q] %5.2f %x', 'file.lua', 42, 'message', 'k', 3.14159, 255)`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		L.Push(fn)
		if err := L.PCall(0, 1, nil); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
	}
}
