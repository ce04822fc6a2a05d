// Package kumopolicy embeds KumoMTA-compatible Lua policies in Go programs.
//
// New builds a Host: a luart.Runtime (embedded, so Fire, Call, Close and
// the epoch methods are the Host's) with the `kumo` module installed, the
// services its bindings share, and kumopolicy's own policy-extras helpers
// available to `require` when no copy is found on package.path:
//
//	host, err := kumopolicy.New(kumopolicy.Config{Policy: "/opt/kumomta/etc/policy/init.lua"})
//	if err != nil {
//		return err
//	}
//	defer host.Close()
//	res, err := host.Resolve(ctx, "example.com", "unspecified", "")
//	results, handled, err := host.Fire(ctx, "get_egress_path_config", "example.com", "unspecified", "example.com")
//
// The `kumopolicy` command (cmd/kumopolicy) is wiring over the Host's
// methods: Resolve and Explain, RunMain, Validate.
package kumopolicy
