package kumo

import (
	"fmt"
	"sync"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/admin"
	"github.com/kumopolicy/kumopolicy/modules/kumo/counterseries"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dkim"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
	"github.com/kumopolicy/kumopolicy/modules/kumo/memoize"
	"github.com/kumopolicy/kumopolicy/modules/kumo/mpsc"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// Services are the Go services the kumo module's bindings share: one set
// per runtime, reached by every state of it. Install fills in the fields
// left zero; after Install they must not be changed.
type Services struct {
	// Resolver answers kumo.dns lookups and the shaping engine's MX
	// queries, which share its MX cache. kumo.dns.configure_resolver and
	// the kumo.dns tunables change it in place, so a change made from one
	// state holds for every state. Nil: dns.New(dns.Config{}), the name
	// servers of /etc/resolv.conf (read at the first query).
	Resolver *dns.Resolver

	// Memoize holds kumo.memoize's caches. Nil: a registry on the system
	// clock whose epoch-invalidated caches follow the runtime's epoch
	// (memoize.WithEpoch(rt.Epoch)).
	Memoize *memoize.Registry

	// Recorder records the kumod setup calls the policy makes
	// (kumo.start_esmtp_listener, kumo.define_spool, ...). Nil: a new
	// recorder, validating when the runtime is.
	Recorder *kumod.Recorder

	// Shaping is kumo.shaping.load's loader environment. Each nil field is
	// filled from shaping.DefaultEnv, DNS with ShapingDNS(Resolver). A nil
	// Fallback, when the runtime has embedded modules, serves the embedded
	// stand-ins of EmbeddedDataFiles, logging once per path that it does.
	// MapPath (kumopolicy.Config's ShareDir and EtcDir) stays as given.
	Shaping shaping.Env

	// CounterSeries holds kumo.counter_series' named series. Nil: a new
	// registry on the system clock.
	CounterSeries *counterseries.Registry

	// Mpsc holds kumo.mpsc's named queues. Nil: a new registry.
	Mpsc *mpsc.Registry

	// Globs caches kumo.fs.glob's results. Nil: a new cache on the system
	// clock.
	Globs *GlobCache

	// LogHooks is the log-hook pipeline: kumo.configure_log_hook registers
	// its hooks there (outside validate mode), and records reach it
	// through its Submit and SubmitJSON. Nil: a pipeline on the system
	// clock answering with this runtime's events (LogHookPolicy), none in
	// validate mode. Whoever runs the host closes it (Pipeline.Close).
	LogHooks *loghook.Pipeline

	// Admin is the registry of kumo.api.admin.* (ready-queue suspensions,
	// suspensions, admin bounces), shared by every state and by the admin
	// HTTP API. Nil: admin.New() on the system clock.
	Admin *admin.Registry

	// NamedResolvers holds the resolvers kumo.dns.define_resolver names,
	// for the lookups given a resolver name. Nil: an empty registry.
	NamedResolvers *dns.Registry

	// Paths moves the files policies name under /opt/kumomta/share and
	// /opt/kumomta/etc (kumopolicy.Config's ShareDir and EtcDir) for every
	// binding that reads, stats or globs them: kumo.*_load, the bounce
	// classifier's files, the config monitor globs, and the shaping loader
	// when Shaping.MapPath is nil. Nil moves nothing.
	Paths *paths.Map

	// DKIMKeys caches the keys kumo.dkim's signers load, each for its
	// signer's ttl. Nil: a new cache on the system clock.
	DKIMKeys *dkim.KeyCache
}

// complete fills in svc's zero fields for rt.
func (svc *Services) complete(rt *luart.Runtime) {
	if svc.Resolver == nil {
		svc.Resolver = dns.New(dns.Config{})
	}
	if svc.NamedResolvers == nil {
		svc.NamedResolvers = dns.NewRegistry()
	}
	if svc.Memoize == nil {
		svc.Memoize = memoize.NewRegistry(memoize.WithEpoch(rt.Epoch))
	}
	if svc.Admin == nil {
		svc.Admin = admin.New()
	}
	if svc.Recorder == nil {
		svc.Recorder = kumod.NewRecorder(rt.Validating())
	}
	if svc.CounterSeries == nil {
		svc.CounterSeries = counterseries.NewRegistry(nil)
	}
	if svc.Mpsc == nil {
		svc.Mpsc = mpsc.NewRegistry()
	}
	if svc.DKIMKeys == nil {
		svc.DKIMKeys = dkim.NewKeyCache(nil)
	}
	if svc.Globs == nil {
		svc.Globs = NewGlobCache(nil)
	}
	if svc.LogHooks == nil && !rt.Validating() {
		svc.LogHooks = loghook.New(loghook.Options{Policy: LogHookPolicy(rt), Logger: rt.Logger()})
	}
	env := &svc.Shaping
	if env.MapPath == nil && !svc.Paths.Empty() {
		env.MapPath = svc.Paths.Local
	}
	def := shaping.DefaultEnv(ShapingDNS(svc.Resolver))
	if env.DNS == nil {
		env.DNS = def.DNS
	}
	if env.ValidateParams == nil {
		env.ValidateParams = def.ValidateParams
	}
	if env.LimitSpec == nil {
		env.LimitSpec = def.LimitSpec
	}
	if env.ThrottleSpec == nil {
		env.ThrottleSpec = def.ThrottleSpec
	}
	if env.Duration == nil {
		env.Duration = def.Duration
	}
	if env.CompileRegex == nil {
		env.CompileRegex = def.CompileRegex
	}
	if env.Fallback == nil && rt.Options().Embedded != nil {
		env.Fallback = standInFallback(rt, env.MapPath)
	}
}

// standInFallback serves the embedded stand-ins of rt's embedded files. It
// logs once per path that a stand-in is in use: a policy may load its
// shaping data in every Lua state.
func standInFallback(rt *luart.Runtime, mapPath func(string) string) func(string) ([]byte, string, bool) {
	fsys := rt.Options().Embedded
	var noticed sync.Map
	return func(path string) ([]byte, string, bool) {
		b, name, ok := EmbeddedStandIn(fsys, path)
		if ok {
			if _, done := noticed.LoadOrStore(path, true); !done {
				looked := path
				if mapPath != nil && mapPath(path) != path {
					looked = fmt.Sprintf("%s (looked for at %s)", path, mapPath(path))
				}
				rt.Logger().Info(fmt.Sprintf("%s does not exist; kumo.shaping.load uses kumopolicy's embedded default data in its place, named %q in messages", looked, name))
			}
		}
		return b, name, ok
	}
}
