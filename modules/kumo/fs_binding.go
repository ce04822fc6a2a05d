package kumo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.fs: open (io.open-like files of bytes), read_dir, glob (results
// cached for a TTL, 60 s by default) and uncached_glob; kumo.read_dir,
// kumo.glob and kumo.uncached_glob are their older top-level aliases;
// metadata_for_path and symlink_metadata_for_path (fs_metadata_binding.go).
// Paths under /opt/kumomta/share and /opt/kumomta/etc are served through
// kumopolicy.Config's ShareDir/EtcDir mapping (Services.Paths); names
// that reading a directory or a glob returns are spelled as the policy
// spells them (/opt/kumomta/etc/..., not where the file was found).
//
// Writing is plain os file I/O: policies (and KumoMTA's own tests) write
// scratch files; kumopolicy adds no sandbox beyond the process's own.

const asyncFileMetaKey = "kumopolicy.kumo.AsyncFile"

// GlobCache holds kumo.fs.glob's cached results. It is safe for concurrent
// use.
type GlobCache struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[[2]string]globEntry
}

type globEntry struct {
	paths   []string
	expires time.Time
}

// NewGlobCache returns an empty cache on clock now (nil: time.Now).
func NewGlobCache(now func() time.Time) *GlobCache {
	if now == nil {
		now = time.Now
	}
	return &GlobCache{now: now, entries: map[[2]string]globEntry{}}
}

func (c *GlobCache) get(pattern, relativeTo string, ttl time.Duration, eval func() ([]string, error)) ([]string, error) {
	key := [2]string{pattern, relativeTo}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.paths, nil
	}
	paths, err := eval()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	for k, old := range c.entries { // drop what expired, so the cache stays small
		if !now.Before(old.expires) {
			delete(c.entries, k)
		}
	}
	c.entries[key] = globEntry{paths: paths, expires: now.Add(ttl)}
	c.mu.Unlock()
	return paths, nil
}

// openFS installs kumo.fs and the top-level aliases.
func (svc *Services) openFS(s *luart.State, mod *lua.LTable) {
	L := s.L
	pm := svc.Paths
	mapPath := pm.Local
	// globbed names are reported as the policy names them
	globPolicy := func(pattern, rel string) ([]string, error) {
		found, err := fsGlob(mapPath(pattern), rel)
		for i, f := range found {
			found[i] = pm.Policy(f)
		}
		return found, err
	}
	cache := svc.Globs
	t := subTable(L, mod, "fs")
	fns := map[string]lua.LGFunction{
		"open": func(L *lua.LState) int { return fsOpen(L, mapPath) },
		"read_dir": func(L *lua.LState) int {
			dir := mapPath(L.CheckString(1))
			entries, err := os.ReadDir(dir)
			if err != nil {
				L.RaiseError("kumo.fs.read_dir %s: %s", dir, plain.IOErrorText(err))
			}
			out := L.CreateTable(len(entries), 0)
			for i, e := range entries {
				out.RawSetInt(i+1, lua.LString(pm.Policy(filepath.Join(dir, e.Name()))))
			}
			L.Push(out)
			return 1
		},
		"metadata_for_path":         func(L *lua.LState) int { return fsMetadata(L, "metadata_for_path", mapPath, os.Stat) },
		"symlink_metadata_for_path": func(L *lua.LState) int { return fsMetadata(L, "symlink_metadata_for_path", mapPath, os.Lstat) },
		"uncached_glob": func(L *lua.LState) int {
			pattern, rel := L.CheckString(1), L.OptString(2, ".")
			paths, err := globPolicy(pattern, rel)
			if err != nil {
				raise(L, err)
			}
			L.Push(luart.ToLua(L, stringsToAny(paths)))
			return 1
		},
		"glob": func(L *lua.LState) int {
			pattern, rel := L.CheckString(1), L.OptString(2, ".")
			ttl := 60 * time.Second
			if v := L.Get(3); v != lua.LNil {
				n, ok := v.(lua.LNumber)
				d, err := plain.DurationFromSeconds(float64(n))
				if !ok || err != nil {
					L.RaiseError("kumo.fs.glob: ttl_seconds must be a non-negative number of seconds, got %s", luart.Describe(v))
				}
				ttl = d
			}
			paths, err := cache.get(pattern, rel, ttl, func() ([]string, error) { return globPolicy(pattern, rel) })
			if err != nil {
				raise(L, err)
			}
			L.Push(luart.ToLua(L, stringsToAny(paths)))
			return 1
		},
	}
	for name, fn := range fns {
		f := L.NewFunction(fn)
		t.RawSetString(name, f)
		if name != "open" && name != "metadata_for_path" && name != "symlink_metadata_for_path" {
			mod.RawSetString(name, f)
		}
	}
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// fsGlob evaluates pattern (with ** for any depth); directories that do not
// exist or cannot be read are left out. A result under relativeTo loses
// that prefix.
func fsGlob(pattern, relativeTo string) ([]string, error) {
	if !doublestar.ValidatePathPattern(pattern) {
		return nil, fmt.Errorf("kumo.fs.glob: invalid glob pattern %q", pattern)
	}
	found, err := doublestar.FilepathGlob(pattern)
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("kumo.fs.glob %q: %v", pattern, err)
	}
	prefix := strings.TrimSuffix(relativeTo, "/") + "/"
	for i, p := range found {
		if relativeTo != "" && strings.HasPrefix(p, prefix) {
			found[i] = p[len(prefix):]
		}
	}
	sort.Strings(found)
	return found, nil
}

// asyncFile is a kumo.fs.open file: reads go to the file, writes are
// buffered until flush, seek or close.
type asyncFile struct {
	name   string
	f      *os.File
	w      *bufio.Writer // nil: read-only
	read   bool
	closed bool
}

func fsOpen(L *lua.LState, mapPath func(string) string) int {
	name := mapPath(L.CheckString(1))
	mode := L.OptString(2, "r")
	flags, read, write := 0, false, false
	switch strings.TrimSuffix(mode, "b") {
	case "r":
		flags, read = os.O_RDONLY, true
	case "w":
		flags, write = os.O_WRONLY|os.O_CREATE|os.O_TRUNC, true
	case "a":
		flags, write = os.O_WRONLY|os.O_CREATE|os.O_APPEND, true
	case "r+":
		flags, read, write = os.O_RDWR|os.O_CREATE, true, true
	case "w+":
		flags, read, write = os.O_RDWR|os.O_CREATE|os.O_TRUNC, true, true
	case "a+":
		flags, read, write = os.O_RDWR|os.O_CREATE|os.O_APPEND, true, true
	default:
		L.RaiseError("kumo.fs.open: invalid mode %q: expected one of r, w, a, r+, w+, a+ (optionally followed by b)", mode)
	}
	f, err := os.OpenFile(name, flags, 0o666)
	if err != nil {
		L.RaiseError("kumo.fs.open %s: %s", name, plain.IOErrorText(err))
	}
	af := &asyncFile{name: name, f: f, read: read}
	if write {
		af.w = bufio.NewWriter(f)
	}
	// Lua 5.1 has no __gc for userdata: close what the policy drops.
	runtime.SetFinalizer(af, func(af *asyncFile) { af.f.Close() })
	ud := L.NewUserData()
	ud.Value = af
	L.SetMetatable(ud, asyncFileMetatable(L))
	L.Push(ud)
	return 1
}

func asyncFileMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(asyncFileMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("AsyncFile"))
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"read": func(L *lua.LState) int {
			af := checkAsyncFile(L, "read")
			if !af.read {
				L.RaiseError("file:read: %s was not opened for reading", af.name)
			}
			af.flush(L, "read")
			var b []byte
			var err error
			if v := L.Get(2); v != lua.LNil {
				n, ok := v.(lua.LNumber)
				if !ok || n < 0 || float64(n) != float64(int64(n)) {
					L.RaiseError("file:read: OPT_SIZE must be a non-negative integer, got %s", luart.Describe(v))
				}
				b = make([]byte, int(n))
				var got int
				got, err = io.ReadFull(af.f, b)
				b = b[:got]
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = nil
				}
			} else {
				b, err = io.ReadAll(af.f)
			}
			if err != nil {
				L.RaiseError("file:read %s: %s", af.name, plain.IOErrorText(err))
			}
			L.Push(lua.LString(b))
			return 1
		},
		"write": func(L *lua.LState) int {
			af := checkAsyncFile(L, "write")
			if af.w == nil {
				L.RaiseError("file:write: %s was not opened for writing", af.name)
			}
			if _, err := af.w.WriteString(L.CheckString(2)); err != nil {
				L.RaiseError("file:write %s: %s", af.name, plain.IOErrorText(err))
			}
			return 0
		},
		"flush": func(L *lua.LState) int {
			checkAsyncFile(L, "flush").flush(L, "flush")
			return 0
		},
		"seek": func(L *lua.LState) int {
			af := checkAsyncFile(L, "seek")
			whence, offset := "cur", int64(0)
			switch v := L.Get(2).(type) {
			case *lua.LNilType:
			case lua.LNumber: // seek(N): N bytes from the current position
				offset = int64(v)
			case lua.LString:
				whence = string(v)
				if o, ok := L.Get(3).(lua.LNumber); ok {
					offset = int64(o)
				} else if L.Get(3) != lua.LNil {
					L.RaiseError("file:seek: OPT_POS must be an integer, got %s", luart.Describe(L.Get(3)))
				}
			default:
				L.RaiseError("file:seek: OPT_WHENCE must be \"set\", \"cur\" or \"end\", got %s", luart.Describe(v))
			}
			w := map[string]int{"set": io.SeekStart, "cur": io.SeekCurrent, "end": io.SeekEnd}
			wv, ok := w[whence]
			if !ok {
				L.RaiseError("file:seek: invalid whence %q: expected \"set\", \"cur\" or \"end\"", whence)
			}
			af.flush(L, "seek")
			pos, err := af.f.Seek(offset, wv)
			if err != nil {
				L.RaiseError("file:seek %s: %s", af.name, plain.IOErrorText(err))
			}
			L.Push(lua.LNumber(pos))
			return 1
		},
		"close": func(L *lua.LState) int {
			af := checkAsyncFile(L, "close")
			af.flush(L, "close")
			af.closed = true
			runtime.SetFinalizer(af, nil)
			if err := af.f.Close(); err != nil {
				L.RaiseError("file:close %s: %s", af.name, plain.IOErrorText(err))
			}
			return 0
		},
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		af := checkAsyncFile(L, "__tostring")
		L.Push(lua.LString(fmt.Sprintf("AsyncFile(%s)", af.name)))
		return 1
	}))
	L.G.Registry.RawSetString(asyncFileMetaKey, mt)
	return mt
}

func (af *asyncFile) flush(L *lua.LState, method string) {
	if af.w == nil {
		return
	}
	if err := af.w.Flush(); err != nil {
		L.RaiseError("file:%s %s: %s", method, af.name, plain.IOErrorText(err))
	}
}

func checkAsyncFile(L *lua.LState, method string) *asyncFile {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if af, ok := ud.Value.(*asyncFile); ok {
			if af.closed && method != "__tostring" {
				L.RaiseError("file:%s: %s is closed", method, af.name)
			}
			return af
		}
	}
	L.RaiseError("file:%s: expected a file as self (call it as file:%s(...))", method, method)
	return nil
}
