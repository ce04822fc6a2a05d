package main

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The command is wiring over kumopolicy.Host: it reaches no Lua value, so
// it imports neither gopher-lua nor the runtime nor the kumo bindings.
func TestCommandImportsNoLua(t *testing.T) {
	banned := map[string]bool{
		"github.com/yuin/gopher-lua":                    true,
		"github.com/kumopolicy/kumopolicy/luart":        true,
		"github.com/kumopolicy/kumopolicy/modules/kumo": true,
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if banned[path] {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files found")
	}
}
