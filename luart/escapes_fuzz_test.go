package luart

import (
	"bytes"
	"testing"
)

// FuzzRewriteEscapes: the rewrite never panics and never changes the
// number of lines (error positions must keep pointing at the right line).
func FuzzRewriteEscapes(f *testing.F) {
	for _, s := range []string{`"\x41"`, `'\u{1F600}'`, "'a\\z  b'", "--[==[ \\x41 ]==]", `"\\x41"`, "[[\\x]]", `"\x4`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := rewriteEscapes(src, "f.lua")
		if err != nil {
			return
		}
		if bytes.Count(out, []byte{'\n'}) != bytes.Count(src, []byte{'\n'}) {
			t.Fatalf("line count changed:\n%q\n%q", src, out)
		}
	})
}

// FuzzCompileSource: compiling arbitrary text returns a chunk or an
// error, never a panic.
func FuzzCompileSource(f *testing.F) {
	for _, s := range []string{"return 1", "local x = {a = 1, [2] = 'b'}", "function f(...) return ... end", "x = = 1", "goto l ::l::", "#!/usr/bin/env lua\nreturn 1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		compileSource(src, "f.lua")
	})
}
