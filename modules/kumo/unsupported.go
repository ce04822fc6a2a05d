package kumo

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// notYetSupported lists KumoMTA functions that policies call but
// kumopolicy does not provide yet. Each is installed as a function that
// raises a clear error naming it, rather than leaving the field nil (which
// would fail with gopher-lua's "attempt to call a non-function object").
// Entries are removed from this list as the functions are implemented.
var notYetSupported = []string{
	"make_egress_path",
	"make_queue_config",
	"make_egress_source",
	"make_egress_pool",
	"make_listener_domain",
	"start_esmtp_listener",
	"start_http_listener",
	"define_spool",
	"configure_local_logs",
	"configure_accounting_db_path",
	"configure_redis_throttles",
	"configure_log_hook",
	"set_config_monitor_globs",
	"eval_config_monitor_globs",
	"invoke_get_egress_path_config",
	"invoke_get_queue_config",
	"dns.lookup_mx",
	"dns.lookup_addr",
	"dns.configure_resolver",
	"shaping.load",
	"http.build_client",
	"http.connect_websocket",
	"api.admin.suspend_ready_q.suspend",
	"api.admin.suspend.suspend",
	"api.admin.bounce.bounce",
}

// installNotYetSupported fills the unsupported names that no opener set.
func installNotYetSupported(s *luart.State, mod *lua.LTable) {
	L := s.L
	for _, name := range notYetSupported {
		parts := strings.Split(name, ".")
		t := mod
		for _, p := range parts[:len(parts)-1] {
			t = subTable(L, t, p)
		}
		leaf := parts[len(parts)-1]
		if t.RawGetString(leaf) != lua.LNil {
			continue
		}
		full := "kumo." + name
		t.RawSetString(leaf, L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("%s is not supported by kumopolicy yet", full)
			return 0
		}))
	}
}
