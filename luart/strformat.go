package luart

import lua "github.com/yuin/gopher-lua"

// installStringFormat replaces string.format with a Lua 5.4 faithful
// implementation. (Placeholder: keeps gopher-lua's until strformat lands.)
func installStringFormat(L *lua.LState) {}
