package kumo

import (
	"fmt"
	"io/fs"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// openShaping installs kumo.shaping.load, which loads with svc.Shaping.
func (svc *Services) openShaping(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "shaping")
	env := &svc.Shaping
	t.RawSetString("load", L.NewFunction(func(L *lua.LState) int { return shapingLoad(L, env) }))
	t.RawSetString("_display_names", L.NewFunction(func(L *lua.LState) int { return shapingDisplayNames(L, env) }))
	// The paths that have an embedded stand-in, and its name.
	if s.Runtime().Options().Embedded != nil {
		names := L.NewTable()
		for path := range EmbeddedDataFiles {
			names.RawSetString(path, lua.LString(EmbeddedDataName(path)))
		}
		t.RawSetString("_embedded_defaults", names)
	}
}

// shapingDisplayNames implements kumo.shaping._display_names(paths), a
// kumopolicy extension for its own helpers: the names kumo.shaping.load
// would give paths in its messages and origins. A URL keeps its name; a
// local path is named after the file actually read (moved by --share-dir
// and --etc-dir), or after the embedded stand-in when that file does not
// exist and the runtime has one for it.
func shapingDisplayNames(L *lua.LState, env *shaping.Env) int {
	paths := L.CheckTable(1)
	n := paths.Len()
	out := L.CreateTable(n, 0)
	for i := 1; i <= n; i++ {
		v := paths.RawGetInt(i)
		path, ok := v.(lua.LString)
		if !ok {
			L.ArgError(1, fmt.Sprintf("paths[%d]: invalid type: %s, expected a string", i, luart.Describe(v)))
		}
		out.RawSetInt(i, lua.LString(env.SourceName(string(path))))
	}
	L.Push(out)
	return 1
}

// EmbeddedDataFiles maps KumoMTA's installed data files to the embedded
// files kumopolicy serves in their place to policies when they do not
// exist on disk. The embedded files are kumopolicy's own; they hold the
// same effective values as KumoMTA's bundled files, but they are not those
// files, and messages name them with EmbeddedDataName.
var EmbeddedDataFiles = map[string]string{
	"/opt/kumomta/share/policy-extras/shaping.toml": "etc/policy/shaping.toml",
}

// EmbeddedDataName is the name origins and messages (resolve --explain,
// shaping load warnings and errors) give the embedded file standing in
// for path.
func EmbeddedDataName(path string) string {
	return fmt.Sprintf("[embedded default]/%s (standing in for %s)", EmbeddedDataFiles[path], path)
}

// EmbeddedStandIn returns the embedded stand-in for path from fsys, and
// its name, when path is one of EmbeddedDataFiles.
func EmbeddedStandIn(fsys fs.FS, path string) ([]byte, string, bool) {
	file, ok := EmbeddedDataFiles[path]
	if !ok {
		return nil, "", false
	}
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, "", false
	}
	return b, EmbeddedDataName(path), true
}

// ShapingObject is the Go value behind a Shaping userdata: an immutable
// loaded Shaping plus the DNS used for provider matching at query time. It
// is shared by every Lua state that holds it (kumo.memoize caches it
// without copying).
type ShapingObject struct {
	Shaping *shaping.Shaping
	DNS     shaping.MXLookup
}

// MemoizeValue lets kumo.memoize cache the object by reference.
func (o *ShapingObject) MemoizeValue() MemoizedUserData { return o }

// NewLuaUserData wraps the shared object for state L.
func (o *ShapingObject) NewLuaUserData(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = o
	L.SetMetatable(ud, shapingMetatable(L))
	return ud
}

// ShapingFromLua returns the object behind a Shaping userdata.
func ShapingFromLua(v lua.LValue) (*ShapingObject, bool) {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return nil, false
	}
	o, ok := ud.Value.(*ShapingObject)
	return o, ok
}

const shapingMetaKey = "kumopolicy.kumo.Shaping"

func shapingMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(shapingMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"get_egress_path_config": shapingGetEgressPathConfig,
		"get_egress_path":        shapingGetEgressPath,
		"match_rules":            shapingMatchRules,
		"get_errors":             shapingStrings(func(s *shaping.Shaping) []string { return s.Errors() }),
		"get_warnings":           shapingStrings(func(s *shaping.Shaping) []string { return s.Warnings() }),
		"get_referenced_sources": shapingReferencedSources,
		"hash":                   shapingHash,
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__name", lua.LString("Shaping"))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		o := checkShaping(L)
		L.Push(lua.LString(fmt.Sprintf("Shaping(%s)", o.Shaping.Hash()[:12])))
		return 1
	}))
	L.G.Registry.RawSetString(shapingMetaKey, mt)
	return mt
}

func checkShaping(L *lua.LState) *ShapingObject {
	o, ok := ShapingFromLua(L.Get(1))
	if !ok {
		L.ArgError(1, "Shaping object expected (call it as shaping:method(...))")
	}
	return o
}

// shapingLoad implements kumo.shaping.load(paths, options).
func shapingLoad(L *lua.LState, env *shaping.Env) int {
	pathsV := L.CheckTable(1)
	var paths []string
	n := pathsV.Len()
	for i := 1; i <= n; i++ {
		switch v := pathsV.RawGetInt(i).(type) {
		case lua.LString:
			paths = append(paths, string(v))
		case lua.LNumber:
			paths = append(paths, formatNumber(float64(v)))
		default:
			L.ArgError(1, fmt.Sprintf("paths[%d]: invalid type: %s, expected a string", i, luart.Describe(v)))
		}
	}
	g, err := luart.ToGo(L.Get(2))
	if err != nil {
		raise(L, fmt.Errorf("kumo.shaping.load: %w", err))
	}
	opts, err := shaping.DecodeOptions(g)
	if err != nil {
		raise(L, fmt.Errorf("kumo.shaping.load: %w", err))
	}
	s := luart.StateOf(L)
	loaded, err := shaping.Load(s.Context(), paths, opts, *env)
	if err != nil {
		raise(L, err)
	}
	obj := &ShapingObject{Shaping: loaded, DNS: env.DNS}
	L.Push(obj.NewLuaUserData(L))
	return 1
}

// shapingGetEgressPathConfig returns a fresh table of the merged
// parameters, exactly as written in the files.
func shapingGetEgressPathConfig(L *lua.LState) int {
	L.Push(luart.ToLua(L, shapingResolve(L)))
	return 1
}

// shapingGetEgressPath is kumopolicy's Shaping:get_egress_path(domain,
// source, site): what the shaping helper's handler returns, built without
// a Lua table in between — the merged parameters with refresh_strategy
// defaulting to "Epoch", as an EgressPathConfig (the result of
// kumo.make_egress_path, with the same error text if the data does not
// decode).
func shapingGetEgressPath(L *lua.LState) int {
	params := shapingResolve(L)
	if _, ok := params.Get("refresh_strategy"); !ok {
		params.Set("refresh_strategy", "Epoch")
	}
	cfg, err := egress.DecodeEgressPathConfig(params)
	if err != nil {
		raise(L, deserializeError(err, params.Plain(false)))
	}
	L.Push(NewEgressPathUserData(L, cfg))
	return 1
}

// shapingResolve runs Shaping:get_egress_path_config's query (arguments 2
// to 4) and returns the merged parameters, recording them for an
// explanation when one is being made (see Explain).
func shapingResolve(L *lua.LState) *plain.Map {
	o := checkShaping(L)
	q := shaping.Query{Domain: L.CheckString(2), Source: L.CheckString(3), Site: L.CheckString(4)}
	st := luart.StateOf(L)
	var trace *[]shaping.Layer
	rec, _ := st.Local(explainKey{}).(*Explanation)
	if rec != nil {
		trace = &rec.Layers
	}
	params := o.Shaping.Resolve(st.Context(), q, o.DNS, trace)
	if rec != nil {
		rec.Query = q
		rec.Shaping = o.Shaping
		rec.Resolved = params.Clone()
	}
	return params
}

// Explanation records what Shaping:get_egress_path_config computed during
// one dispatch: the query, every layer that contributed, and the merged
// parameters before the policy's Lua code saw them.
type Explanation struct {
	Query    shaping.Query
	Shaping  *shaping.Shaping
	Layers   []shaping.Layer
	Resolved *plain.Map
}

type explainKey struct{}

// Explain makes Shaping:get_egress_path_config calls in s record into e
// until the returned function is called.
func Explain(s *luart.State, e *Explanation) (stop func()) {
	s.SetLocal(explainKey{}, e)
	return func() { s.SetLocal(explainKey{}, nil) }
}

func shapingStrings(get func(*shaping.Shaping) []string) lua.LGFunction {
	return func(L *lua.LState) int {
		o := checkShaping(L)
		L.Push(luart.ToLua(L, get(o.Shaping)))
		return 1
	}
}

func shapingReferencedSources(L *lua.LState) int {
	o := checkShaping(L)
	refs := o.Shaping.ReferencedSources()
	out := L.CreateTable(0, len(refs))
	for _, name := range o.Shaping.ReferencedSourceNames() {
		out.RawSetString(name, luart.ToLua(L, refs[name]))
	}
	L.Push(out)
	return 1
}

func shapingHash(L *lua.LState) int {
	o := checkShaping(L)
	L.Push(lua.LString(o.Shaping.Hash()))
	return 1
}

// shapingMatchRules converts the log record table strictly and returns the
// matching rules as tables.
func shapingMatchRules(L *lua.LState) int {
	o := checkShaping(L)
	g, err := luart.ToGo(L.CheckTable(2))
	if err != nil {
		raise(L, fmt.Errorf("match_rules: %w", err))
	}
	rec, err := logrecord.Decode(g)
	if err != nil {
		raise(L, fmt.Errorf("match_rules: %w", err))
	}
	view := shaping.RecordView{
		EgressSource: rec.EgressSource,
		Site:         rec.Site,
		Code:         int(rec.Response.Code),
		Content:      rec.Response.Content,
	}
	if len(rec.Recipients) > 0 {
		view.Recipient = rec.Recipients[0]
	}
	if e := rec.Response.Enhanced; e != nil {
		view.Enhanced = &shaping.EnhancedCode{Class: int(e.Class), Subject: int(e.Subject), Detail: int(e.Detail)}
	}
	matched, err := o.Shaping.MatchRules(luart.StateOf(L).Context(), view, o.DNS)
	if err != nil {
		raise(L, err)
	}
	out := L.CreateTable(len(matched), 0)
	for i, m := range matched {
		out.RawSetInt(i+1, luart.ToLua(L, m.Rule.Serialize()))
	}
	L.Push(out)
	return 1
}

// decodeLuaDuration reads a duration given as seconds or a humantime string.
func decodeLuaDuration(v lua.LValue) (time.Duration, error) {
	g, err := luart.ToGo(v)
	if err != nil {
		return 0, err
	}
	return plain.DecodeDuration(g)
}
