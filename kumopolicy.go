package kumopolicy

import (
	"embed"
	"io/fs"
	"log/slog"
	"time"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
)

//go:embed policy-extras/*.lua etc/policy/*.lua etc/policy/*.toml
var embedded embed.FS

// DefaultPolicyPath is where KumoMTA installs look for the policy.
const DefaultPolicyPath = "/opt/kumomta/etc/policy/init.lua"

// KumoMTA's installation directories, as policies name them.
const (
	KumoShareDir = "/opt/kumomta/share"
	KumoEtcDir   = "/opt/kumomta/etc"
)

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
	// NoBackgroundWork starts no spawned tasks and no native background
	// work (TSA subscribers, config monitors) even when init asks for
	// them: for hosts that fire init only to answer a question, as
	// `kumopolicy resolve` does (see luart.Options.NoBackgroundWork).
	NoBackgroundWork bool
	// Logger receives kumo.log_* output; nil means slog.Default(). Unless
	// its handler is already a *diaglog.Handler, it is wrapped in one so
	// that kumo.set_diagnostic_log_filter works; LogFilter is its first
	// filter.
	Logger *slog.Logger
	// LogFilter is the initial diagnostic log filter: a level ("debug") or
	// KumoMTA directives ("kumod=debug,lua=info"). Empty lets through
	// everything the Logger's handler does. Ignored when Logger's handler
	// is already a *diaglog.Handler. A malformed filter makes New fail.
	LogFilter string
	// MaxStates bounds concurrently existing Lua states (0: default).
	MaxStates int
	// SystemRoots overrides /opt/kumomta/share and /opt/kumomta/etc/policy.
	SystemRoots []string
	// ShareDir and EtcDir say where this host finds what policies name
	// under /opt/kumomta/share and /opt/kumomta/etc (for example a KumoMTA
	// checkout's assets/, or an empty directory for hermetic tests). Empty
	// means those paths themselves. They move the require roots, the
	// default policy (EtcDir/policy/init.lua) and the shaping files that
	// kumo.shaping.load reads; a missing default shaping file still gets
	// the embedded default.
	ShareDir, EtcDir string
	// Resolver lists the DNS servers (IP:PORT, [IPv6]:PORT) used for MX and
	// address lookups, in order, instead of those of /etc/resolv.conf. A
	// policy may still change them with kumo.dns.configure_resolver. A
	// malformed entry makes New fail.
	Resolver []string
	// Timeout, when positive, is the time budget of each event handler
	// call, of the policy's top-level chunk and of each module it requires
	// at load time (see luart.Options.Timeout).
	Timeout time.Duration
}

// MapInstallPath returns where this host finds path: a path under
// /opt/kumomta/share or /opt/kumomta/etc moves to ShareDir or EtcDir when
// they are set; any other path is returned unchanged.
func (c Config) MapInstallPath(path string) string { return c.installPaths().Local(path) }

// installPaths is the move of the install paths ShareDir and EtcDir give.
func (c Config) installPaths() *paths.Map {
	return paths.New([2]string{KumoShareDir, c.ShareDir}, [2]string{KumoEtcDir, c.EtcDir})
}

// InstalledPolicy is where KumoMTA's installed policy is looked for:
// DefaultPolicyPath, moved by EtcDir.
func (c Config) InstalledPolicy() string { return c.MapInstallPath(DefaultPolicyPath) }

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
