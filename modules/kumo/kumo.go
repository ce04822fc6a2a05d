package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// Version is reported as kumo.version and by `kumopolicy version`.
var Version = "0.1.0-dev"

// opener adds one group of functions to the kumo module table of a state.
// Openers that need the runtime's services are methods of *Services.
type opener func(s *luart.State, mod *lua.LTable)

// openers returns the openers that build the kumo module, in order.
func (svc *Services) openers() []opener {
	return []opener{
		openCore,
		svc.openSerde,
		openRegex,
		svc.openMemoize,
		openEgress,
		svc.openDNS,
		svc.openKumod,
		svc.openLogHook, // after openKumod: replaces its recording-only configure_log_hook
		svc.openShaping,
		openDomainMap,
		svc.openUtilities,
		svc.openCounterSeries,
		openCidr,
		openRegexSetMap,
		openFileType,
		svc.openMpsc,
		svc.openSecrets,
		svc.openFS,
		openHTTP,
		svc.openAdmin,
		openUUID,
		svc.openMessage,
		svc.openAutomation,
		installNotYetSupported, // last: fills only what nothing else provided
	}
}

// MultipleEvents are KumoMTA's events that accept several handlers,
// called in registration order until one returns a value; every other
// event (names policies invent included) takes one handler.
var MultipleEvents = []string{
	"pre_init",
	"validate_config",
	"get_queue_config",
	"should_enqueue_log_record",
	"throttle_insert_ready_queue",
	"requeue_message",
	"get_acl_definition",
}

// Install registers the `kumo` module with the runtime: every state gets
// package.loaded.kumo (there is no global `kumo`, as in KumoMTA), and
// declares KumoMTA's Multiple events. The bindings of every state share
// the services svc, whose zero fields Install fills in (see Services); it
// returns them.
func Install(rt *luart.Runtime, svc Services) *Services {
	s := &svc
	s.complete(rt)
	openers := s.openers()
	rt.DeclareMultipleEvents(MultipleEvents...)
	rt.AddModule("kumo", func(st *luart.State) lua.LValue {
		mod := st.L.NewTable()
		for _, open := range openers {
			open(st, mod)
		}
		return mod
	})
	return s
}

// subTable returns mod[name], creating it as an empty table if needed.
func subTable(L *lua.LState, mod *lua.LTable, name string) *lua.LTable {
	if t, ok := mod.RawGetString(name).(*lua.LTable); ok {
		return t
	}
	t := L.NewTable()
	mod.RawSetString(name, t)
	return t
}

// raise raises err as a Lua error from inside a Go function.
func raise(L *lua.LState, err error) {
	L.RaiseError("%s", err.Error())
}
