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

import (
	"embed"
	"io/fs"
	"log/slog"
	"time"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

//go:embed policy-extras/*.lua etc/policy/*.lua etc/policy/*.toml
var embedded embed.FS

// DefaultPolicyPath is where KumoMTA installs look for the policy.
const DefaultPolicyPath = "/opt/kumomta/etc/policy/init.lua"

// EmbeddedPolicyName names the embedded default policy in messages.
const EmbeddedPolicyName = luart.EmbeddedChunkPrefix + "etc/policy/init.lua"

// Config configures a policy host.
type Config struct {
	// Policy is the policy file. Empty with no PolicySource: no policy.
	Policy string
	// PolicySource, when set, is the policy text (Policy only names it).
	PolicySource []byte
	// SearchRoots are extra module roots searched before /opt/kumomta
	// (for example a KumoMTA checkout's assets/ directory).
	SearchRoots []string
	// Validating runs in `validate` mode (see luart.Options.Validating).
	Validating bool
	// Logger receives kumo.log_* output; nil means slog.Default().
	Logger *slog.Logger
	// MaxStates bounds concurrently existing Lua states (0: default).
	MaxStates int
	// SystemRoots overrides /opt/kumomta/share and /opt/kumomta/etc/policy.
	SystemRoots []string
	// Resolver lists the DNS servers (IP:PORT, [IPv6]:PORT) used for MX and
	// address lookups, in order, instead of those of /etc/resolv.conf. A
	// policy may still change them with kumo.dns.configure_resolver. A
	// malformed entry makes every lookup fail with the parse error (check
	// entries first with dns.ParseNameServers).
	Resolver []string
	// Timeout, when positive, is the time budget of each event handler
	// call, of the policy's top-level chunk and of each module it requires
	// at load time (see luart.Options.Timeout).
	Timeout time.Duration
}

// New builds a runtime with the kumo module and embedded helpers.
func New(cfg Config) *luart.Runtime {
	rt := luart.New(luart.Options{
		PolicyFile:        cfg.Policy,
		PolicySource:      cfg.PolicySource,
		SearchRoots:       cfg.SearchRoots,
		SystemRoots:       cfg.SystemRoots,
		Embedded:          EmbeddedFS(),
		Validating:        cfg.Validating,
		Logger:            cfg.Logger,
		MaxStates:         cfg.MaxStates,
		Timeout:           cfg.Timeout,
		TaskShutdownGrace: 5 * time.Second,
	})
	kumo.Install(rt)
	if len(cfg.Resolver) > 0 {
		r, err := dns.NewFromAddrs(cfg.Resolver)
		if err != nil {
			rt.Logger().Error("invalid DNS resolver configuration; every DNS lookup will fail", "error", err)
		}
		kumo.SetResolver(rt, r)
	}
	return rt
}

// EmbeddedFS holds the Lua modules compiled into the binary, by module
// path: policy-extras/policy_utils.lua is `require 'policy-extras.policy_utils'`.
func EmbeddedFS() fs.FS { return embedded }

// DefaultPolicy returns the embedded default policy's text.
func DefaultPolicy() []byte {
	b, err := embedded.ReadFile("etc/policy/init.lua")
	if err != nil {
		panic("kumopolicy: embedded default policy missing: " + err.Error())
	}
	return b
}
