// Package kumopolicy embeds KumoMTA-compatible Lua policies in Go programs.
//
// New builds a luart.Runtime with the `kumo` module installed and
// kumopolicy's own policy-extras helpers available to `require` when no copy
// is found on package.path:
//
//	rt := kumopolicy.New(kumopolicy.Config{Policy: "/opt/kumomta/etc/policy/init.lua"})
//	defer rt.Close()
//	results, handled, err := rt.Fire(ctx, "get_egress_path_config", "example.com", "unspecified", "example.com")
//
// The `kumopolicy` command (cmd/kumopolicy) is built on the same function.
package kumopolicy
