package luart

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// protoCache compiles each Lua file once per (path, size, mtime) so that
// building a state does not re-parse the policy and its modules.
type protoCache struct {
	mu      sync.Mutex
	entries map[string]protoEntry
}

type protoEntry struct {
	size  int64
	mtime time.Time
	proto *lua.FunctionProto
}

func newProtoCache() *protoCache { return &protoCache{entries: map[string]protoEntry{}} }

func (c *protoCache) load(file string) (*lua.FunctionProto, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	e, ok := c.entries[file]
	c.mu.Unlock()
	if ok && e.size == st.Size() && e.mtime.Equal(st.ModTime()) {
		return e.proto, nil
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	proto, err := compileSource(src, file)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[file] = protoEntry{size: st.Size(), mtime: st.ModTime(), proto: proto}
	c.mu.Unlock()
	return proto, nil
}

// embeddedProto compiles an embedded module once; embedded files never change.
func (c *protoCache) embedded(fsys fs.FS, name string) (*lua.FunctionProto, error) {
	key := "\x00embedded:" + name
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return e.proto, nil
	}
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	proto, err := compileSource(src, EmbeddedChunkPrefix+name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[key] = protoEntry{proto: proto}
	c.mu.Unlock()
	return proto, nil
}

// EmbeddedChunkPrefix prefixes the chunk names of modules loaded from the
// binary, so error positions say where the code came from.
const EmbeddedChunkPrefix = "[embedded]/"

// compileSource parses and compiles a chunk. A leading #! line is skipped
// (as the lua interpreter does) while keeping line numbers.
func compileSource(src []byte, name string) (*lua.FunctionProto, error) {
	if bytes.HasPrefix(src, []byte("#")) {
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			src = append([]byte("--"), src[i:]...)
		} else {
			src = nil
		}
	}
	src, err := rewriteEscapes(src, name)
	if err != nil {
		return nil, err
	}
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, syntaxError(err, name)
	}
	proto, err := lua.Compile(chunk, name)
	var ce *lua.CompileError
	if errors.As(err, &ce) {
		// Worded as Lua 5.4's "file:line: message" (an assignment to a
		// <const> local, a goto with no label), not gopher-lua's
		// "compile error near line(N) file: message".
		return nil, &SyntaxError{File: name, Line: ce.Line, Message: ce.Message}
	}
	return proto, err
}

// SyntaxError is a Lua parse error with its position, rendered as
// `file:line:column: message near 'token'`, or an error the compiler found
// (no column, no token), rendered as `file:line: message`.
type SyntaxError struct {
	File         string
	Line, Column int
	Message      string
	Near         string
}

func (e *SyntaxError) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s at end of file", e.File, e.Message)
	}
	if e.Column <= 0 && e.Near == "" { // found by the compiler, not the parser
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s near '%s'", e.File, e.Line, e.Column, e.Message, e.Near)
}

func syntaxError(err error, name string) error {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return &SyntaxError{File: name, Line: pe.Pos.Line, Column: pe.Pos.Column, Message: strings.TrimSpace(pe.Message), Near: pe.Token}
}

// SearchPath returns the package.path a new state starts with: the
// configured search roots, the system roots (/opt/kumomta/share then
// /opt/kumomta/etc/policy), then gopher-lua's default (LUA_PATH or the
// compiled-in path, which starts with ./?.lua).
func (rt *Runtime) SearchPath() string {
	var parts []string
	for _, root := range append(append([]string{}, rt.opts.SearchRoots...), rt.opts.SystemRoots...) {
		root = strings.TrimRight(root, "/")
		if root == "" {
			root = "."
		}
		parts = append(parts, root+"/?.lua", root+"/?/init.lua")
	}
	def := os.Getenv(lua.LuaPath)
	if def == "" {
		def = lua.LuaPathDefault
	}
	def = strings.ReplaceAll(def, ";;", ";"+lua.LuaPathDefault+";")
	return strings.Join(parts, ";") + ";" + def
}

// installRequire sets package.path and replaces gopher-lua's file loader
// with one that caches compiled chunks, then adds the embedded fallback.
func (rt *Runtime) installRequire(s *State) {
	L := s.L
	pkg := L.GetGlobal("package").(*lua.LTable)
	pkg.RawSetString("path", lua.LString(rt.SearchPath()))
	L.SetGlobal("require", L.NewFunction(rt.require))
	loaders := L.GetField(pkg, "loaders").(*lua.LTable)
	loaders.RawSetInt(2, L.NewFunction(rt.fileLoader))
	if rt.opts.Embedded != nil {
		loaders.RawSetInt(3, L.NewFunction(rt.embeddedLoader))
	}
}

// requireLoading marks a module whose chunk is running (or failed), as
// Lua 5.1's require does, to detect loops.
var requireLoading = &lua.LUserData{}

// require is Lua 5.1's require (package.loaded, then package.loaders in
// order, the same messages) with one addition: outside an event handler,
// the module's chunk runs with its own time budget (Options.Timeout), and
// the requiring chunk's clock stops meanwhile. The chunk is called
// unprotected, so an error keeps the whole stack for the traceback.
func (rt *Runtime) require(L *lua.LState) int {
	name := L.CheckString(1)
	reg := L.Get(lua.RegistryIndex)
	loaded := L.GetField(reg, "_LOADED")
	if lv := L.GetField(loaded, name); lua.LVAsBool(lv) {
		if lv == requireLoading {
			L.RaiseError("loop or previous error loading module: %s", name)
		}
		L.Push(lv)
		return 1
	}
	loaders, ok := L.GetField(reg, "_LOADERS").(*lua.LTable)
	if !ok {
		L.RaiseError("package.loaders must be a table")
	}
	var messages []string
	var chunk *lua.LFunction
	for i := 1; chunk == nil; i++ {
		loader := loaders.RawGetInt(i)
		if loader == lua.LNil {
			L.Error(lua.LString(Where(L, 1)+moduleNotFound(name, messages)), 0)
		}
		L.Push(loader)
		L.Push(lua.LString(name))
		L.Call(1, 1)
		switch v := L.Get(-1).(type) {
		case *lua.LFunction:
			chunk = v
		case lua.LString:
			messages = append(messages, string(v))
		}
		L.Pop(1)
	}
	L.SetField(loaded, name, requireLoading)

	what := fmt.Sprintf("require '%s'", name)
	if chunk.Proto != nil {
		what += " (" + chunk.Proto.SourceName + ")"
	}
	exit := StateOf(L).enterChunk(L, what)
	done := false
	defer func() { exit(done) }()
	L.Push(chunk)
	L.Push(lua.LString(name))
	L.Call(1, 1)
	done = true

	ret := L.Get(-1)
	L.Pop(1)
	switch modv := L.GetField(loaded, name); {
	case ret != lua.LNil && modv == requireLoading:
		L.SetField(loaded, name, ret)
		L.Push(ret)
	case modv == requireLoading:
		L.SetField(loaded, name, lua.LTrue)
		L.Push(lua.LTrue)
	default:
		L.Push(modv)
	}
	return 1
}

// fileLoader searches package.path (read at each call, so policies may
// rewrite it) like Lua's searcher and loads the first readable match.
func (rt *Runtime) fileLoader(L *lua.LState) int {
	name := L.CheckString(1)
	pv, ok := L.GetField(L.GetGlobal("package"), "path").(lua.LString)
	if !ok {
		L.RaiseError("package.path must be a string")
	}
	file, tried := searchPath(name, string(pv))
	if file == "" {
		L.Push(lua.LString(tried))
		return 1
	}
	proto, err := rt.protos.load(file)
	if err != nil {
		L.RaiseError("error loading module '%s' from file '%s':\n\t%v", name, file, err)
	}
	L.Push(L.NewFunctionFromProto(proto))
	return 1
}

func searchPath(name, pathList string) (string, string) {
	fname := strings.ReplaceAll(name, ".", "/")
	var tried strings.Builder
	for _, pattern := range strings.Split(pathList, ";") {
		if pattern == "" {
			continue
		}
		candidate := strings.ReplaceAll(pattern, "?", fname)
		if st, err := os.Stat(candidate); err == nil && !st.IsDir() {
			return candidate, ""
		}
		if tried.Len() > 0 {
			tried.WriteString("\n\t")
		}
		fmt.Fprintf(&tried, "no file '%s'", candidate)
	}
	return "", tried.String()
}

// embeddedLoader finds module a.b as a/b.lua or a/b/init.lua in the
// embedded file system.
func (rt *Runtime) embeddedLoader(L *lua.LState) int {
	name := L.CheckString(1)
	base := strings.ReplaceAll(name, ".", "/")
	var tried strings.Builder
	for _, candidate := range []string{base + ".lua", path.Join(base, "init.lua")} {
		if _, err := fs.Stat(rt.opts.Embedded, candidate); err != nil {
			if tried.Len() > 0 {
				tried.WriteString("\n\t")
			}
			fmt.Fprintf(&tried, "no embedded module '%s%s'", EmbeddedChunkPrefix, candidate)
			continue
		}
		proto, err := rt.protos.embedded(rt.opts.Embedded, candidate)
		if err != nil {
			L.RaiseError("error loading embedded module '%s':\n\t%v", name, err)
		}
		L.Push(L.NewFunctionFromProto(proto))
		return 1
	}
	L.Push(lua.LString(tried.String()))
	return 1
}

// moduleNotFound words a failed require as Lua 5.4 does: the module name
// quoted, then what each searcher tried, one per line. A module that only
// another KumoMTA process provides says so.
func moduleNotFound(name string, tried []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "module '%s' not found:", name)
	for _, t := range tried {
		if t = strings.TrimLeft(t, "\n\t"); t != "" {
			b.WriteString("\n\t")
			b.WriteString(t)
		}
	}
	if hint, ok := otherProcessModules[name]; ok {
		b.WriteString("\n\t")
		b.WriteString(hint)
	}
	return b.String()
}

// otherProcessModules are modules KumoMTA registers only in its other
// daemons, with what a policy author should know.
var otherProcessModules = map[string]string{
	"tsa": "(the 'tsa' module belongs to KumoMTA's TSA daemon, for tsa_init.lua; run it with `kumopolicy tsa-daemon`)",
}
