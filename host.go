package kumopolicy

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/diaglog"
	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// Host is a policy host: a Lua runtime with the `kumo` module installed and
// the services its bindings share (DNS resolver, memoize registry, kumod
// recorder, shaping environment).
//
// The *luart.Runtime is embedded, so its methods are the Host's: Fire,
// Call, Close, Epoch, BumpEpoch, SubscribeEpoch, ... (host.Runtime is the
// runtime itself, for code that takes one). Resolve, Explain, RunMain and
// Validate do what the kumopolicy commands do, without Lua types.
type Host struct {
	*luart.Runtime
	services *kumo.Services
	policy   string
}

// Errors a Host returns from policy code. A handler's Lua error is a
// *LuaError (errors.As it; kumo.RejectError is reachable through it for
// kumo.reject); a handler, chunk or module that ran out of its time budget
// or was stopped by its context is a *TimeoutError.
type (
	LuaError     = luart.LuaError
	TimeoutError = luart.TimeoutError
)

// New builds a Host: a runtime with the kumo module and the embedded
// helpers. No Lua state is built (and the policy does not run) until the
// first dispatch. A malformed cfg.LogFilter or cfg.Resolver entry is an
// error.
func New(cfg Config) (*Host, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if _, ok := logger.Handler().(*diaglog.Handler); !ok {
		var filter *diaglog.Filter
		if cfg.LogFilter != "" {
			f, err := diaglog.Parse(cfg.LogFilter)
			if err != nil {
				return nil, fmt.Errorf("kumopolicy: invalid diagnostic log filter %q: %w", cfg.LogFilter, err)
			}
			filter = f
		}
		logger = slog.New(diaglog.NewHandler(logger.Handler(), filter))
	}
	resolver, err := newResolver(cfg.Resolver)
	if err != nil {
		return nil, err
	}
	svc := kumo.Services{Resolver: resolver, Paths: cfg.installPaths()}
	systemRoots := cfg.SystemRoots
	if systemRoots == nil && (cfg.ShareDir != "" || cfg.EtcDir != "") {
		systemRoots = []string{cfg.MapInstallPath(KumoShareDir), cfg.MapInstallPath(KumoEtcDir + "/policy")}
	}
	rt := luart.New(luart.Options{
		PolicyFile:        cfg.Policy,
		PolicySource:      cfg.PolicySource,
		SearchRoots:       cfg.SearchRoots,
		SystemRoots:       systemRoots,
		Embedded:          EmbeddedFS(),
		Validating:        cfg.Validating,
		NoBackgroundWork:  cfg.NoBackgroundWork,
		Logger:            logger,
		MaxStates:         cfg.MaxStates,
		Timeout:           cfg.Timeout,
		TaskShutdownGrace: 5 * time.Second,
	})
	return &Host{Runtime: rt, services: kumo.Install(rt, svc), policy: cfg.Policy}, nil
}

// newResolver returns a resolver querying addrs (IP:PORT), in order, or
// the name servers of /etc/resolv.conf when there are none.
func newResolver(addrs []string) (*dns.Resolver, error) {
	servers, err := dns.ParseNameServers(addrs)
	if err != nil {
		return nil, fmt.Errorf("kumopolicy: invalid DNS resolver configuration: %w", err)
	}
	if len(servers) == 0 {
		return dns.New(dns.Config{}), nil
	}
	return dns.New(dns.Config{NameServers: servers}), nil
}

// Services returns the services the host's kumo bindings share. Their
// fields must not be changed; the objects they point to may be used (for
// example Services().Resolver for lookups through the policy's resolver
// and its cache, Services().Recorder for what the policy configured).
func (h *Host) Services() *kumo.Services { return h.services }

// Version is kumopolicy's version (kumo.version).
func Version() string { return kumo.Version }
