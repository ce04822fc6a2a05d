package luart_test

import (
	"fmt"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// bigLiteralTable is a chunk holding one table constructor with n
// string-keyed entries: 2n distinct string constants in one function, the
// shape of a generated data file (a suppression list, a domain map).
func bigLiteralTable(n int) string {
	var b strings.Builder
	b.WriteString("local t = {\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  [\"key%05d\"] = \"value%05d\",\n", i, i)
	}
	b.WriteString("}\nreturn t\n")
	return b.String()
}

// BenchmarkCompileLiteralTable50k parses and compiles a 50,000-entry
// literal table (docs/BENCHMARKS.md, "Compiling a 50,000-entry literal
// table").
func BenchmarkCompileLiteralTable50k(b *testing.B) {
	src := bigLiteralTable(50000)
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		chunk, err := parse.Parse(strings.NewReader(src), "big.lua")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := lua.Compile(chunk, "big.lua"); err != nil {
			b.Fatal(err)
		}
	}
}

// Equal constants share one slot in the constant table, however many
// there are: the compiler's constant lookup is by value.
func TestCompileSharesConstants(t *testing.T) {
	var b strings.Builder
	b.WriteString("return {\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&b, "  {\"k%d\", \"k%d\", %d, %d, %d.5},\n", i%1000, i%1000, i%700, i%700, i%700)
	}
	b.WriteString("}\n")
	chunk, err := parse.Parse(strings.NewReader(b.String()), "c.lua")
	if err != nil {
		t.Fatal(err)
	}
	proto, err := lua.Compile(chunk, "c.lua")
	if err != nil {
		t.Fatal(err)
	}
	// 1,000 strings, 700 integers (1..699 and 0) and 700 halves.
	if got, want := len(proto.Constants), 1000+700+700; got != want {
		t.Errorf("%d constants, want %d", got, want)
	}
	L := lua.NewState()
	defer L.Close()
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 1, nil); err != nil {
		t.Fatal(err)
	}
	row := L.Get(-1).(*lua.LTable).RawGetInt(2999).(*lua.LTable)
	if row.RawGetInt(1).String() != "k998" || row.RawGetInt(5).String() != "198.5" {
		t.Errorf("row 2999 = %v %v", row.RawGetInt(1), row.RawGetInt(5))
	}
}
