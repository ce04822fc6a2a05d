package kumo

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// notYetSupported lists the KumoMTA `kumo.*` functions (from its reference
// documentation) that kumopolicy does not provide. Each is installed as a
// function that raises a clear error naming it, rather than leaving the
// field nil (which would fail with gopher-lua's "attempt to call a
// non-function object"). A name an opener sets is skipped; a test keeps
// the list to the functions nothing provides, so it doubles as the list of
// what is missing.
var notYetSupported = []string{
	"aaa.auth_info",
	"aaa.load_acl_map",
	"aaa.make_access_control_list",
	"aaa.make_http_url_resource",
	"aaa.query_resource_access",
	"amqp.basic_publish",
	"amqp.build_client",
	"api.inject.inject_v1",
	"apply_supplemental_trace_header",
	"compute_egress_path_config_constraints",
	"compute_queue_config_constraints",
	"crypto.aws_sign_v4",
	"disconnect",
	"dns.resolver_options",
	"format_egress_path_config_constraints",
	"format_egress_path_config_toml",
	"format_queue_config_toml",
	"generate_rfc3464_message",
	"inject_message",
	"invoke_get_egress_path_config",
	"invoke_get_egress_pool",
	"invoke_get_egress_source",
	"invoke_get_queue_config",
	"jsonl.new_multi_tailer",
	"jsonl.new_tailer",
	"jsonl.new_writer",
	"kafka.build_producer",
	"make_throttle",
	"mimepart.builder",
	"mimepart.new_binary",
	"mimepart.new_html",
	"mimepart.new_multipart",
	"mimepart.new_text",
	"mimepart.new_text_plain",
	"mimepart.parse",
	"nats.close",
	"nats.connect",
	"nats.publish",
	"spf.check_host",
	"spf.check_msg",
	"xfer.cancel_xfer",
	"xfer.get_xfer_target",
	"xfer.xfer",
	"xfer.xfer_in_requeue",
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
