package kumopolicy

import (
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// CheckShapingEnv returns the environment `validate-shaping` loads shaping
// files with: MX lookups through cfg.Resolver (or /etc/resolv.conf), local
// paths moved by cfg.ShareDir and cfg.EtcDir, and no embedded stand-ins: it
// checks the operator's real files, so a missing file is an error even
// where policies get kumopolicy's embedded default data in its place (see
// StandInFor). It also returns the resolver behind the environment's MX
// lookups (to purge or inspect its caches). A malformed cfg.Resolver entry
// is an error.
func CheckShapingEnv(cfg Config) (shaping.Env, *dns.Resolver, error) {
	r, err := newResolver(cfg.Resolver)
	if err != nil {
		return shaping.Env{}, nil, err
	}
	env := shaping.DefaultEnv(kumo.ShapingDNS(r))
	env.MapPath = cfg.MapInstallPath
	return env, r, nil
}

// StandInFor returns the name of the embedded data that policies loading
// file get when file does not exist, when there is such a stand-in. file
// is a path as read: one of KumoMTA's installed data files, moved by
// cfg.ShareDir and cfg.EtcDir.
func (c Config) StandInFor(file string) (name string, ok bool) {
	for path := range kumo.EmbeddedDataFiles {
		if c.MapInstallPath(path) == file {
			return kumo.EmbeddedDataName(path), true
		}
	}
	return "", false
}
